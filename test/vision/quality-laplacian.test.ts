/** laplacianVariance against the implementation it replaced: the same number, exactly. */
import t from 'tap';
import { alignFace } from '../../src/vision/align';
import { laplacianVariance } from '../../src/vision/quality';
import type { Point, RgbImage } from '../../src/vision/types';
import { needsSharedData } from '../helpers/data';
import { laplacianVarianceBefore, realPhotos, syntheticImage } from '../helpers/vision-before';

const TEMPLATE = { width: 112, height: 112, points: [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]] as Point[] };

function checkSame(t: Tap.Test, img: RgbImage, label: string): void {
  t.equal(laplacianVariance(img), laplacianVarianceBefore(img), `${label} ${img.width}x${img.height}`);
}

t.test('laplacianVariance = the old implementation on synthetic images (always runs)', async (t) => {
  for (const [w, h, seed] of [[112, 112, 1], [31, 17, 2], [3, 3, 3], [2, 9, 4], [1, 1, 5]]) checkSame(t, syntheticImage(w, h, seed), 'synthetic');
});

t.test('laplacianVariance = the old implementation on aligned crops and whole real photos', needsSharedData('lfw-dev', 'images'), async (t) => {
  for (const { name, img } of await realPhotos(12)) {
    const c = img.width / 2, s = img.width / 250;
    const five: Point[] = TEMPLATE.points.map(([x, y]) => [c + (x - 56) * s * 1.2, c + (y - 70) * s * 1.2]);
    checkSame(t, alignFace(img, five, TEMPLATE).aligned, `${name} aligned`);
    checkSame(t, img, name);
  }
});
