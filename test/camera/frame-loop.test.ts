import t from 'tap';
import { FrameLoop, percentile } from '../../src/camera/frame-loop';
import { CameraSource } from '../../src/camera/source';
import { renderPipeline } from '../../src/camera/pipeline-template';
import { createMemoryLogger } from '../../src/log';
import { compiledCameraProcess } from './helpers';

t.test('percentile', async (t) => {
  t.equal(percentile([], 50), 0);
  t.equal(percentile([5, 1, 3, 2, 4], 50), 3);
  t.equal(percentile([...Array(100).keys()].map((i) => i + 1), 95), 95);
});

t.test('a consumer slower than the camera always gets the newest frame; the rest are dropped and counted, never queued', async (t) => {
  const src = new CameraSource({
    pipeline: renderPipeline('test', { width: 160, height: 120, fps: 30 }),
    logger: createMemoryLogger(), processScript: compiledCameraProcess(t),
  });
  t.teardown(() => src.stop());
  src.start();
  t.ok(await src.next(), 'camera up');
  const seqs: number[] = [];
  const logger = createMemoryLogger();
  const loop = new FrameLoop(src, async (f) => {
    seqs.push(f.seq);
    await new Promise((r) => setTimeout(r, 100)); // 10 fps of processing for a 30 fps camera
    if (seqs.length === 3) throw new Error('vision failed on this frame');
  }, logger);
  const done = loop.start();
  await new Promise((r) => setTimeout(r, 1500));
  await src.stop();
  await done;
  const s = loop.stats();
  const cam = src.stats();
  t.ok(s.processed >= 6 && s.processed <= 16, `processed ${s.processed}`);
  t.ok(s.processedFps > 6 && s.processedFps < 11, `processed fps ${s.processedFps.toFixed(1)}`);
  t.ok(s.latencyMs.p50 >= 100 && s.latencyMs.p50 < 200, `latency p50 ${s.latencyMs.p50.toFixed(1)} ms (processing takes 100 ms: the frame was the newest)`);
  t.ok(s.latencyMs.p95 < 400, `latency p95 ${s.latencyMs.p95.toFixed(1)} ms`);
  t.ok(cam.framesDropped >= 15, `dropped ${cam.framesDropped} of ${cam.framesIn}`);
  t.ok(cam.framesIn - cam.framesDelivered - cam.framesDropped <= 1, 'in = processed + dropped (+ the one held)');
  for (let i = 1; i < seqs.length; i++) t.ok(seqs[i] - seqs[i - 1] >= 2, 'frames in between were skipped, not queued');
  t.equal(s.errors, 1);
  t.match(logger.lines.find((l) => l.level === 'error'), { msg: 'frame processing failed', error: { message: 'vision failed on this frame' } });
});
