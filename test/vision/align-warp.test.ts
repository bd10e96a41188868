/** warpAffineRgb (and alignMirrored, which uses it) against the implementation it replaced: bit for bit. */
import t from 'tap';
import { similarityTransform, warpAffineRgb, type Affine } from '../../src/vision/align';
import type { Point, RgbImage } from '../../src/vision/types';
import { needsSharedData } from '../helpers/data';
import { differences, realPhotos, syntheticImage, warpAffineRgbBefore } from '../helpers/vision-before';

const TEMPLATE: Point[] = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/** Face-like five points at several scales and rolls around (cx, cy), plus warps that run off every edge. */
function transforms(img: RgbImage): Affine[] {
  const { width: w, height: h } = img;
  const out: Affine[] = [];
  for (const [cx, cy] of [[w / 2, h / 2], [w * 0.2, h * 0.3], [w * 0.9, h * 0.85], [2, 3]]) {
    for (const s of [0.35, 1, 2.7]) {
      for (const roll of [-0.4, 0, 0.15]) {
        const c = Math.cos(roll) * s * (w / 250), n = Math.sin(roll) * s * (w / 250);
        const pts = TEMPLATE.map(([x, y]): Point => [cx + c * (x - 56) - n * (y - 70), cy + n * (x - 56) + c * (y - 70)]);
        out.push(similarityTransform(pts, TEMPLATE));
      }
    }
  }
  out.push([1, 0, 0, 0, 1, 0], [1, 0, 0.5, 0, 1, -0.25], [-1, 0, w - 1, 0, 1, 0]);
  return out;
}

function checkSame(t: Tap.Test, img: RgbImage, label: string): void {
  let total = 0;
  for (const m of transforms(img)) {
    for (const [dw, dh] of [[112, 112], [37, 50]]) {
      const d = differences(warpAffineRgbBefore(img, m, dw, dh).data, warpAffineRgb(img, m, dw, dh).data);
      total += d.count;
      if (d.count) t.fail(`${label} ${JSON.stringify(m)} -> ${dw}x${dh}: ${d.count} values differ (max ${d.max})`);
    }
  }
  t.equal(total, 0, `${label}: ${transforms(img).length * 2} warps identical to the old implementation`);
}

t.test('warpAffineRgb = the old implementation on synthetic images (always runs)', async (t) => {
  checkSame(t, syntheticImage(120, 100, 11), 'synthetic 120x100');
  checkSame(t, syntheticImage(7, 5, 2), 'synthetic 7x5');
});

t.test('warpAffineRgb = the old implementation on real photos', needsSharedData('lfw-dev', 'images'), async (t) => {
  for (const { name, img } of await realPhotos(12)) checkSame(t, img, name);
});
