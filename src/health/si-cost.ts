/**
 * Measures what each systeminformation call costs on this machine: wall time and the longest
 * stall of the event loop while it runs (a call that shells out or reads synchronously blocks
 * MQTT keep-alives and commands). Run: `node dist/src/health/si-cost.js` (after `npx tsc -p .`).
 * The figures decide what the health sampler may call on the main thread (docs in sampler.ts).
 */
import { performance } from 'node:perf_hooks';

export interface CallCost {
  call: string;
  firstMs: number;
  repeatMs: number;
  maxLoopStallMs: number;
}

async function timeCall(fn: () => Promise<unknown>): Promise<{ ms: number; stall: number }> {
  let last = performance.now();
  let stall = 0;
  const tick = setInterval(() => {
    const n = performance.now();
    stall = Math.max(stall, n - last - 1);
    last = n;
  }, 1);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const n = performance.now();
  stall = Math.max(stall, n - last - 1);
  clearInterval(tick);
  return { ms, stall };
}

export async function measureSystemInformation(): Promise<CallCost[]> {
  const si = await import('systeminformation');
  const calls: [string, () => Promise<unknown>][] = [
    ['currentLoad', () => si.currentLoad()],
    ['mem', () => si.mem()],
    ['fsSize', () => si.fsSize()],
    ['cpuTemperature', () => si.cpuTemperature()],
    ['graphics', () => si.graphics()],
    ['time', async () => si.time()],
    ['processLoad(node)', () => si.processLoad('node')],
  ];
  const out: CallCost[] = [];
  for (const [name, fn] of calls) {
    const a = await timeCall(fn);
    const b = await timeCall(fn);
    out.push({ call: name, firstMs: round(a.ms), repeatMs: round(b.ms), maxLoopStallMs: round(Math.max(a.stall, b.stall)) });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (require.main === module) {
  measureSystemInformation().then((rows) => {
    for (const r of rows) console.log(`${r.call.padEnd(18)} first ${String(r.firstMs).padStart(7)} ms  repeat ${String(r.repeatMs).padStart(7)} ms  max event-loop stall ${String(r.maxLoopStallMs).padStart(6)} ms`);
  });
}
