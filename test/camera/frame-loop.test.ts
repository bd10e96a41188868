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
  // Each pull gets the newest frame: sequence numbers only go up, and mostly jump (a loaded machine can
  // starve the camera child so that it made only one frame in a 100 ms step; never a backlog).
  const gaps = seqs.slice(1).map((q, i) => q - seqs[i]);
  t.ok(gaps.every((g) => g >= 1), `never the same or an older frame (gaps ${gaps.join(',')})`);
  t.ok(gaps.filter((g) => g >= 2).length >= gaps.length / 2, `frames in between were skipped, not queued (gaps ${gaps.join(',')})`);
  t.equal(s.failed, 1, 'the failed frame is counted as failed');
  t.equal(s.processed, seqs.length - 1, 'and not as processed');
  t.match(logger.lines.find((l) => l.level === 'error'), { msg: 'frame processing failed', error: { message: 'vision failed on this frame' } });
});

t.test('failed frames are failed, not processed; the log says so without flooding', async (t) => {
  let n = 0;
  let clock = 0;
  const frames = 200;
  const source = { next: async () => (n < frames ? { seq: n++, capturedAt: clock, fps: 30, image: { width: 1, height: 1, data: new Uint8Array(3) } } : null) };
  const logger = createMemoryLogger('debug');
  // 100 ms per frame on the loop's clock; frames 0-9 go through, 10-159 fail, 160- go through again
  const loop = new FrameLoop(source, async (f) => {
    clock += 100;
    if (f.seq >= 10 && f.seq < 160) throw new Error(`vision worker restarting (frame ${f.seq})`);
  }, logger, { now: () => clock, failureLogIntervalMs: 5000 });
  await loop.start();
  const s = loop.stats();
  t.equal(s.processed, 50);
  t.equal(s.failed, 150);
  t.equal(s.lastError, null, 'cleared once frames go through again');
  const errors = logger.lines.filter((l) => l.level === 'error');
  t.match(errors[0], { msg: 'frame processing failed', seq: 10, error: { message: 'vision worker restarting (frame 10)' } });
  t.ok(errors.length >= 2 && errors.length <= 4, `${errors.length} error lines for 150 failed frames over 15 s (one per 5 s)`);
  t.ok(errors.slice(1).every((l) => l.msg === 'frames still failing'), 'then summaries');
  const summed = 1 + errors.slice(1).reduce((a, l) => a + (l.failedSinceLastLine as number), 0);
  t.ok(summed <= 150, 'summaries count the failures since the line before');
  t.match(logger.lines.find((l) => l.msg === 'frames processed again'), { failedInRun: 150 });
});

t.test('while every frame fails, lastError names the failure', async (t) => {
  let n = 0;
  const source = { next: async () => (n++ < 5 ? { seq: n, capturedAt: 0, fps: 30, image: { width: 1, height: 1, data: new Uint8Array(3) } } : null) };
  const loop = new FrameLoop(source, async () => { throw new Error('vision worker exited unexpectedly (code 1)'); }, createMemoryLogger());
  await loop.start();
  t.same({ processed: loop.stats().processed, failed: loop.stats().failed, lastError: loop.stats().lastError, fps: loop.stats().processedFps }, { processed: 0, failed: 5, lastError: 'vision worker exited unexpectedly (code 1)', fps: 0 });
});
