import t from 'tap';
import { Lifecycle, StartCancelledError, StartupError, type Component } from '../../src/daemon/lifecycle';
import { createMemoryLogger } from '../../src/log';

function comp(name: string, events: string[], opts: { failStart?: boolean; failStop?: boolean; hangStop?: boolean; essential?: boolean } = {}): Component {
  return {
    name,
    essential: opts.essential,
    remedy: `fix ${name}`,
    async start() {
      events.push(`start ${name}`);
      if (opts.failStart) throw new Error(`${name} broke`);
    },
    async stop() {
      events.push(`stop ${name}`);
      if (opts.failStop) throw new Error(`${name} stuck`);
      if (opts.hangStop) await new Promise(() => {});
    },
  };
}

t.test('starts in order, stops in reverse', async (t) => {
  const ev: string[] = [];
  const lc = new Lifecycle([comp('audit', ev), comp('mqtt', ev), comp('camera', ev)], createMemoryLogger());
  const st = await lc.start();
  t.same(st.map((s) => s.state), ['running', 'running', 'running']);
  t.same(await lc.stop(), []);
  t.same(ev, ['start audit', 'start mqtt', 'start camera', 'stop camera', 'stop mqtt', 'stop audit']);
});

t.test('a non-essential failure is reported with its remedy and the rest still start', async (t) => {
  const ev: string[] = [];
  const log = createMemoryLogger();
  const lc = new Lifecycle([comp('audit', ev), comp('camera', ev, { failStart: true }), comp('health', ev)], log);
  const st = await lc.start();
  t.same(st.map((s) => s.state), ['running', 'failed', 'running']);
  t.equal(st[1].error, 'camera broke');
  t.equal(st[1].remedy, 'fix camera');
  t.ok(log.lines.some((l) => l.msg === 'component failed to start' && l.component === 'camera' && l.remedy === 'fix camera'));
  await lc.stop();
  t.same(ev.slice(3), ['stop health', 'stop camera', 'stop audit'], 'the failed one is stopped too, to release what it opened');
});

t.test('an essential failure stops what started and throws naming it', async (t) => {
  const ev: string[] = [];
  const lc = new Lifecycle([comp('audit', ev), comp('session', ev, { failStart: true, essential: true }), comp('health', ev)], createMemoryLogger());
  await t.rejects(lc.start(), new StartupError('session failed to start: session broke (fix session)'));
  t.same(ev, ['start audit', 'start session', 'stop session', 'stop audit']);
});

