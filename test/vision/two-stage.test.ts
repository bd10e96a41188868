/**
 * The two-stage vision API (detect, then analyzeDetected for chosen faces) with the real models on
 * real photos, in-thread and through the worker: the same faces and embeddings as analyze(), faces
 * in the order asked, no cap on the number of faces, clear errors for a bad index or no frame.
 */
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import { cosine } from '../../src/vision/embedder';
import { decodeImageFile } from '../../src/vision/image';
import type { FrameAnalysis, RgbImage } from '../../src/vision/types';
import { VisionWorker } from '../../src/vision/worker-client';
import { needsSharedData, sharedData } from '../helpers/data';

const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
const demo = (...p: string[]) => path.join(packageRoot(), 'assets', ...p);

/** A grid of copies of one photo (each copy shrunk to `cell` px wide): as many faces as cells. */
function grid(img: RgbImage, cols: number, rows: number): RgbImage {
  const W = img.width * cols, H = img.height * rows;
  const data = new Uint8Array(W * H * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let y = 0; y < img.height; y++) {
        const src = img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
        data.set(src, ((r * img.height + y) * W + c * img.width) * 3);
      }
    }
  }
  return { width: W, height: H, data };
}

function sameFaces(t: Tap.Test, got: FrameAnalysis['faces'], want: FrameAnalysis['faces'], what: string): void {
  t.equal(got.length, want.length, `${what}: ${want.length} faces`);
  got.forEach((f, i) => {
    t.same(f.box, want[i].box, `${what}: face ${i} box`);
    t.ok(cosine(f.embedding, want[i].embedding) > 0.99999, `${what}: face ${i} same embedding`);
  });
}

for (const key of ['ultraface-320', 'yunet-n', 'yunet-n-lm68']) {
  t.test(`${key}, in-thread: detect + analyzeDetected(all) = analyze; any order; subsets`, async (t) => {
    const vcfg = { ...cfg.vision, detector: key };
    const analyzer = await FaceAnalyzer.create(vcfg, verifyModels(cfg.models), createMemoryLogger());
    t.teardown(() => analyzer.close());
    t.equal(analyzer.detectorKeys.live, key);
    await t.rejects(analyzer.analyzeDetected([0]), /analyzeDetected: no frame yet: call detect\(\) first/);

    const img = await decodeImageFile(demo('demo', 'watchlist', 'barack-obama', 'obama1.jpg'));
    const whole = await analyzer.analyze(img, { detector: 'live' });
    t.equal(whole.faces.length, 1, 'one face on the demo photo');
    const det = await analyzer.detect(img);
    t.equal(det.faces.length, 1);
    t.same(det.faces[0].box, whole.faces[0].box, 'detect gives the box analyze gives');
    t.equal(det.faces[0].detScore, whole.faces[0].detScore);
    if (key === 'yunet-n') {
      t.equal(det.faces[0].fivePoints?.length, 5, 'YuNet gives five points of its own');
      t.same(whole.faces[0].fivePoints, det.faces[0].fivePoints, 'and they are the ones used for alignment');
      t.equal(whole.faces[0].landmarks.length, 0, 'no landmark stage');
      const [le, re, nose, lm, rm] = det.faces[0].fivePoints!;
      t.ok(le[0] < nose[0] && nose[0] < re[0] && lm[0] < rm[0] && nose[1] > le[1] && lm[1] > nose[1], 'points in the ArcFace order (image-left eye first)');
    } else if (key === 'yunet-n-lm68') {
      t.equal(det.faces[0].fivePoints, undefined, 'YuNet boxes only: its own points are not used');
      t.equal((await analyzer.analyze(img, { detector: 'live', withLandmarks: true })).faces[0].landmarks.length, 68, 'the 68-point stage gives the five points');
      // The alignment the watchlist and calibration are made with (UltraFace + 68-point): the same person embeds alike.
      const ultra = await analyzer.analyze(img, { detector: 'stills' });
      const cos = cosine(ultra.faces[0].embedding, whole.faces[0].embedding);
      t.ok(cos > 0.9, `YuNet box + 68-point embeds as UltraFace + 68-point (cosine ${cos.toFixed(3)})`);
      await analyzer.detect(img); // the live frame again (analyze() replaced it)
    } else {
      t.equal(det.faces[0].fivePoints, undefined, 'UltraFace gives no five points of its own');
      t.equal(whole.faces[0].landmarks.length, 0, 'landmarks are not kept unless asked for');
      t.equal((await analyzer.analyze(img, { detector: 'live', withLandmarks: true })).faces[0].landmarks.length, 68, 'the 68-point stage gives them');
      await analyzer.detect(img); // the live frame again
    }
    t.ok(det.times.detectRun > 0 && det.times.embedRun === 0 && det.times.landmarkRun === 0, 'detect times only the detector');
    const two = await analyzer.analyzeDetected([0], { withAligned: true });
    sameFaces(t, two.faces, whole.faces, 'analyzeDetected([0])');
    t.ok(two.faces[0].aligned, 'withAligned honoured');
    t.equal(two.times.detectRun, 0, 'analyzeDetected does not time the detector again');
    const none = await analyzer.analyzeDetected([]);
    t.equal(none.faces.length, 0, 'no index, no face');
    await t.rejects(analyzer.analyzeDetected([1]), /index 1 is not a face of the last detect\(\) \(it found 1\)/);
    await t.rejects(analyzer.analyzeDetected([0.5]), /index 0.5 is not a face/);

    // Many faces: a 4x3 grid of the same photo has 12 faces, more than the old cap of 8.
    const many = grid(img, 4, 3);
    const d12 = await analyzer.detect(many);
    t.equal(d12.faces.length, 12, 'detect has no cap on the number of faces');
    const order = [11, 3, 7];
    const some = await analyzer.analyzeDetected(order);
    t.same(some.faces.map((f) => f.box), order.map((i) => d12.faces[i].box), 'faces come back in the order of the indices');
    const all = await analyzer.analyze(many, { detector: 'live' });
    t.equal(all.faces.length, 12, 'analyze has no cap either');
    order.forEach((i, k) => t.ok(cosine(some.faces[k].embedding, all.faces[i].embedding) > 0.99999, `face ${i}: the embedding analyze gives`));
    // The same person on every copy: every embedding agrees with the photo's own.
    t.ok(all.faces.every((f) => cosine(f.embedding, whole.faces[0].embedding) > 0.9), 'every copy embeds as the original');
  });
}

