/** Health reports a wall clock that jumped: injected clocks step back 5 h and forward. */
import t from 'tap';
import { ClockWatch } from '../../src/health/clock';
import { HealthReporter } from '../../src/health/reporter';
import { createMemoryLogger } from '../../src/log';
import type { HealthMessage } from '../../src/comms/messages';

const H = 3600_000;

t.test('ClockWatch: wall and monotonic move together until the wall clock is stepped', async (t) => {
  let wall = Date.parse('2030-01-01T08:00:00Z');
  let mono = 7_000;
  const w = new ClockWatch(() => new Date(wall), () => mono, 30);
  t.match(w.sample(), { offsetS: 0, jumped: false, jumps: 0 });
  wall += 60_000; mono += 60_000 + 400; // NTP slewing: 0.4 s in a minute
  t.match(w.sample(), { offsetS: -0.4, jumped: false }, 'slewing is not a jump');
  wall -= 5 * H; // stepped back 5 h
  t.match(w.sample(), { offsetS: -18000.4, jumped: true, jumps: 1, largestS: 18000.4, thresholdS: 30 });
  mono += 10_000; wall += 10_000;
  t.match(w.sample(), { jumped: true, jumps: 1 }, 'still off: the same jump');
  wall += 5 * H; // corrected
  t.match(w.sample(), { jumped: false, jumps: 1, largestS: 18000.4 }, 'corrected; the largest offset stays in the report');
  wall += 5 * H; // stepped forward 5 h
  t.match(w.sample(), { jumped: true, jumps: 2 });
  t.ok(w.sample().offsetS > 17_999);
});

t.test('the health message carries the clock and the jump is logged once', async (t) => {
  let wall = Date.parse('2030-01-01T08:00:00Z');
  let mono = 0;
  const published: HealthMessage[] = [];
  const logger = createMemoryLogger();
  const machine = { cpu: { load1: 0, load5: 0, cores: 2, usagePercent: null }, memory: { totalBytes: 1, availableBytes: 1, usedPercent: 0, processRssBytes: 1 }, disk: null, temperaturesC: {}, gpu: null };
  const r = new HealthReporter({
    identity: { unitId: 'van-1', version: 't', startedAt: new Date(wall) },
    probe: { sample: async () => machine },
    inputs: () => ({ camera: null, latencyMs: {}, provider: 'cpu', outbox: { depth: 0, dropped: 0 }, session: { state: 'idle', sessionId: null }, mqttReconnects: 0 }),
    publish: (h) => published.push(h),
    intervalS: 3600,
    logger,
    now: () => new Date(wall),
    monotonicMs: () => mono,
    maxClockDriftS: 30,
  });
  await r.tick();
  t.match(published.at(-1)!.clock, { offsetS: 0, jumped: false });
  wall -= 5 * H; mono += 1000; wall += 1000;
  await r.tick();
  await r.tick();
  t.match(published.at(-1)!.clock, { offsetS: -18000, jumped: true, jumps: 1, thresholdS: 30 });
  t.equal(logger.lines.filter((l) => /wall clock jumped/.test(String(l.msg))).length, 1, 'one warning for one jump');
});
