/**
 * Regression against the reference pipeline's outputs (../shared/reference/embeddings.json): the
 * TypeScript pipeline must give a cosine of at least 0.98 to every reference embedding, and find
 * the same face. Runs through the worker thread, as the daemon does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { cosine } from '../../src/vision/embedder';
import { decodeImageFile } from '../../src/vision/image';
import { centralFace } from '../../src/vision/select';
import { VisionWorker } from '../../src/vision/worker-client';
import { needsSharedData, REFERENCE, sharedData } from '../helpers/data';

interface RefImage { image: string; faces: number; box: number[]; detScore: number; fivePoints: number[][]; embedding: number[] }

t.test('matches the reference pipeline on 25 images', needsSharedData('people'), async (t) => {
  const ref = JSON.parse(readFileSync(path.join(REFERENCE, 'embeddings.json'), 'utf8')) as { images: RefImage[] };
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const logger = createMemoryLogger();
  const vision = await VisionWorker.start(cfg.vision, verifyModels(cfg.models), logger);
  t.teardown(() => vision.close());
  t.equal(vision.provider, 'cpu');
  let worst = 1;
  for (const r of ref.images) {
    const img = await decodeImageFile(sharedData(r.image));
    const res = await vision.analyze(img, { transfer: true });
    const face = centralFace(res.faces, res.width, res.height);
    if (!face) {
      t.fail(`${r.image}: no face found`);
      continue;
    }
    const c = cosine(face.embedding, Float32Array.from(r.embedding));
    worst = Math.min(worst, c);
    t.ok(c >= 0.98, `${r.image}: cosine to reference ${c.toFixed(4)} >= 0.98`);
    t.equal(res.faces.length, r.faces, `${r.image}: ${r.faces} face(s)`);
    const dEye = Math.hypot(face.fivePoints[0][0] - r.fivePoints[0][0], face.fivePoints[0][1] - r.fivePoints[0][1]);
    t.ok(dEye < 0.05 * (r.box[3] - r.box[1]), `${r.image}: left eye within 5% of the box of the reference`);
  }
  t.comment(`worst cosine to the reference: ${worst.toFixed(4)}`);
});

t.test('concurrent requests give the same faces as one at a time (no shared-buffer interleaving)', needsSharedData('people'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const vision = await VisionWorker.start(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => vision.close());
  const files = ['people/barack-obama/obama1.jpg', 'people/joe-biden/biden1.jpg', 'people/bbt-raj/raj1.png', 'group/bbt1.jpg'];
  const imgs = await Promise.all(files.map((f) => decodeImageFile(sharedData(f))));
  const sequential = [];
  for (const img of imgs) sequential.push(await vision.analyze(img));
  const concurrent = await Promise.all(imgs.map((img) => vision.analyze(img)));
  concurrent.forEach((res, i) => {
    t.equal(res.faces.length, sequential[i].faces.length, `${files[i]}: same number of faces`);
    res.faces.forEach((f, j) => t.ok(cosine(f.embedding, sequential[i].faces[j].embedding) > 0.9999, `${files[i]} face ${j}: same embedding`));
  });
});
