/**
 * SIGTERM during start-up, against the real daemon (`lfr-edge run` as a child process, a real
 * Mosquitto with mutual TLS, the real vision worker and a videotestsrc camera): the start in
 * progress is cancelled, nothing after it starts, what started stops in reverse, no READY, no
 * camera process is left behind, and the process exits 0 within the stop budget.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ConfigSchema } from '../../src/config/schema';
import { daemonBudgets } from '../../src/daemon/budgets';
import { packageRoot } from '../../src/paths';
import { mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';
import { cli, makeUnitKeys, unitBrokerConfig } from '../helpers/daemon-unit';

const root = packageRoot();
const node = process.execPath;
const skip = mosquittoAvailable();

interface Line { msg: string; component?: string; [k: string]: unknown }

/** Processes whose command line contains `marker` (the camera child carries its pipeline in argv). */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

async function unitConfig(t: Test, width: number, daemon: Record<string, unknown> = {}) {
  const dir = tempDir('lfr-startcancel-');
  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const config = {
    ...unitBrokerConfig({ unitId: 'van-sc', dir, keys: makeUnitKeys(dir), broker }),
    // an odd frame size: the camera child's argv carries it, so a leftover one can be found
    camera: { template: 'test', settings: { width, height: 180, fps: 10 } },
    vision: { providers: ['cpu'] },
    logging: { level: 'info' },
    daemon,
  };
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return { file, marker: `width=${width},height=180` };
}

/** Start the daemon, send SIGTERM when `when` first matches a log line, collect everything. */
async function sigtermWhen(t: Test, cfgFile: string, when: (l: Line) => boolean) {
  const child = spawn(node, [cli, 'run', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const lines: Line[] = [];
  let buf = '';
  let stderr = '';
  let signalledAt = 0;
  let signalIndex = -1;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let l: Line;
      try { l = JSON.parse(text) as Line; } catch { continue; }
      lines.push(l);
      if (!signalledAt && when(l)) {
        signalledAt = Date.now();
        signalIndex = lines.length - 1;
        child.kill('SIGTERM');
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, lines, stderr, exitAfterMs: Date.now() - signalledAt, signalIndex, signalled: signalledAt > 0 };
}

const started = (lines: Line[]) => lines.filter((l) => l.msg === 'component started').map((l) => l.component);
const stopped = (lines: Line[]) => lines.filter((l) => l.msg === 'component stopped').map((l) => l.component);
const budgets = daemonBudgets(ConfigSchema.parse({}).daemon);

t.test('SIGTERM while the vision worker loads: camera+vision cancelled, health never starts, the rest stopped in reverse', { skip, timeout: 120_000 }, async (t) => {
  const { file, marker } = await unitConfig(t, 322);
  const r = await sigtermWhen(t, file, (l) => l.msg === 'component started' && l.component === 'session');
  t.ok(r.signalled, 'SIGTERM sent once the session component had started');
  t.equal(r.code, 0, `exit code 0 (stderr: ${r.stderr.slice(0, 500)})`);
  t.ok(r.exitAfterMs < budgets.stopTotalMs, `exited ${r.exitAfterMs} ms after SIGTERM (stop budget ${budgets.stopTotalMs} ms)`);
  t.same(started(r.lines), ['audit', 'mqtt', 'session'], 'nothing started after the signal');
  t.ok(r.lines.some((l) => l.msg === 'component start cancelled' && l.component === 'camera+vision'), 'the vision start was cancelled');
  t.same(stopped(r.lines), ['camera+vision', 'session', 'mqtt', 'audit'], 'stopped in reverse, the cancelled one first');
  t.notOk(r.lines.some((l) => l.msg === 'daemon ready'), 'no READY');
  t.notOk(r.lines.some((l) => l.msg === 'camera state'), 'the camera never started');
  t.notOk(r.lines.some((l) => l.level === 'error'), `no errors: ${JSON.stringify(r.lines.filter((l) => l.level === 'error'))}`);
  t.same(processesWith(marker), [], 'no camera process left');
});

t.test('SIGTERM while waiting for the first frame: the camera process is gone, no READY', { skip, timeout: 120_000 }, async (t) => {
  const { file, marker } = await unitConfig(t, 326);
  let cameraPids: number[] = [];
  const r = await sigtermWhen(t, file, (l) => {
    if (l.msg === 'component started' && l.component === 'camera+vision') {
      cameraPids = processesWith(marker);
      return true;
    }
    return false;
  });
  t.ok(r.signalled);
  t.equal(r.code, 0, `exit code 0 (stderr: ${r.stderr.slice(0, 500)})`);
  t.ok(r.exitAfterMs < budgets.stopTotalMs, `exited ${r.exitAfterMs} ms after SIGTERM (stop budget ${budgets.stopTotalMs} ms)`);
  t.equal(cameraPids.length, 1, 'the camera process was running when the signal came');
  // the signal lands while health starts (its first sample) or just after it: either way in reverse
  const cancelled = r.lines.filter((l) => l.msg === 'component start cancelled').map((l) => l.component);
  t.same(stopped(r.lines), [...cancelled, ...started(r.lines).reverse()], `everything that started stopped in reverse (cancelled: ${cancelled.join(',') || 'none'})`);
  t.same(stopped(r.lines).slice(-4), ['camera+vision', 'session', 'mqtt', 'audit']);
  t.notOk(r.lines.some((l) => l.msg === 'daemon ready'), 'no READY');
  await waitFor(() => processesWith(marker).length === 0, 5000, 'the camera process to be gone');
  t.same(processesWith(marker), [], 'no camera process left');
});

t.test('a camera+vision start that overruns its budget is cancelled and stopped: the daemon runs degraded, no camera ever starts', { skip, timeout: 120_000 }, async (t) => {
  // 50 ms: the vision worker cannot load its models in that time
  const { file, marker } = await unitConfig(t, 330, { startBudgetS: { 'camera+vision': 0.05 } });
  const r = await sigtermWhen(t, file, (l) => l.msg === 'daemon ready');
  t.ok(r.signalled, 'READY came (degraded), then SIGTERM');
  t.equal(r.code, 0);
  const ready = r.lines.find((l) => l.msg === 'daemon ready')!;
  t.match(ready.status, /^degraded: camera\+vision failed \(camera\+vision start did not finish within 50 ms\)/, `READY status: ${ready.status}`);
  t.match(r.lines.find((l) => l.msg === 'component failed to start'), { component: 'camera+vision', error: 'camera+vision start did not finish within 50 ms' });
  t.ok(r.lines.some((l) => l.msg === 'component stopped' && l.component === 'camera+vision'), 'the overrun start was stopped');
  t.same(started(r.lines), ['audit', 'mqtt', 'session', 'health'], 'the rest started');
  t.notOk(r.lines.some((l) => l.msg === 'camera state'), 'the camera never started: the late start did not complete');
  t.notOk(r.lines.some((l) => l.msg === 'onnx session ready' && Date.parse(String(l.time)) > Date.parse(String(ready.time))), 'no model finished loading after READY');
  t.same(processesWith(marker), [], 'no camera process');
});
