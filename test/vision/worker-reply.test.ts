/**
 * postAnalysis (the worker's reply): the result arrives with the same values a transfer delivered,
 * nothing is detached on the sending side (so V8 keeps typed-array code fast there), and the
 * sender's copies of the face data are zeroed. And through the real worker, on real photos, the
 * results equal the in-thread analyzer's, bit for bit.
 */
import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import type { Face, FrameAnalysis } from '../../src/vision/types';
import { VisionWorker } from '../../src/vision/worker-client';
import { postAnalysis } from '../../src/vision/worker-reply';
import { needsSharedData } from '../helpers/data';
import { realPhotos, syntheticImage } from '../helpers/vision-before';

function face(seed: number): Face {
  const embedding = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i + seed));
  const quality = { interOcularPx: 40, sharpness: 100, yawDeg: 1, pitchDeg: 2, detScore: 0.9, passed: true, reasons: [] };
  return { box: [1, 2, 3, 4], detScore: 0.9, landmarks: [], fivePoints: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]], quality, embedding, flipAveraged: embedding.map((v) => v / 2), aligned: syntheticImage(112, 112, seed), context: syntheticImage(40, 30, seed + 1) };
}

function received(result: FrameAnalysis, transfer: boolean): Promise<FrameAnalysis> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<FrameAnalysis>((resolve) => port2.once('message', (m: { result: FrameAnalysis }) => resolve(m.result)));
  const msg = { kind: 'result', id: 1, result };
  if (transfer) port1.postMessage(msg, result.faces.flatMap((f) => [f.embedding.buffer as ArrayBuffer, f.flipAveraged!.buffer as ArrayBuffer, f.aligned!.data.buffer as ArrayBuffer, f.context!.data.buffer as ArrayBuffer]));
  else postAnalysis(port1, msg);
  return got.finally(() => port1.close());
}

t.test('postAnalysis: the same result as the transfer it replaced (synthetic faces, always runs)', async (t) => {
  const make = (): FrameAnalysis => ({ width: 250, height: 250, faces: [face(1), face(2)], times: { detectPre: 1, detectRun: 2, detectPost: 3, landmarkPre: 4, landmarkRun: 5, align: 6, quality: 7, embedPre: 8, embedRun: 9, total: 45 } });
  const viaTransfer = await received(make(), true);
  const sent = make();
  const viaClone = await received(sent, false);
  t.same(viaClone, viaTransfer, 'every field and value equal');
  for (const f of sent.faces) {
    t.equal(f.embedding.byteLength, 2048, 'sender embedding not detached');
    t.ok(f.embedding.every((v) => v === 0) && f.flipAveraged!.every((v) => v === 0), "sender's embeddings zeroed");
    t.ok(f.aligned!.data.every((v) => v === 0) && f.context!.data.every((v) => v === 0), "sender's crops zeroed");
  }
});

t.test('through the worker = in-thread, bit for bit, on real photos', needsSharedData('lfw-dev', 'images'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const models = verifyModels(cfg.models);
  const logger = createMemoryLogger();
  const analyzer = await FaceAnalyzer.create(cfg.vision, models, logger);
  t.teardown(() => analyzer.close());
  const worker = await VisionWorker.start(cfg.vision, models, logger);
  t.teardown(() => worker.close());
  for (const { name, img } of await realPhotos(6)) {
    const here = await analyzer.analyze(img, { withAligned: true });
    const there = await worker.analyze({ ...img, data: img.data.slice() }, { transfer: true, withAligned: true });
    t.same(there.faces, here.faces, `${name}: ${here.faces.length} face(s), identical`);
  }
});
