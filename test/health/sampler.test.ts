import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildHealth, MachineProbe } from '../../src/health/sampler';
import { HealthReporter } from '../../src/health/reporter';
import { HealthConfigSchema } from '../../src/health/config';
import { createMemoryLogger } from '../../src/log';
import { tempDir } from '../helpers/unit';

function fakeSysfs(): { thermalDir: string; gpuLoadFile: string } {
  const root = tempDir('lfr-sysfs-');
  const thermalDir = path.join(root, 'class/thermal');
  for (const [zone, type, milli] of [['thermal_zone0', 'CPU-therm', '41500'], ['thermal_zone1', 'GPU-therm', '39000'], ['thermal_zone2', 'CPU-therm', '43000']]) {
    mkdirSync(path.join(thermalDir, zone), { recursive: true });
    writeFileSync(path.join(thermalDir, zone, 'type'), `${type}\n`);
    writeFileSync(path.join(thermalDir, zone, 'temp'), `${milli}\n`);
  }
  mkdirSync(path.join(thermalDir, 'cooling_device0'));
  mkdirSync(path.join(root, 'devices/gpu.0'), { recursive: true });
  const gpuLoadFile = path.join(root, 'devices/gpu.0/load');
  writeFileSync(gpuLoadFile, '734\n');
  return { thermalDir, gpuLoadFile };
}

t.test('a Jetson-like sysfs: temperatures by zone type and GPU load in percent', async (t) => {
  const sys = fakeSysfs();
  const probe = new MachineProbe({ ...HealthConfigSchema.parse(sys), diskPath: tempDir() }, createMemoryLogger());
  const m = await probe.sample();
  t.same(m.temperaturesC, { 'CPU-therm': 41.5, 'GPU-therm': 39, 'CPU-therm-thermal_zone2': 43 });
  t.same(m.gpu, { loadPercent: 73.4 });
  t.ok(m.disk && m.disk.totalBytes > 0 && m.disk.freeBytes <= m.disk.totalBytes, 'disk from statfs');
  t.ok(m.memory.totalBytes > 0 && m.memory.availableBytes > 0 && m.memory.processRssBytes > 0);
  t.equal(m.cpu.cores >= 1, true);
  t.type(m.cpu.usagePercent, 'number');
});

t.test('a machine without a Jetson GPU or thermal zones reports null / empty, and says once why', async (t) => {
  const logger = createMemoryLogger();
  const probe = new MachineProbe({ thermalDir: '/nonexistent/thermal', gpuLoadFile: '/nonexistent/gpu.0/load', diskPath: '/nonexistent/state' }, logger);
  const m = await probe.sample();
  t.equal(m.gpu, null);
  t.same(m.temperaturesC, {});
  t.equal(m.disk, null);
  await probe.sample();
  const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
  t.same(warnings.sort(), ['health: cannot read disk /nonexistent/state; reported as null', 'health: cannot read thermal zones in /nonexistent/thermal; reported as null'], 'each warned once, GPU absence is not a warning');
});

t.test('buildHealth assembles the message; the reporter publishes on start and every interval', async (t) => {
  const startedAt = new Date('2025-01-01T00:00:00Z');
  const inputs = {
    camera: { state: 'streaming', fpsIn: 25, fpsProcessed: 12.5, fpsDropped: 12.5, reconnectsLastHour: 1, stallsLastHour: 0, reason: null },
    latencyMs: { detect: 2.1, embed: 9.3 }, provider: 'cpu', outbox: { depth: 3, dropped: 0 }, session: { state: 'active' as const, sessionId: 's-1' }, mqttReconnects: 2,
  };
  const machine = { cpu: { load1: 1, load5: 1, cores: 2, usagePercent: 50 }, memory: { totalBytes: 2, availableBytes: 1, usedPercent: 50, processRssBytes: 1 }, disk: null, temperaturesC: {}, gpu: null };
  const h = buildHealth({ unitId: 'van-1', version: '0.1.0', startedAt }, inputs, machine, new Date('2025-01-01T01:00:00Z'));
  t.match(h, { v: 1, unitId: 'van-1', uptimeS: 3600, camera: { fpsIn: 25 }, provider: 'cpu', outbox: { depth: 3 }, session: { state: 'active' }, mqtt: { reconnects: 2 } });
  t.same([h.components, h.watchdog], [[], { enabled: false, withheld: false, reason: null }], 'components and watchdog: empty and not withheld when not fed');
  const fed = buildHealth({ unitId: 'van-1', version: '0.1.0', startedAt }, {
    ...inputs,
    components: [{ name: 'vision', state: 'restarting', reason: 'vision worker exited unexpectedly (code 1)', restarts: 2 }],
    watchdog: { enabled: true, withheld: true, reason: 'every frame failed for 20 s (600 frames)' },
  }, machine, new Date('2025-01-01T01:00:00Z'));
  t.same([fed.components, fed.watchdog], [[{ name: 'vision', state: 'restarting', reason: 'vision worker exited unexpectedly (code 1)', restarts: 2 }], { enabled: true, withheld: true, reason: 'every frame failed for 20 s (600 frames)' }], 'fed through as given');
  const published: unknown[] = [];
  const reporter = new HealthReporter({ identity: { unitId: 'van-1', version: '0.1.0', startedAt }, probe: { sample: async () => machine }, inputs: () => inputs, publish: (m) => published.push(m), intervalS: 0.05, logger: createMemoryLogger() });
  await reporter.start();
  t.equal(published.length, 1, 'one at start');
  await new Promise((r) => setTimeout(r, 180));
  await reporter.stop();
  t.ok(published.length >= 3, `then every interval (${published.length})`);
  const n = published.length;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(published.length, n, 'none after stop');
});
