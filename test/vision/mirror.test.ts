/**
 * Flip-averaged enrolment: the mirror geometry (pure), and on a real photo through the real
 * models: the flip-averaged embedding is the mean of the photo's and its mirror image's, it does
 * not depend on which way round the photo is, and it still matches the person.
 */
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { alignFace } from '../../src/vision/align';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import { cosine } from '../../src/vision/embedder';
import { decodeImageFile } from '../../src/vision/image';
import { alignMirrored, mirrorFivePoints, mirrorImage } from '../../src/vision/mirror';
import { largestFace } from '../../src/vision/select';
import type { Point, RgbImage } from '../../src/vision/types';
import { needsSharedData, sharedData } from '../helpers/data';

function gradient(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    data[o] = (x * 7 + y) & 255;
    data[o + 1] = (x * y) & 255;
    data[o + 2] = (y * 5) & 255;
  }
  return { width: w, height: h, data };
}

t.test('mirror geometry', async (t) => {
  const img = gradient(9, 4);
  const m = mirrorImage(img);
  t.same([...m.data.subarray(0, 3)], [...img.data.subarray(8 * 3, 9 * 3)], 'first pixel of a row is the last of the original');
  t.same(mirrorImage(m).data, img.data, 'mirroring twice gives the image back');
  const pts: Point[] = [[30, 40], [70, 41], [50, 60], [35, 80], [66, 81]];
  t.same(mirrorFivePoints(pts, 101), [[30, 41], [70, 40], [50, 60], [34, 81], [65, 80]], 'left and right swap, x -> W-1-x');
  t.throws(() => mirrorFivePoints(pts.slice(0, 4), 101), /needs the 5 alignment points, got 4/);
  t.throws(() => mirrorImage({ width: 3, height: 3, data: new Uint8Array(5) }), /5 bytes for 3x3x3/);

  // alignMirrored reads the original through the reflection: the same pixels as aligning the mirror copy.
  const big = gradient(120, 100);
  const face: Point[] = [[40, 40], [75, 42], [58, 60], [44, 78], [72, 80]];
  const template = { width: 48, height: 48, points: [[16, 20], [32, 20], [24, 28], [18, 37], [30, 37]] as Point[] };
  const viaCopy = alignFace(mirrorImage(big), mirrorFivePoints(face, big.width), template).aligned;
  const direct = alignMirrored(big, face, template);
  let maxDiff = 0;
  for (let i = 0; i < direct.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(direct.data[i] - viaCopy.data[i]));
  t.ok(maxDiff <= 1, `alignMirrored equals aligning the mirrored copy (max difference ${maxDiff}, rounding)`);
});

t.test('flip-averaged embedding of a real photo', needsSharedData('people'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const analyzer = await FaceAnalyzer.create(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => analyzer.close());
  const face = async (img: RgbImage, flipAverage: boolean) => {
    const f = largestFace((await analyzer.analyze(img, { flipAverage })).faces);
    if (!f) throw new Error('no face');
    return f;
  };
  const photo = await decodeImageFile(sharedData('people', 'barack-obama', 'obama1.jpg'));
  const mirrored = mirrorImage(photo);
  const plain = await face(photo, false);
  const plainMirror = await face(mirrored, false);
  const avg = await face(photo, true);
  const avgMirror = await face(mirrored, true);

  let norm = 0;
  for (const v of avg.embedding) norm += v * v;
  t.ok(Math.abs(norm - 1) < 1e-4, 'L2-normalised');
  t.equal(avg.embedding.length, plain.embedding.length);
  // The mean of the photo's and its mirror's embeddings (the detector may place the points a little
  // differently on the mirror copy, hence not exact).
  const sum = plain.embedding.map((v, i) => v + plainMirror.embedding[i]);
  const n = Math.sqrt(sum.reduce((a, v) => a + v * v, 0));
  const expected = sum.map((v) => v / n);
  t.ok(cosine(avg.embedding, expected) > 0.99, `the mean of plain and mirror embeddings (cosine ${cosine(avg.embedding, expected).toFixed(4)})`);
  const flipGap = cosine(plain.embedding, plainMirror.embedding);
  const avgGap = cosine(avg.embedding, avgMirror.embedding);
  t.ok(flipGap < 0.995, `a plain embedding changes when the photo is mirrored (cosine ${flipGap.toFixed(4)})`);
  t.ok(avgGap > flipGap && avgGap > 0.99, `the flip-averaged one hardly does (cosine ${avgGap.toFixed(4)} vs ${flipGap.toFixed(4)})`);
  t.same(avg.quality, plain.quality, 'quality is measured on the photo as it is');

  const other = await face(await decodeImageFile(sharedData('people', 'barack-obama', 'obama2.jpg')), false);
  const stranger = await face(await decodeImageFile(sharedData('people', 'joe-biden', 'biden1.jpg')), false);
  t.ok(cosine(avg.embedding, other.embedding) > 0.4, `still matches another photo of him (${cosine(avg.embedding, other.embedding).toFixed(3)})`);
  t.ok(cosine(avg.embedding, stranger.embedding) < 0.3, `and not someone else (${cosine(avg.embedding, stranger.embedding).toFixed(3)})`);
});
