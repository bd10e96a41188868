/**
 * The live chain with the real models through the vision worker, on a crowd made from a committed
 * photo (a 4x3 grid: twelve faces in every frame) and a tight embedding budget: every track is
 * embedded, within the scheduler's bound, and every face not embedded is counted with its reason.
 */
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { RecognitionChain } from '../../src/recognition/chain';
import { DecisionConfigSchema, TrackerConfigSchema } from '../../src/recognition/config';
import { AlertDecider, releaseAlertCrop } from '../../src/recognition/decision';
import { SchedulerConfigSchema } from '../../src/recognition/scheduler';
import { Tracker } from '../../src/recognition/tracker';
import { decodeImageFile } from '../../src/vision/image';
import type { RgbImage } from '../../src/vision/types';
import { VisionWorker } from '../../src/vision/worker-client';

const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });

function grid(img: RgbImage, cols: number, rows: number): RgbImage {
  const W = img.width * cols;
  const data = new Uint8Array(W * img.height * rows * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let y = 0; y < img.height; y++) {
        data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((r * img.height + y) * W + c * img.width) * 3);
      }
    }
  }
  return { width: W, height: img.height * rows, data };
}

t.test('twelve faces, two embeddings per frame: every track embedded, the rest counted', async (t) => {
  const vision = await VisionWorker.start(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => vision.close());
  const photo = await decodeImageFile(path.join(packageRoot(), 'assets', 'demo', 'watchlist', 'barack-obama', 'obama1.jpg'));
  const crowd = grid(photo, 4, 3);
  const scheduler = SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 2, maxFrameMs: 0, maxPerTrackPerSecond: 25, maxWaitFrames: 3 });
  const decider = new AlertDecider(DecisionConfigSchema.parse({}), { threshold: 0.9, falseAlertRate: 0.001, watchlistSize: 1 });
  const tracker = new Tracker(TrackerConfigSchema.parse({}));
  const chain = new RecognitionChain({ vision, tracker, decider, scheduler, matcher: () => undefined, onAlert: (a) => releaseAlertCrop(a) });
  const frames = 8;
  const embeddedBy: number[] = [];
  for (let f = 0; f < frames; f++) {
    await chain.processFrame({ seq: f + 1, capturedAt: 1000 + f * 40, fps: 25, image: { ...crowd, data: crowd.data.slice() } });
    embeddedBy.push(tracker.active.filter((tr) => tr.embeddedHits > 0).length);
  }
  const c = chain.counts;
  t.equal(c.facesDetected, 12 * frames, 'twelve faces detected in every frame: no cap');
  t.equal(c.tracksStarted, 12, 'one track per face');
  t.equal(c.facesAnalysed, 2 * frames, 'two analysed per frame (the budget)');
  t.same(embeddedBy.slice(0, 6), [2, 4, 6, 8, 10, 12], 'new tracks first: all twelve embedded after six frames');
  t.ok(tracker.active.every((tr) => tr.embeddedHits >= 1), 'every track embedded');
  t.equal(c.facesEmbedded + c.notEmbedded.quality, c.facesAnalysed);
  t.equal(c.facesNotEmbedded, c.facesDetected - c.facesEmbedded, 'faces not embedded are counted');
  t.equal(c.notEmbedded.budget + c.notEmbedded.rate + c.notEmbedded.quality, c.facesNotEmbedded, '...each with its reason');
  t.equal(c.notEmbedded.budget, 12 * frames - 2 * frames, 'the budget left out ten faces a frame');
  chain.endAll();
  const hist = chain.counts.embeddingsPerEndedTrack;
  t.equal(hist.reduce((a, b) => a + b, 0), 12);
  t.equal(hist[0], 0, 'no track ended without an embedding');
});