t.test('both detectors through the worker: detect (transferred frame) + analyzeDetected = analyze on group photos', needsSharedData('group'), async (t) => {
  for (const key of ['ultraface-320', 'yunet-n']) {
    const vision = await VisionWorker.start({ ...cfg.vision, detector: key }, verifyModels(cfg.models), createMemoryLogger());
    t.teardown(() => vision.close());
    for (const name of ['bbt1.jpg', 'bbt3.jpg']) {
      const img = await decodeImageFile(sharedData('group', name));
      const whole = await vision.analyze(img, { detector: 'live' });
      const stills = await vision.analyze(img);
      t.ok(whole.faces.length >= 4, `${key} on ${name}: ${whole.faces.length} faces`);
      t.equal(whole.faces.length, stills.faces.length, `${key} finds as many faces as the still detector`);
      const copy = { width: img.width, height: img.height, data: img.data.slice() };
      const det = await vision.detect(copy, { transfer: true });
      t.equal(copy.data.byteLength, 0, 'the frame was transferred, not copied');
      t.same(det.faces.map((f) => f.box), whole.faces.map((f) => f.box), `${name}: the same boxes`);
      const idx = det.faces.map((_, i) => i).reverse();
      const res = await vision.analyzeDetected(idx, { embed: 'all' });
      sameFaces(t, res.faces, [...whole.faces].reverse(), `${key} ${name} reversed`);
      // Each face found by both detectors embeds alike: the same people.
      for (const f of res.faces) {
        const best = Math.max(...stills.faces.map((s) => cosine(s.embedding, f.embedding)));
        t.ok(best > 0.6, `${key} ${name}: a face matches the still detector's same face (cosine ${best.toFixed(3)})`);
      }
    }
    // Requests keep their order: analyzeDetected made before the next detect works on the earlier frame.
    const a = await decodeImageFile(sharedData('group', 'bbt1.jpg'));
    const b = await decodeImageFile(demo('selftest', 'face.jpg'));
    const da = await vision.detect(a);
    const [ra, db] = await Promise.all([vision.analyzeDetected([0]), vision.detect(b)]);
    t.same(ra.faces[0].box, da.faces[0].box, 'analyzeDetected queued before a detect uses the earlier frame');
    t.equal(db.faces.length, 1);
    await t.rejects(vision.analyzeDetected([5]), /index 5 is not a face of the last detect\(\) \(it found 1\)/);
    await vision.close();
  }
});
