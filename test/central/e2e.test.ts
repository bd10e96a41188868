/**
 * The officers' console end to end, in a real headless Chromium (Debian's, driven by
 * playwright-core; no browser download): Mosquitto with mutual TLS, a unit daemon (`lfr-edge run`)
 * on the committed Hamilton clip with a session from the bundled photos and a central key, and
 * central serve. An officer signs in, sees the alert with its crop, clicks Confirm; the unit's
 * record then counts it confirmed and the page shows the record with a valid signature.
 * Screenshots go to a temp folder (printed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { connectCentral } from '../../src/central/client';
import { startConsole } from '../../src/central/serve';
import { sendCommand } from '../../src/central/send';
import { createMemoryLogger } from '../../src/log';
import { packageRoot } from '../../src/paths';
import { loadPrivateKey } from '../../src/watchlist/keys';
import { addUser, centralKeys, consoleConfig, photosDir } from '../helpers/console';
import { collect, mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';

const CHROMIUM = '/usr/bin/chromium';
const root = packageRoot();
const cli = path.join(root, 'dist', 'src', 'cli.js');
const lfr = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  if (r.status !== 0) throw new Error(`lfr-edge ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const chromiumSkip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (scripts/install-system-deps installs Debian's chromium)`;
if (chromiumSkip && process.env.CI === 'true') throw new Error(`${chromiumSkip}: in CI every test must run`);
const skip = mosquittoAvailable() ?? chromiumSkip;

t.test('console e2e: sign in, alert with crop, Confirm, the record counts it, valid signature', { skip, timeout: 150_000 }, async (t) => {
  const dir = tempDir('lfr-e2e-');
  const shots = tempDir('lfr-e2e-shots-');
  t.comment(`screenshots in ${shots}`);
  const keys = path.join(dir, 'keys');
  const authority = path.join(dir, 'authority');
  lfr(['keys', 'init', '--dir', keys]);
  lfr(['keys', 'authority', '--dir', authority]);
  const central = centralKeys(path.join(dir, 'central'));
  const bundle = path.join(dir, 'watchlist.lfwl');
  lfr(['watchlist', 'build', '--photos', path.join(root, 'assets', 'demo', 'watchlist'), '--unit-pub', path.join(keys, 'unit-x25519.pub'),
    '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', 'van-e2e', '--category', 'wanted']);

  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const unitCert = broker.clientCert('van-e2e');
  const config = {
    unit: { id: 'van-e2e' },
    paths: { runtimeDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state'), keysDir: keys },
    mqtt: {
      url: broker.url, tls: { caFile: broker.caFile, certFile: unitCert.cert, keyFile: unitCert.key },
      healthIntervalS: 2, keepaliveS: 5, reconnectMinS: 0.2, reconnectMaxS: 1,
      centralPublicKeyFile: central.publicFile,
      commands: { authorityPublicKeyFile: path.join(authority, 'authority-ed25519.pub') },
    },
    camera: { template: 'file', settings: { location: path.join(root, 'assets', 'demo', 'hamilton-clip.mp4'), realtime: true } },
    vision: { providers: ['cpu'] },
    logging: { level: 'warn' },
  };
  const cfgFile = path.join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(config));

  const cfg = consoleConfig(broker, 'central-e2e', dir, {
    authorityKeyFile: path.join(authority, 'authority-ed25519.key'),
    centralKeyFile: central.privateFile,
    units: { 'van-e2e': { ed25519PublicKeyFile: path.join(keys, 'unit-ed25519.pub') } },
    photosDir: photosDir(dir),
  });
  const c = await startConsole(cfg, createMemoryLogger('warn'));
  t.teardown(() => c.close());
  const password = await addUser(c.store, 'pc-ward', 'officer');

  const spy = await connectCentral({ broker: broker.url, ca: broker.caFile, cert: broker.clientCert('spy').cert, key: broker.clientCert('spy').key });
  t.teardown(() => spy.end(true));
  const seen = collect(spy);
  await spy.subscribeAsync('lfr/v1/van-e2e/#', { qos: 1 });
  const of = (kind: string) => seen.filter((m) => m.topic === `lfr/v1/van-e2e/${kind}`).map((m) => m.json);

  const child = spawn(process.execPath, [cli, 'run', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  await waitFor(() => of('health').some((h) => h.camera?.state === 'streaming'), 60_000, `the unit streaming:\n${out}`);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(c.url);
  await page.fill('input[name=name]', 'pc-ward');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#alerts:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#feed')?.textContent?.startsWith('live'));
  await page.screenshot({ path: path.join(shots, '1-signed-in.png') });

  const authKey = loadPrivateKey(path.join(authority, 'authority-ed25519.key'), ['ed25519']);
  const start = await sendCommand(spy, { type: 'start-session', unitId: 'van-e2e', body: { bundle: readFileSync(bundle).toString('base64') } }, authKey, 30);
  t.ok(start.outcome.kind === 'result' && start.outcome.result.accepted, 'session started');

  await waitFor(() => of('alert').length > 0, 60_000, 'an alert from the unit');
  const raisedAt = Date.now();
  const alert = of('alert')[0];
  t.ok(alert.crop?.sealed?.ct, 'the alert carries a sealed crop');
  t.notOk('base64' in alert.crop, 'no clear crop field on the broker');
  const card = page.locator(`article[data-id="${alert.alertId}"]`);
  await card.waitFor({ timeout: 10_000 });
  await page.waitForFunction((id) => {
    const img = document.querySelector(`article[data-id="${id}"] img.crop`) as HTMLImageElement | null;
    return Boolean(img && img.complete && img.naturalWidth > 0);
  }, alert.alertId, { timeout: 10_000 });
  const shownMs = Date.now() - raisedAt;
  t.comment(`alert with its crop on the page ${shownMs} ms after it reached the broker`);
  t.ok(shownMs < 10_000, 'within a few seconds');
  const size = await card.locator('img.crop').evaluate((img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
  t.ok(size[0] > 112 && size[0] <= 360, `a crop with context, ${size[0]}x${size[1]} (not the 112x112 aligned face)`);
  t.match(await card.textContent(), new RegExp(`${alert.subjectRef}.*score .* ≥ threshold`));
  await page.screenshot({ path: path.join(shots, '2-alert.png') });
  await card.locator('input').fill('seen at the stage door');
  await card.locator('button.confirm').click();
  await page.waitForFunction((id) => /Confirmed by pc-ward .* unit: accepted/.test(document.querySelector(`article[data-id="${id}"] .outcome`)?.textContent ?? ''), alert.alertId, { timeout: 15_000 });
  await page.screenshot({ path: path.join(shots, '3-confirmed.png') });

  const end = await sendCommand(spy, { type: 'end-session', unitId: 'van-e2e', body: {} }, authKey, 30);
  t.ok(end.outcome.kind === 'result' && end.outcome.result.accepted, 'session ended');
  await waitFor(() => of('record').length > 0, 15_000, 'the record');
  const rec = of('record')[0];
  t.ok(rec.confirmed >= 1, `the unit's record counts the alert confirmed (${rec.confirmed} of ${rec.alerts})`);
  await page.goto(`${c.url}#records`);
  const link = page.locator('#record-rows a').first();
  await link.waitFor({ timeout: 10_000 });
  await link.click();
  await page.waitForSelector('#record:not([hidden]) #record-facts dd');
  t.equal(await page.textContent('#record-signature'), 'signature valid (unit key)');
  t.match(await page.textContent('#record-facts'), new RegExp(`Confirmed${rec.confirmed}`));
  await page.screenshot({ path: path.join(shots, '4-record.png') });
  t.ok(existsSync(path.join(shots, '4-record.png')));
});
