/** central serve's configuration: defaults, paths, environment overrides, and every refusal naming its key. */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadCentralConfig, parseCentralConfig } from '../../src/central/config';
import { ConfigError } from '../../src/config';
import { tempDir } from '../helpers/unit';

const base = { mqtt: { url: 'mqtts://broker.example:8883' }, authorityKeyFile: 'keys/authority-ed25519.key' };

function problems(raw: unknown): string {
  try {
    parseCentralConfig(raw, 'central.json', '/etc/lfr-central');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

t.test('defaults, and relative paths resolved against the file', async (t) => {
  const c = parseCentralConfig({ ...base, centralKeyFile: 'keys/central-x25519.key', photosDir: 'photos', units: { 'van-7': { ed25519PublicKeyFile: 'units/van-7.pub' } } }, 'central.json', '/etc/lfr-central');
  t.match(c, {
    instance: 'central', mqtt: { protocol: '5', shareGroup: 'lfr-central', keepaliveS: 30, reconnectS: 2, tls: { rejectUnauthorized: true } },
    store: { kind: 'sqlite', file: '/etc/lfr-central/central.sqlite' }, authorityKeyFile: '/etc/lfr-central/keys/authority-ed25519.key',
    centralKeyFile: '/etc/lfr-central/keys/central-x25519.key', photosDir: '/etc/lfr-central/photos', auditFile: '/etc/lfr-central/central-audit.jsonl',
    units: { 'van-7': { ed25519PublicKeyFile: '/etc/lfr-central/units/van-7.pub' } },
    web: { host: '127.0.0.1', port: 8443, sessionHours: 8, maxFailedLogins: 5, lockMinutes: 15 },
    retention: { confirmedCropDays: 31, unadjudicatedGraceHours: 24, sweepIntervalS: 60 }, records: { timeZone: 'UTC' }, commandTimeoutS: 30,
  });
  t.equal(parseCentralConfig({ ...base, records: { timeZone: 'Europe/London' } }).records.timeZone, 'Europe/London');
  t.same(parseCentralConfig({ ...base, store: { kind: 'postgres', url: 'postgres://c@db/lfr' } }).store, { kind: 'postgres', url: 'postgres://c@db/lfr' });
});

t.test('refusals name the key and what is wrong', async (t) => {
  t.match(problems({ mqtt: { url: 'broker:8883' } }), /central\.json: mqtt\.url: must be a broker URL such as mqtts:\/\/broker:8883/);
  t.match(problems({ mqtt: { url: 'broker:8883' } }), /central\.json: authorityKeyFile: /, 'every problem at once');
  t.match(problems({ ...base, web: { host: '0.0.0.0' } }), /central\.json: web\.host: without web\.tls the page is served over plain HTTP, so only on loopback \(behind a reverse proxy\), not on '0\.0\.0\.0'/);
  t.match(problems({ ...base, mqtt: { ...base.mqtt, tls: { certFile: 'c.crt' } } }), /central\.json: mqtt\.tls: certFile and keyFile go together/);
  t.match(problems({ ...base, store: { kind: 'postgres', url: 'mysql://x' } }), /central\.json: store\.url: must be a postgres:\/\/ URL/);
  t.match(problems({ ...base, records: { timeZone: 'Mars/Olympus' } }), /central\.json: records\.timeZone: 'Mars\/Olympus' is not an IANA time zone \(e\.g\. 'Europe\/London', 'UTC'\)/);
  t.match(problems({ ...base, mqtt: { ...base.mqtt, protocol: '4' } }), /central\.json: mqtt\.protocol: /);
  t.match(problems({ ...base, retention: { confirmedCropDays: -1 } }), /central\.json: retention\.confirmedCropDays: /);
  t.match(problems({ ...base, webb: {} }), /central\.json: \(top level\): .*webb/, 'an unknown key is refused');
});

t.test('loading a file: environment overrides, unreadable and non-object files', async (t) => {
  const dir = tempDir('lfr-central-cfg-');
  const file = path.join(dir, 'central.json');
  writeFileSync(file, JSON.stringify(base));
  const c = loadCentralConfig(file, { LFR_EDGE_CENTRAL__WEB__PORT: '9443', LFR_EDGE_CENTRAL__RECORDS__TIME_ZONE: 'Europe/London', LFR_EDGE__WEB__PORT: '1' });
  t.equal(c.web.port, 9443, 'LFR_EDGE_CENTRAL__ overrides the file (the unit\'s LFR_EDGE__ does not)');
  t.equal(c.records.timeZone, 'Europe/London');
  t.equal(c.authorityKeyFile, path.join(dir, 'keys', 'authority-ed25519.key'));
  t.throws(() => loadCentralConfig(file, { LFR_EDGE_CENTRAL__WEB__PORT: '"x"' }), /web\.port: /);
  t.throws(() => loadCentralConfig(path.join(dir, 'nope.json'), {}), /cannot read the central configuration .*nope\.json: ENOENT/);
  writeFileSync(path.join(dir, 'list.json'), '[]');
  t.throws(() => loadCentralConfig(path.join(dir, 'list.json'), {}), /list\.json: the central configuration must be a JSON object/);
  writeFileSync(path.join(dir, 'bad.json'), '{');
  t.throws(() => loadCentralConfig(path.join(dir, 'bad.json'), {}), /cannot read the central configuration .*bad\.json: /);
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o000);
    t.throws(() => loadCentralConfig(file, {}), /EACCES/);
  }
});
