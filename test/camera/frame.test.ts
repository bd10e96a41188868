import t from 'tap';
import { encodeMessage, MessageReader, rgbStride, toPackedRgb, type CameraMessage } from '../../src/camera/frame';

t.test('RGB without row padding is passed through without a copy', async (t) => {
  const buf = new Uint8Array(4 * 2 * 3).map((_, i) => i);
  t.equal(toPackedRgb(buf, 4, 2, 'RGB'), buf);
});

t.test('RGB rows padded to 4 bytes are de-padded', async (t) => {
  const w = 3, h = 2, stride = rgbStride(w); // 9 -> 12
  t.equal(stride, 12);
  const buf = new Uint8Array(stride * h).fill(99);
  for (let y = 0; y < h; y++) for (let i = 0; i < w * 3; i++) buf[y * stride + i] = y * 10 + i;
  t.same([...toPackedRgb(buf, w, h, 'RGB')], [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
});

t.test('RGBA/RGBx/BGRx are repacked to RGB (aligned and unaligned input)', async (t) => {
  const px = [[1, 2, 3, 255], [4, 5, 6, 255]];
  const rgba = new Uint8Array(px.flat());
  t.same([...toPackedRgb(rgba, 2, 1, 'RGBA')], [1, 2, 3, 4, 5, 6]);
  t.same([...toPackedRgb(rgba, 2, 1, 'RGBx')], [1, 2, 3, 4, 5, 6]);
  t.same([...toPackedRgb(rgba, 2, 1, 'BGRx')], [3, 2, 1, 6, 5, 4]);
  const unaligned = new Uint8Array(9).subarray(1);
  unaligned.set(rgba);
  t.same([...toPackedRgb(unaligned, 2, 1, 'BGRx')], [3, 2, 1, 6, 5, 4]);
});

t.test('short buffers and unknown formats say what is wrong', async (t) => {
  t.throws(() => toPackedRgb(new Uint8Array(10), 4, 4, 'RGB'), { message: 'RGB frame 4x4: 10 bytes, expected 48' });
  t.throws(() => toPackedRgb(new Uint8Array(10), 4, 4, 'RGBA'), { message: 'RGBA frame 4x4: 10 bytes, expected 64' });
  t.throws(() => toPackedRgb(new Uint8Array(10), 4, 4, 'I420'), { message: /appsink format I420 is not supported \(use RGB, RGBA, RGBx or BGRx/ });
});

t.test('the camera pipe format survives arbitrary chunking', async (t) => {
  const msgs: [CameraMessage, Uint8Array?][] = [
    [{ t: 'stats', pulled: 3, dropped: 1, lastPullAt: 5 }],
    [{ t: 'frame', seq: 1, dropped: 0, capturedAt: 1.5, fps: 30, width: 2, height: 1, bytes: 6 }, new Uint8Array([1, 2, 3, 4, 5, 6])],
    [{ t: 'error', message: 'boom', element: 'filesrc0' }],
    [{ t: 'frame', seq: 2, dropped: 1, capturedAt: 2.5, fps: 0, width: 1, height: 1, bytes: 3 }, new Uint8Array([7, 8, 9])],
    [{ t: 'eos' }],
  ];
  const all = Buffer.concat(msgs.flatMap(([m, p]) => encodeMessage(m, p)));
  for (const size of [1, 3, 7, all.length]) {
    const reader = new MessageReader();
    const got: [CameraMessage, number[]?][] = [];
    for (let i = 0; i < all.length; i += size) {
      reader.push(all.subarray(i, i + size), (m, p) => got.push(p ? [m, [...p]] : [m]));
    }
    t.same(got, msgs.map(([m, p]) => (p ? [m, [...p]] : [m])), `chunks of ${size}`);
  }
  t.throws(() => new MessageReader().push(Buffer.from([255, 255, 255, 255]), () => {}), { message: /out of step/ });
});
