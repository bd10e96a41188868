import t from 'tap';
import { contextCrop } from '../../src/vision/context-crop';

const img = (w: number, h: number) => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(y * w + x) * 3] = x % 256;
  return { width: w, height: h, data };
};

t.test('the face with a margin, at the frame resolution, clamped to the frame, scaled down only', async (t) => {
  const frame = img(1280, 720);
  const c = contextCrop(frame, [600, 300, 700, 400], { marginFraction: 0.5, maxSidePx: 400 });
  t.same([c.width, c.height], [200, 200], '100 px face + 50 px each side, not scaled up');
  t.equal(c.data[0], 550 % 256, 'starts at the margin');
  const big = contextCrop(frame, [400, 100, 800, 500], { marginFraction: 0.5, maxSidePx: 300 });
  t.ok(big.width <= 300 && big.height <= 300, `scaled down to ${big.width}x${big.height}`);
  const edge = contextCrop(frame, [0, 0, 100, 100], { marginFraction: 0.5, maxSidePx: 400 });
  t.same([edge.width, edge.height], [150, 150], 'clamped at the frame edge');
});
