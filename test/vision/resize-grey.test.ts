/** resizeRectGrey (the landmark input) against the callback form it replaced: bit for bit. */
import t from 'tap';
import { landmarkInput } from '../../src/vision/landmarks';
import { resizeRectGrey } from '../../src/vision/resize-grey';
import type { Rect } from '../../src/vision/resize';
import type { RgbImage } from '../../src/vision/types';
import { needsSharedData } from '../helpers/data';
import { differences, landmarkInputBefore, realPhotos, syntheticImage } from '../helpers/vision-before';

/** Crops that upscale, downscale, touch the edges and are not square. */
function crops(img: RgbImage): Rect[] {
  const { width: w, height: h } = img;
  return [
    { x: 0, y: 0, w, h },
    { x: Math.floor(w / 4), y: Math.floor(h / 5), w: Math.floor(w / 2), h: Math.floor(w / 2) },
    { x: w - 17, y: h - 17, w: 17, h: 17 },
    { x: 3, y: 1, w: Math.min(w - 3, 101), h: Math.min(h - 1, 63) },
  ];
}

function checkSame(t: Tap.Test, img: RgbImage, label: string): void {
  for (const crop of crops(img)) {
    for (const [size, mean, scale] of [[64, 0, 1 / 256], [37, 127.5, 1 / 128]]) {
      const before = landmarkInputBefore(img, crop, size, mean, scale);
      const now = landmarkInput(img, crop, size, mean, scale);
      const d = differences(before, now);
      t.equal(d.count, 0, `${label} crop ${JSON.stringify(crop)} -> ${size}: identical (${d.count} differ, max ${d.max})`);
    }
  }
}

t.test('landmarkInput = the callback form on a synthetic image (always runs)', async (t) => {
  checkSame(t, syntheticImage(90, 70, 7), 'synthetic 90x70');
  checkSame(t, syntheticImage(23, 19, 3), 'synthetic 23x19');
});

t.test('landmarkInput = the callback form on real photos', needsSharedData('lfw-dev', 'images'), async (t) => {
  for (const { name, img } of await realPhotos(12)) checkSame(t, img, name);
});

t.test('resizeRectGrey refuses a short output', async (t) => {
  t.throws(() => resizeRectGrey(syntheticImage(8, 8), { x: 0, y: 0, w: 8, h: 8 }, 4, 4, new Float32Array(15), 0, 1), /output has 15 values, needs 16/);
});
