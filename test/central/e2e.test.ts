/**
 * The officers' console end to end, in a real headless Chromium (Debian's, driven by
 * playwright-core; no browser download): Mosquitto with mutual TLS, a unit daemon (`lfr-edge run`)
 * on the committed Hamilton clip with a central key, and central serve. A supervisor starts the
 * session from the page with the bundle file and a place; an officer (after a wrong password)
 * signs in, sees the alert with its crop, clicks Confirm; the officer's page is refused the
 * supervisor's action and a request without the CSRF token; an alert sealed to another key shows
 * as such; the supervisor ends the session from the page; the unit's record then counts the alert
 * confirmed and the page shows it in published form with a valid signature, and a forged record as
 * INVALID. Screenshots go to a temp folder (printed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { connectCentral } from '../../src/central/client';
import { sealCrop } from '../../src/comms/crop-seal';
import { startConsole } from '../../src/central/serve';
import { createMemoryLogger } from '../../src/log';
import { packageRoot } from '../../src/paths';
import { addUser, centralKeys, consoleConfig, photosDir } from '../helpers/console';
import { testAlert } from '../helpers/alerts';
import { collect, mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';
import { cli, lfr, makeUnitKeys, unitBrokerConfig } from '../helpers/daemon-unit';

const CHROMIUM = '/usr/bin/chromium';
const root = packageRoot();
const chromiumSkip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (scripts/install-system-deps installs Debian's chromium)`;
if (chromiumSkip && process.env.CI === 'true') throw new Error(`${chromiumSkip}: in CI every test must run`);
const skip = mosquittoAvailable() ?? chromiumSkip;

t.test('console e2e: supervisor starts the session, officer confirms the alert with its crop, refusals, supervisor ends it, the record in published form', { skip, timeout: 180_000 }, async (t) => {
  const dir = tempDir('lfr-e2e-');
  const shots = tempDir('lfr-e2e-shots-');
  t.comment(`screenshots in ${shots}`);
  const unitKeys = makeUnitKeys(dir);
  const { keys, authority } = unitKeys;
  const central = centralKeys(path.join(dir, 'central'));
  const bundle = path.join(dir, 'watchlist.lfwl');
  lfr(['watchlist', 'build', '--photos', path.join(root, 'assets', 'demo', 'watchlist'), '--unit-pub', path.join(keys, 'unit-x25519.pub'),
    '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', 'van-e2e', '--category', 'wanted']);

  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const config = {
    ...unitBrokerConfig({ unitId: 'van-e2e', dir, keys: unitKeys, broker, healthIntervalS: 2, mqtt: { centralPublicKeyFile: central.publicFile } }),
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
  const supPassword = await addUser(c.store, 'sgt-khan', 'supervisor');

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
  const signIn = async (name: string, pw: string) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } }); // its own cookies
    const page = await ctx.newPage();
    await page.goto(c.url);
    await page.fill('input[name=name]', name);
    await page.fill('input[name=password]', pw);
    await page.click('button[type=submit]');
    return page;
  };

  // the supervisor starts the session from the page: the bundle file and the place
  const sup = await signIn('sgt-khan', supPassword);
  await sup.waitForSelector('#nav:not([hidden])');
  await sup.goto(`${c.url}#units`);
  const unitRow = sup.locator('#unit-rows tr', { hasText: 'van-e2e' });
  await unitRow.waitFor({ timeout: 10_000 });
  await unitRow.locator('input[type=file]').setInputFiles(bundle);
  await unitRow.locator('input.place').fill('Hamilton, stage door');
  await unitRow.locator('button', { hasText: 'Start' }).click();
  await sup.waitForFunction(() => /van-e2e: start-session (accepted|REFUSED)/.test(document.querySelector('#unit-msg')?.textContent ?? ''), undefined, { timeout: 40_000 });
  t.equal(await sup.textContent('#unit-msg'), 'van-e2e: start-session accepted', 'the supervisor started the session; the unit accepted it');
  await sup.screenshot({ path: path.join(shots, '0-supervisor-started.png') });

  // the officer: a wrong password first, then the right one
  const page = await signIn('pc-ward', 'not-the-password');
  await page.waitForFunction(() => (document.querySelector('#signin-error')?.textContent ?? '') !== '');
  t.equal(await page.textContent('#signin-error'), 'wrong user name or password', 'a wrong password is refused on the page');
  t.equal(await page.isVisible('#nav'), false, 'nothing behind the sign-in');
  await page.fill('input[name=name]', 'pc-ward');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#alerts:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#feed')?.textContent?.startsWith('live'));
  t.equal(await page.isVisible('#nav a[href="#units"]'), false, 'an officer has no Units view');
  await page.screenshot({ path: path.join(shots, '1-signed-in.png') });

  // an officer's page trying the supervisor's action, and a request without the CSRF token
  const refused = await page.evaluate(async () => {
    const me = await (await fetch('/api/me')).json();
    const post = async (p: string, csrf: boolean) => {
      const r = await fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': me.csrf } : {}) }, body: '{}' });
      return [r.status, (await r.json()).error];
    };
    return { endSession: await post('/api/units/van-e2e/end-session', true), noCsrf: await post('/api/alerts/any/adjudicate', false) };
  });
  t.same(refused.endSession, [403, 'a officer may not do this (sessions.control)'], 'an officer cannot end a session');
  t.match(refused.noCsrf, [403, /missing or wrong CSRF token/], 'no CSRF token, no change');

  // an alert whose crop was sealed to another key (a unit provisioned with a wrong central key)
  const stray = { ...testAlert('van-e2e', 'al-other-key', 9), crop: { format: 'jpeg' as const, sealed: sealCrop(readFileSync(path.join(root, 'assets', 'demo', 'watchlist', 'barack-obama', readdirSync(path.join(root, 'assets', 'demo', 'watchlist', 'barack-obama'))[0])), generateKeyPairSync('x25519').publicKey, 'al-other-key'), width: 200, height: 200 } };
  await spy.publishAsync('lfr/v1/van-e2e/alert', JSON.stringify(stray), { qos: 1 });
  const strayCard = page.locator('article[data-id="al-other-key"]');
  await strayCard.waitFor({ timeout: 10_000 });
  t.match(await strayCard.locator('.none').first().textContent(), /sealed to another key: the unit was provisioned with a different central key/, 'shown as such, not hidden');
  t.equal(await strayCard.locator('img.crop').count(), 0, 'and no image');

  await waitFor(() => of('alert').some((a) => a.alertId !== 'al-other-key'), 60_000, 'an alert from the unit');
  const raisedAt = Date.now();
  const alert = of('alert').find((a) => a.alertId !== 'al-other-key');
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

  // the supervisor ends the session from the page
  await sup.goto(`${c.url}#units`);
  await unitRow.waitFor({ timeout: 10_000 });
  await unitRow.locator('button', { hasText: 'End session' }).click();
  await sup.waitForFunction(() => /van-e2e: end-session (accepted|REFUSED)/.test(document.querySelector('#unit-msg')?.textContent ?? ''), undefined, { timeout: 40_000 });
  t.equal(await sup.textContent('#unit-msg'), 'van-e2e: end-session accepted', 'the supervisor ended the session');
  await waitFor(() => of('record').length > 0, 15_000, 'the record');
  const rec = of('record')[0];
  t.ok(rec.confirmed >= 1, `the unit's record counts the alert confirmed (${rec.confirmed} of ${rec.alerts})`);
  // a forged copy of the record (counts changed): shown with its bad signature, not hidden
  await spy.publishAsync('lfr/v1/van-e2e/record', JSON.stringify({ ...rec, sessionId: 'sess-forged', confirmed: rec.confirmed + 5 }), { qos: 1 });

  for (let until = Date.now() + 10_000; (await c.store.listRecords()).length < 2;) {
    if (Date.now() > until) throw new Error('the two records did not reach the store');
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.goto(`${c.url}#records`);
  await page.waitForFunction(() => document.querySelectorAll('#record-rows tr').length === 2, undefined, { timeout: 10_000 });
  const forgedRow = page.locator('#record-rows tr', { hasText: 'no place given' });
  t.equal(await forgedRow.locator('td.sig-invalid').textContent(), 'INVALID: not as the unit signed it', 'the forged record is listed as INVALID');
  const realRow = page.locator('#record-rows tr', { hasText: 'Hamilton, stage door' });
  t.equal(await realRow.locator('td.sig-valid').textContent(), 'valid (unit key)');
  await page.screenshot({ path: path.join(shots, '4-records.png') });
  await realRow.locator('a').click();
  await page.waitForSelector('#record:not([hidden]) #record-facts dd');
  t.equal(await page.textContent('#record-signature'), 'Signature valid (unit key)');
  const facts = await page.locator('#record-facts').evaluate((dl) => {
    const out: Record<string, string> = {};
    const kids = [...dl.children];
    for (let i = 0; i + 1 < kids.length; i += 2) out[kids[i].textContent ?? ''] = kids[i + 1].textContent ?? '';
    return out;
  });
  t.match(facts, {
    Date: /^\d{4}-\d{2}-\d{2}$/, Place: 'Hamilton, stage door', Unit: 'van-e2e', 'Watchlist size': '2', Confirmed: String(rec.confirmed),
    Alerts: String(rec.alerts), 'Faces processed': String(rec.facesProcessed), 'False alerts': String(rec.falseAlerts),
    Threshold: new RegExp(`^${rec.threshold.toFixed(3).replace('.', '\\.')}, set for a false-alert rate of 1 in [\\d,]+ faces at a watchlist of 2; `),
  }, 'the record in published form');
  t.notOk(facts.Threshold.includes(String(rec.threshold)) && String(rec.threshold).length > 5, `no raw float (${rec.threshold})`);
  await page.screenshot({ path: path.join(shots, '5-record.png') });
  t.ok(existsSync(path.join(shots, '5-record.png')));
  const audit = readFileSync(cfg.auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.same(audit.filter((e) => e.type === 'session.command').map((e) => [e.command, e.officer]), [['start-session', 'sgt-khan'], ['end-session', 'sgt-khan']], 'both session commands audited with the supervisor');
  t.ok(audit.some((e) => e.type === 'web.refused' && e.user === 'pc-ward' && e.reason === 'role'), "the officer's refused action is audited");
});
