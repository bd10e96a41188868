/**
 * npm run bench -- vision-restart: how long the vision supervisor takes to bring a dead worker
 * back (failure -> new worker ready: the backoff, the models verified again by sha256, the ONNX
 * Runtime sessions opened and checked), with the default config (vision.restartBackoff 1 s).
 * Each round ends the worker between requests (VisionWorker.terminateBetweenRequests), waits for
 * the restart, and checks that detect works on the new worker.
 */
import { ConfigSchema } from '../src/config/schema';
import { VisionSupervisor } from '../src/daemon/vision-supervisor';
import { createMemoryLogger } from '../src/log';
import { verifyModels } from '../src/models/manifest';
import { VisionWorker } from '../src/vision/worker-client';

export async function benchVisionRestart(_shared: string, log: (s: string) => void, rounds = 5): Promise<{ restartMs: number[]; backoffMs: number }> {
  const cfg = ConfigSchema.parse({ vision: { providers: ['cpu'] } });
  const logger = createMemoryLogger('warn');
  const backoffMs = cfg.vision.restartBackoff.initialSeconds * 1000;
  const sup = new VisionSupervisor({
    startWorker: async ({ signal }) => VisionWorker.start(cfg.vision, verifyModels(cfg.models), logger, { signal }),
    backoff: { initialMs: backoffMs, maxMs: cfg.vision.restartBackoff.maxSeconds * 1000, factor: cfg.vision.restartBackoff.factor },
    logger,
  });
  await sup.start();
  const img = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).fill(128) };
  const restartMs: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      await sup.detect({ ...img, data: img.data.slice() });
      const old = sup.current()!;
      await old.terminateBetweenRequests();
      while (!(sup.state().state === 'running' && sup.current() && sup.current() !== old)) await new Promise((r) => setTimeout(r, 10));
      await sup.detect({ ...img, data: img.data.slice() });
      restartMs.push(sup.state().lastRestartMs!);
    }
  } finally {
    await sup.stop();
  }
  const sorted = [...restartMs].sort((a, b) => a - b);
  log(`vision-restart: ${rounds} restarts of the vision worker (default backoff ${backoffMs} ms, models re-verified, sessions reopened): ` +
    `min ${sorted[0]} ms, median ${sorted[Math.floor(rounds / 2)]} ms, max ${sorted[rounds - 1]} ms; all: ${restartMs.join(', ')} ms`);
  return { restartMs, backoffMs };
}
