/**
 * Denormal floats are flushed to zero in every ONNX Runtime session (src/vision/ort.ts): on street
 * faces the embedder's activations go denormal and ran ~7x slower (61 ms against 9 ms per face,
 * measured on a crowd-video frame; speed is checked by `npm run bench`, not here). What a test can
 * hold: the option is set, and it leaves the embeddings as they were (the real embedder on a real
 * photo, with and without it).
 */
import t from 'tap';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { modelOfKind, verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import { cosine, embedderInput, l2Normalise } from '../../src/vision/embedder';
import { decodeImageFile } from '../../src/vision/image';
import { ort, sessionOptions } from '../../src/vision/ort';
import { resizeRgb } from '../../src/vision/resize';

const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });

t.test('every session flushes denormals to zero', async (t) => {
  const extra = sessionOptions(cfg.vision, 'cpu', true).extra as { session: Record<string, unknown> };
  t.equal(extra.session.set_denormal_as_zero, '1');
  t.equal((sessionOptions(cfg.vision, 'cuda', true).extra as typeof extra).session.set_denormal_as_zero, '1', 'whatever the provider');
});

t.test('flushing denormals leaves the embeddings as they were (real embedder, real photo, full size and street size)', async (t) => {
  const models = verifyModels(cfg.models);
  const analyzer = await FaceAnalyzer.create(cfg.vision, models, createMemoryLogger());
  t.teardown(() => analyzer.close());
  const key = models.embedder;
  const entry = modelOfKind(models.manifest, key, 'embedder');
  const opts = sessionOptions(cfg.vision, 'cpu', true);
  const plain = { ...opts, extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
  const withDaz = await ort.InferenceSession.create(models.paths[key], opts);
  const without = await ort.InferenceSession.create(models.paths[key], plain);
  t.teardown(async () => { await withDaz.release(); await without.release(); });
  const photo = await decodeImageFile(path.join(packageRoot(), 'assets', 'demo', 'watchlist', 'barack-obama', 'obama1.jpg'));
  // The photo as it is, and shrunk to a street face (~50 px) in the frame.
  const small = resizeRgb(photo, Math.round(photo.width / 4), Math.round(photo.height / 4));
  for (const [what, img] of [['full size', photo], ['a quarter size', small]] as const) {
    const res = await analyzer.analyze(img, { withAligned: true });
    t.ok(res.faces.length >= 1, `${what}: a face`);
    const aligned = res.faces[0].aligned!;
    const input = embedderInput(aligned, entry.input as never);
    const shape = [1, 3, aligned.height, aligned.width];
    const run = async (s: ort.InferenceSession) => l2Normalise(new Float32Array((await s.run({ [entry.input.name]: new ort.Tensor('float32', input, shape) }))[entry.embedding.output].data as Float32Array));
    const a = await run(withDaz);
    const b = await run(without);
    const c = cosine(a, b);
    t.ok(c > 0.99999, `${what}: cosine ${c.toFixed(7)} with and without flushing`);
    t.ok(cosine(a, res.faces[0].embedding) > 0.99999, `${what}: the analyzer's embedding is the flushed session's`);
  }
});
