import t from 'tap';
import { Lifecycle, StartupError, type Component } from '../../src/daemon/lifecycle';
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
  const lc = new Lifecycle([comp('a', ev), comp('b', ev, { hangStop: true }), comp('c', ev, { failStop: true })], createMemoryLogger(), { startMs: 1000, stopMs: 50 });
  await lc.start();
  const failures = await lc.stop();
  t.same(failures, ['c: c stuck', 'b: b stop did not finish within 50 ms']);
  t.same(ev.slice(3), ['stop c', 'stop b', 'stop a'], 'a still stopped after b hung');
});