t.test('stop is bounded per component and failures are reported, not swallowed', async (t) => {
  const ev: string[] = [];
  const lc = new Lifecycle([comp('a', ev), comp('b', ev, { hangStop: true }), comp('c', ev, { failStop: true })], createMemoryLogger(), { stopMs: { b: 50 } });
  await lc.start();
  const failures = await lc.stop();
  t.same(failures, ['c: c stuck', 'b: b stop did not finish within 50 ms']);
  t.same(ev.slice(3), ['stop c', 'stop b', 'stop a'], 'a still stopped after b hung');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A component whose start takes `ms` (honouring its signal when `honours`), recording what runs. */
function slow(name: string, events: string[], ms: number, honours: boolean) {
  const c = {
    name,
    running: false,
    signalled: false,
    async start(signal: AbortSignal) {
      events.push(`start ${name}`);
      signal.addEventListener('abort', () => { c.signalled = true; });
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if (honours && signal.aborted) throw new Error(`${name} start cancelled`);
        await sleep(5);
      }
      c.running = true;
      events.push(`up ${name}`);
    },
    async stop() {
      events.push(`stop ${name}`);
      c.running = false;
    },
  };
  return c;
}

t.test('a start that overruns its budget gets its signal, is stopped, and does not run later', async (t) => {
  const ev: string[] = [];
  const log = createMemoryLogger();
  // ignores its signal and would finish after the budget: the lifecycle stops it once it has
  const stubborn = slow('camera', ev, 150, false);
  const lc = new Lifecycle([comp('audit', ev), stubborn, comp('health', ev)], log, { startMs: { camera: 30 }, cancelGraceMs: 1000 });
  const st = await lc.start();
  t.same(st.map((s) => s.state), ['running', 'failed', 'running']);
  t.equal(st[1].error, 'camera start did not finish within 30 ms');
  t.equal(stubborn.signalled, true, 'its AbortSignal fired');
  t.equal(stubborn.running, false, 'not left running after its late finish');
  t.same(ev, ['start audit', 'start camera', 'up camera', 'stop camera', 'start health']);
  await sleep(200);
  t.equal(stubborn.running, false, 'still not running later');
  await lc.stop();
  t.same(ev.slice(5), ['stop health', 'stop audit'], 'the overrun one is not stopped twice');
});

t.test('a start that never ends after its cancel is stopped anyway after the grace, and reported', async (t) => {
  const ev: string[] = [];
  const log = createMemoryLogger();
  const hung: Component = { name: 'mqtt', start: () => { ev.push('start mqtt'); return new Promise(() => {}); }, stop: async () => { ev.push('stop mqtt'); } };
  const lc = new Lifecycle([hung, comp('health', ev)], log, { startMs: { mqtt: 20 }, cancelGraceMs: 20 });
  const st = await lc.start();
  t.same(st.map((s) => s.state), ['failed', 'running']);
  t.same(ev, ['start mqtt', 'stop mqtt', 'start health']);
  t.ok(log.lines.some((l) => l.msg === 'component start did not end after its cancel: stopping it anyway' && l.component === 'mqtt'));
});

t.test('a stop during start cancels the start in progress, starts nothing more, stops what started in reverse', async (t) => {
  const ev: string[] = [];
  const vision = slow('camera+vision', ev, 5000, true);
  const lc = new Lifecycle([comp('audit', ev), comp('mqtt', ev), vision, comp('health', ev)], createMemoryLogger(), { startMs: { 'camera+vision': 10_000 } });
  const starting = lc.start();
  await sleep(50);
  const t0 = Date.now();
  const failures = await lc.stop();
  t.ok(Date.now() - t0 < 2000, `stop returned in ${Date.now() - t0} ms, not after the 5 s start`);
  t.same(failures, []);
  await t.rejects(starting, StartCancelledError);
  t.equal(vision.signalled, true);
  t.same(ev, ['start audit', 'start mqtt', 'start camera+vision', 'stop camera+vision', 'stop mqtt', 'stop audit'], 'health never started');
  t.same(lc.statuses().map((s) => s.state), ['stopped', 'stopped', 'stopped', 'stopped']);
});

t.test('a stop between two starts: the next one is not started', async (t) => {
  const ev: string[] = [];
  let lc: Lifecycle | undefined;
  let stopped: Promise<string[]> | undefined;
  const trigger: Component = { name: 'session', async start() { ev.push('start session'); stopped = lc!.stop(); }, async stop() { ev.push('stop session'); } };
  lc = new Lifecycle([comp('audit', ev), trigger, comp('health', ev)], createMemoryLogger());
  await t.rejects(lc.start(), new StartCancelledError('start cancelled: stopping while session was starting'));
  await stopped;
  t.same(ev, ['start audit', 'start session', 'stop session', 'stop audit']);
});

t.test('an essential start that overruns stops what started and throws naming it', async (t) => {
  const ev: string[] = [];
  const audit = { ...slow('audit', ev, 200, true), essential: true, remedy: 'check the disk' };
  const lc = new Lifecycle([comp('mqtt', ev), audit, comp('health', ev)], createMemoryLogger(), { startMs: { audit: 20 } });
  await t.rejects(lc.start(), new StartupError('audit failed to start: audit start did not finish within 20 ms (check the disk)'));
  t.same(ev, ['start mqtt', 'start audit', 'stop audit', 'stop mqtt']);
});

t.test('report(): run-time states of components and of supervised parts appear in statuses()', async (t) => {
  const ev: string[] = [];
  const lc = new Lifecycle([comp('audit', ev), comp('camera+vision', ev)], createMemoryLogger());
  await lc.start();
  lc.report('vision', 'running', undefined, 0);
  lc.report('vision', 'restarting', 'vision worker exited unexpectedly (code 1)', 1);
  lc.report('camera', 'running', undefined, 0);
  t.same(lc.statuses(), [
    { name: 'audit', state: 'running' },
    { name: 'camera+vision', state: 'running' },
    { name: 'vision', state: 'restarting', error: 'vision worker exited unexpectedly (code 1)', restarts: 1 },
    { name: 'camera', state: 'running', error: undefined, restarts: 0 },
  ]);
  lc.report('vision', 'running', undefined, 1);
  t.match(lc.statuses()[2], { name: 'vision', state: 'running', error: undefined, restarts: 1 }, 'running again, the count kept');
  lc.report('camera+vision', 'failed', 'camera down for good');
  t.match(lc.statuses()[1], { state: 'failed', error: 'camera down for good' });
  await lc.stop();
});
