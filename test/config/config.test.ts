import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { applyEnvOverrides, ConfigError, loadConfig, parseConfig } from '../../src/config';

const tmp = mkdtempSync(path.join(tmpdir(), 'lfr-config-'));
const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};

t.test('embedded defaults are complete and valid', async (t) => {
  const cfg = loadConfig();
  t.same(cfg.vision.providers, ['tensorrt', 'cuda', 'cpu']);
  t.equal(cfg.vision.intraOpThreads, 1);
  t.equal(cfg.vision.quality.minInterOcularPx, 14);
  t.equal(cfg.vision.minFaceSidePx, 28);
  t.equal(cfg.unit.id, 'dev-unit');
});

t.test('a file overrides defaults; nested defaults stay', async (t) => {
  const cfg = loadConfig({ file: file('a.json', JSON.stringify({ vision: { intraOpThreads: 2, quality: { maxYawDeg: 30 } } })) });
  t.equal(cfg.vision.intraOpThreads, 2);
  t.equal(cfg.vision.quality.maxYawDeg, 30);
  t.equal(cfg.vision.quality.minSharpness, 5);
});

t.test('unknown keys are refused with their path', async (t) => {
  const err = t.throws(() => loadConfig({ file: file('b.json', JSON.stringify({ vision: { quality: { maxYaw: 3 } }, bogus: 1 })) })) as ConfigError;
  t.ok(err instanceof ConfigError);
  t.match(err.message, /unknown key 'vision\.quality\.maxYaw'/);
  t.match(err.message, /unknown key 'bogus'/);
});

t.test('bad values are refused with the key path and the reason', async (t) => {
  t.throws(() => parseConfig({ vision: { intraOpThreads: 0 } }), /vision\.intraOpThreads: .*>=\s*1/);
  t.throws(() => parseConfig({ vision: { providers: ['gpu'] } }), /vision\.providers\.0: /);
  t.throws(() => parseConfig({ unit: { id: 'bad id!' } }), /unit\.id: unit id: 1-64 letters/);
});

t.test('environment overrides: LFR_EDGE__SECTION__KEY, JSON-parsed values', async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__INTRA_OP_THREADS: '2', LFR_EDGE__VISION__PROVIDERS: '["cpu"]', LFR_EDGE__UNIT__ID: 'van-7', OTHER: 'x' } });
  t.equal(cfg.vision.intraOpThreads, 2);
  t.same(cfg.vision.providers, ['cpu']);
  t.equal(cfg.unit.id, 'van-7');
  t.throws(() => loadConfig({ env: { LFR_EDGE__VISION__NO_SUCH: '1' } }), /unknown key 'vision\.noSuch'/);
  t.throws(() => applyEnvOverrides({ unit: 'x' }, { LFR_EDGE__UNIT__ID: 'a' }), /crosses a non-object value at 'unit'/);
});

t.test('unreadable, non-JSON and non-object files are clear errors', async (t) => {
  t.throws(() => loadConfig({ file: path.join(tmp, 'missing.json') }), /cannot read config file .*missing\.json/);
  t.throws(() => loadConfig({ file: file('c.json', '{ nope') }), /c\.json is not valid JSON/);
  t.throws(() => loadConfig({ file: file('d.json', '[1,2]') }), /must hold a JSON object/);
});

t.test('cross-section rule: the command size limit must carry the largest bundle in base64', async (t) => {
  t.throws(
    () => parseConfig({ watchlist: { maxBundleBytes: 64 * 1024 * 1024 }, mqtt: { commands: { maxPayloadBytes: 16 * 1024 * 1024 } } }),
    /mqtt\.commands\.maxPayloadBytes: must be at least \d+ bytes to carry a bundle of watchlist\.maxBundleBytes/,
  );
  t.doesNotThrow(() => parseConfig({ watchlist: { maxBundleBytes: 8 * 1024 * 1024 }, mqtt: { commands: { maxPayloadBytes: 12 * 1024 * 1024 } } }));
});
