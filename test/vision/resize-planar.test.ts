/** resizeToPlanar against the implementation it replaced: bit for bit, both colour orders, with and without padding. */
import t from 'tap';
import { resizeToPlanar, type PlanarSpec, type Rect } from '../../src/vision/resize';
import type { RgbImage } from '../../src/vision/types';
import { needsSharedData } from '../helpers/data';
import { differences, realPhotos, resizeToPlanarBefore, syntheticImage } from '../helpers/vision-before';

const ULTRAFACE: PlanarSpec = { channels: 'RGB', mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128] };
const YUNET: PlanarSpec = { channels: 'BGR', mean: [0, 0, 0], scale: [1, 1, 1] };
const ODD: PlanarSpec = { channels: 'BGR', mean: [1, 2, 3], scale: [0.5, 0.25, 2] };

/** [rect, dstW, dstH, outW, outH]: the detectors' sizes (UltraFace 320x240, YuNet 640 wide padded to a multiple of 32), crops, up and down. */
function cases(img: RgbImage): [Rect, number, number, number, number][] {
  const { width: w, height: h } = img;
  const whole = { x: 0, y: 0, w, h };
  const yw = 64, yh = Math.round((h * yw) / w);
  return [
    [whole, 320, 240, 320, 240],
    [whole, yw, yh, yw, Math.ceil(yh / 32) * 32 + 32],
    [whole, 11, 7, 16, 9],
    [{ x: Math.floor(w / 3), y: Math.floor(h / 4), w: Math.floor(w / 2), h: Math.floor(h / 2) }, 97, 61, 97, 61],
    [{ x: w - 5, y: h - 3, w: 5, h: 3 }, 40, 30, 41, 30],
  ];
}

function checkSame(t: Tap.Test, img: RgbImage, label: string): void {
  for (const [rect, dw, dh, ow, oh] of cases(img)) {
    for (const spec of [ULTRAFACE, YUNET, ODD]) {
      const before = new Float32Array(3 * ow * oh).fill(NaN);
      const now = new Float32Array(3 * ow * oh).fill(NaN);
      resizeToPlanarBefore(img, rect, dw, dh, before, spec, ow, oh);
      resizeToPlanar(img, rect, dw, dh, now, spec, ow, oh);
      const d = differences(before, now);
      t.equal(d.count, 0, `${label} ${JSON.stringify(rect)} -> ${dw}x${dh} in ${ow}x${oh} ${spec.channels}: identical (${d.count} differ, max ${d.max})`);
    }
  }
}

t.test('resizeToPlanar = the old implementation on synthetic images (always runs)', async (t) => {
  checkSame(t, syntheticImage(160, 90, 5), 'synthetic 160x90');
  checkSame(t, syntheticImage(13, 29, 6), 'synthetic 13x29');
});

t.test('resizeToPlanar = the old implementation on real photos', needsSharedData('lfw-dev', 'images'), async (t) => {
  for (const { name, img } of await realPhotos(12)) checkSame(t, img, name);
});
