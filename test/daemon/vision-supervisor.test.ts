/**
 * The vision supervisor with real vision workers (real ONNX models): a worker that dies is
 * replaced after the backoff, with its models verified again; frames asked for while it is down
 * fail with the reason; a model that fails verification at restart leaves vision 'failed', naming
 * the file, until it is restored.
 */
import { cpSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { VisionSupervisor, VisionUnavailableError, type VisionStatus } from '../../src/daemon/vision-supervisor';
import { createMemoryLogger } from '../../src/log';
import { ModelsConfigSchema } from '../../src/models/config';
import { verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { VisionConfigSchema } from '../../src/vision/config';
import type { RgbImage } from '../../src/vision/types';
import { VisionWorker } from '../../src/vision/worker-client';

const root = packageRoot();

async function frame(): Promise<RgbImage> {
  const { data, info } = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 120, b: 150 } } }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup(t: { teardown: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-vsup-'));
  cpSync(path.join(root, 'models'), dir, { recursive: true });
  const models = ModelsConfigSchema.parse({ dir, manifest: path.join(dir, 'manifest.json') });
  const vision = VisionConfigSchema.parse({ providers: ['cpu'], restartBackoff: { initialSeconds: 0.2, maxSeconds: 1 } });
  const logger = createMemoryLogger('debug');
  const statuses: VisionStatus[] = [];
  const starts: boolean[] = [];
  const sup = new VisionSupervisor({
    startWorker: async ({ restart }) => {
      starts.push(restart);
      return VisionWorker.start(vision, verifyModels(models), logger);
    },
    backoff: { initialMs: 200, maxMs: 1000, factor: 2 },
    logger,
    onStatus: (s) => statuses.push(s),
  });
  t.teardown(() => sup.stop());
  return { dir, sup, statuses, starts, logger };
}

t.test('a worker that dies is restarted, models verified again; frames in between fail with the reason', { timeout: 120_000 }, async (t) => {
  const { sup, statuses, starts, logger } = setup(t);
  await sup.start();
  t.equal(sup.state().state, 'running');
  t.equal(sup.provider, 'cpu');
  const before = await sup.detect(await frame(), { transfer: true });
  t.same(before.faces, [], 'detect runs (a plain frame: no face)');

  const old = sup.current()!;
  await old.terminateBetweenRequests();
  await until('restarting', () => sup.state().state !== 'running' || sup.current() !== old);
  const during = await sup.detect(await frame()).then(() => 'resolved', (e: Error) => e);
  // either the restart has not finished (VisionUnavailableError with the exit) or it has (a new worker)
  if (during instanceof Error) {
    t.type(during, VisionUnavailableError);
    t.match(during.message, /^vision worker restarting: vision worker exited unexpectedly \(code 1\)$/);
  }
  await until('running again', () => sup.state().state === 'running' && sup.current() !== undefined && sup.current() !== old);
  t.not(sup.current(), old, 'a new worker');
  t.same(starts, [false, true], 'started once more, as a restart (models verified again by the factory)');
  const s = sup.state();
  t.equal(s.restarts, 1);
  t.ok(s.lastRestartMs !== null && s.lastRestartMs > 0, `restart took ${s.lastRestartMs} ms`);
  t.same(statuses.map((x) => x.state), ['starting', 'running', 'restarting', 'running'], 'the states reported');
  t.match(statuses[2], { state: 'restarting', reason: 'vision worker exited unexpectedly (code 1)', restarts: 1 });
  t.same((await sup.detect(await frame())).faces, [], 'detect works on the new worker');
  t.ok(logger.lines.some((l) => l.msg === 'vision worker restarted' && typeof l.restartMs === 'number'), 'the restart is logged with its time');
});

t.test('a request in flight when the worker dies is rejected with the exit (its frame fails, it is not lost in a hang)', { timeout: 120_000 }, async (t) => {
  const { sup } = setup(t);
  await sup.start();
  const old = sup.current()!;
  const img = await frame();
  const dying = old.terminateBetweenRequests(); // nothing in flight: terminate() starts now
  const inFlight = sup.detect(img); // posted in the same tick, to the worker as it goes
  t.equal(old.inFlight, 1, 'the request is in flight');
  await t.rejects(inFlight, new Error('vision worker exited unexpectedly (code 1)'));
  await dying;
  t.equal(old.inFlight, 0, 'nothing left pending');
  await until('running again', () => sup.state().state === 'running' && sup.current() !== old);
});

t.test('analyzeDetected after a restart is refused: the new worker never saw that frame', { timeout: 120_000 }, async (t) => {
  const { sup } = setup(t);
  await sup.start();
  await sup.detect(await frame());
  const old = sup.current()!;
  await old.terminateBetweenRequests();
  await until('a new worker', () => sup.state().state === 'running' && sup.current() !== old);
  await t.rejects(sup.analyzeDetected([0]), new VisionUnavailableError("vision worker restarted since this frame's detection"));
});

t.test('a model missing at restart: vision failed, naming the file; restored: running again', { timeout: 120_000 }, async (t) => {
  const { dir, sup, statuses } = setup(t);
  await sup.start();
  const detector = path.join(dir, 'fr_detect.onnx');
  renameSync(detector, `${detector}.away`);
  await sup.current()!.terminateBetweenRequests();
  await until('failed', () => sup.state().state === 'failed');
  t.match(sup.state(), { state: 'failed', reason: new RegExp(`^detector model ultraface-320: ${detector.replace(/[.]/g, '\\.')} is missing`) });
  await t.rejects(sup.detect(await frame()), { name: 'VisionUnavailableError', message: /^vision worker failed: detector model ultraface-320: .* is missing/ });
  renameSync(`${detector}.away`, detector);
  await until('running again', () => sup.state().state === 'running', 30_000);
  t.same((await sup.detect(await frame())).faces, [], 'recovers once the file is back');
  t.ok(statuses.some((s) => s.state === 'failed'), 'failed was reported');
});
