import t from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { CameraSource, type CameraSourceOptions, type CameraState } from '../../src/camera/source';
import { renderPipeline, type RenderedPipeline } from '../../src/camera/pipeline-template';
import { createMemoryLogger } from '../../src/log';
import { compiledCameraProcess, makeMp4, tempDir } from './helpers';

const FAST = { initialMs: 50, maxMs: 200, factor: 2 };

function source(t: { teardown: (fn: () => unknown) => void }, pipeline: RenderedPipeline, opts: Partial<CameraSourceOptions> = {}) {
  const logger = createMemoryLogger();
  const src = new CameraSource({ pipeline, logger, backoff: FAST, processScript: script, ...opts });
  const states: CameraState[] = [];
  src.on('state', (s: CameraState) => states.push(s));
  t.teardown(() => src.stop());
  return { src, logger, states };
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

let script: string;
let dir: string;
let mp4: string;
t.before(() => {
  script = compiledCameraProcess(t);
  dir = tempDir(t);
  mp4 = makeMp4(path.join(dir, 'clip.mp4'), { frames: 30, width: 322, height: 240, pattern: 'white' });
});

t.test('file, as fast as possible: every frame, packed RGB with the row padding removed, then ended', async (t) => {
  const { src, states } = source(t, renderPipeline('file', { location: mp4, realtime: false }), { mode: 'lossless' });
  src.start();
  let n = 0;
  for (;;) {
    const f = await src.next();
    if (!f) break;
    n++;
    t.equal(f.seq, n);
    if (n === 1) {
      t.same([f.image.width, f.image.height, f.image.data.length], [322, 240, 322 * 240 * 3]);
      t.ok(f.image.data.every((v) => v > 200), 'white stays white after de-padding (no row shift)');
      t.ok(Math.abs(f.capturedAt - Date.now()) < 5000);
      t.equal(f.fps, 30, 'nominal frame rate from the caps');
    }
  }
  t.equal(n, 30);
  const s = src.stats();
  t.match(s, { state: 'ended', framesIn: 30, framesDelivered: 30, framesDropped: 0, reconnects: 0 });
  t.same(states, ['starting', 'streaming', 'ended']);
  t.equal(await src.next(), null);
});

t.test('file in real time: paced at its frame rate, the slow consumer gets the newest frame and drops are counted', async (t) => {
  const { src } = source(t, renderPipeline('file', { location: mp4, realtime: true }));
  src.start();
  const t0 = Date.now();
  let got = 0;
  let lastSeq = 0;
  for (;;) {
    const f = await src.next();
    if (!f) break;
    got++;
    lastSeq = f.seq;
    await new Promise((r) => setTimeout(r, 100)); // a consumer at 10 fps on a 30 fps file
  }
  const s = src.stats();
  t.ok(Date.now() - t0 >= 800, `real-time pacing: 30 frames at 30 fps took ${Date.now() - t0} ms`);
  t.ok(got < 20, `the consumer got ${got} of 30 frames`);
  t.equal(s.framesIn, 30);
  t.equal(s.framesDelivered, got);
  t.equal(s.framesDelivered + s.framesDropped, s.framesIn, 'every frame in was either processed or counted as dropped');
  t.ok(lastSeq > got && lastSeq <= 30, `frame numbers count the camera's frames (last ${lastSeq})`);
});

t.test('test source: EOS of a live source restarts it, counted as a reconnect', async (t) => {
  const { src, logger } = source(t, renderPipeline('test', { width: 64, height: 48, numBuffers: 3 }));
  src.start();
  await until(() => src.stats().reconnects >= 2, 10000, 'two restarts');
  const f = await src.next();
  t.ok(f);
  t.equal(f!.image.data.length, 64 * 48 * 3);
  t.match(src.stats(), { lastRestartReason: 'eos', reconnectsLastHour: src.stats().reconnects });
  t.ok(logger.lines.some((l) => l.msg === 'camera restart' && l.reason === 'eos'));
});

t.test('pipeline error (not a video): restarted with backoff, reported, and recovers when the file is fixed', async (t) => {
  const file = path.join(dir, 'broken.mp4');
  writeFileSync(file, 'this is not a video');
  const { src, states } = source(t, renderPipeline('file', { location: file, realtime: false }), { mode: 'lossless', backoff: { initialMs: 100, maxMs: 400, factor: 2 } });
  const restarts: { reason: string; delayMs: number }[] = [];
  src.on('restart', (r: { reason: string; delayMs: number }) => restarts.push(r));
  src.start();
  const next = src.next();
  await until(() => restarts.length >= 3, 10000, 'three restarts');
  t.equal(src.state === 'down' || src.state === 'starting', true);
  t.match(src.stats().lastError, /decodebin|typefind|stream|type/i);
  t.same(restarts.slice(0, 3).map((r) => [r.reason, r.delayMs]), [['error', 100], ['error', 200], ['error', 400]]);
  copyFileSync(mp4, file);
  const f = await next;
  t.ok(f, 'a frame once the file is a video again');
  t.ok(states.includes('down') && states.includes('streaming'));
});

t.test('missing file (a camera device unplugged): down, retried, streams once it is back', async (t) => {
  const file = path.join(dir, 'later.mp4');
  const { src } = source(t, renderPipeline('file', { location: file, realtime: false }), { mode: 'lossless' });
  src.start();
  const next = src.next();
  await until(() => src.stats().reconnects >= 2, 5000, 'retries');
  t.equal(src.processId, undefined, 'no camera process while the file is missing');
  t.match(src.stats(), { lastRestartReason: 'missing', lastError: `${file} does not exist (camera unplugged, wrong device, or file moved?)` });
  copyFileSync(mp4, file);
  t.ok(await next);
  unlinkSync(file);
});

t.test('a stalled source (no frame for N s) is restarted and counted as a stall', async (t) => {
  // One frame, then nothing for 10 s.
  const launch = 'videotestsrc is-live=true ! video/x-raw,width=32,height=32,framerate=1/10 ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink drop=true max-buffers=1 sync=false';
  const { src, states } = source(t, { template: 'custom', launch, live: true, requiredPaths: [] }, { stallTimeoutMs: 300 });
  src.start();
  t.ok(await src.next());
  await until(() => src.stats().stallsLastHour >= 1, 5000, 'a stall');
  t.ok(states.includes('stalled'));
  t.match(src.stats(), { lastRestartReason: 'stall', lastError: /^no frame for \d/ });
  t.ok(await src.next(), 'streams again after the restart');
});

t.test('a source that blocks at start (a FIFO nobody writes) never hangs: killed, restarted, stop() returns', async (t) => {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const { src } = source(t, renderPipeline('file', { location: fifo, realtime: false }), { mode: 'lossless', startTimeoutMs: 300, stopTimeoutMs: 200 });
  src.start();
  const next = src.next();
  await until(() => src.stats().stallsLastHour >= 2, 5000, 'two stalls');
  const t0 = Date.now();
  await src.stop();
  t.ok(Date.now() - t0 < 1500, `stop() took ${Date.now() - t0} ms`);
  t.equal(await next, null, 'a pending next() resolves with null at stop');
  t.equal(src.state, 'stopped');
});

t.test('a crashed camera process is restarted', async (t) => {
  const { src } = source(t, renderPipeline('test', { width: 32, height: 32 }));
  src.start();
  t.ok(await src.next());
  process.kill(src.processId!, 'SIGKILL');
  await until(() => src.stats().reconnects >= 1, 5000, 'a restart');
  t.match(src.stats(), { lastRestartReason: 'exited', lastError: 'camera process exited (SIGKILL)' });
  t.ok(await src.next());
});

t.test('a pipeline that does not parse is reported with GStreamer\'s message', async (t) => {
  const { src } = source(t, { template: 'custom', launch: 'nosuchelement ! appsink name=sink', live: true, requiredPaths: [] });
  src.start();
  await until(() => src.stats().reconnects >= 1, 5000, 'a restart');
  t.match(src.stats().lastError, /cannot build the pipeline: no element "nosuchelement"/);
});

t.test('maxRestarts: a file that cannot be played ends the source instead of retrying forever', async (t) => {
  const file = path.join(dir, 'text.mp4');
  writeFileSync(file, 'still not a video');
  const { src } = source(t, renderPipeline('file', { location: file, realtime: false }), { mode: 'lossless', maxRestarts: 0 });
  let failed: { reason: string; message: string } | undefined;
  src.on('failed', (f: { reason: string; message: string }) => { failed = f; });
  src.start();
  t.equal(await src.next(), null);
  t.equal(src.state, 'down');
  t.match(failed, { reason: 'error' });
  t.match(src.stats(), { state: 'down', reconnects: 1, lastError: failed!.message });
});
