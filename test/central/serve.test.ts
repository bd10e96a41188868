/**
 * central serve against a real Mosquitto (mutual TLS) and a unit link taking signed commands:
 * sign-in and its refusals, roles, CSRF, alerts with sealed crops (and one sealed to another key),
 * adjudication signed and echoed by the unit, retention of a false alert's crop, records with a
 * valid and a bad signature, export, the central audit, the live feed; and no crop bytes in the
 * clear on the broker.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { startConsole } from '../../src/central/serve';
import { sealCrop } from '../../src/comms/crop-seal';
import type { AlertMessage, DeploymentRecord } from '../../src/comms/messages';
import { createMemoryLogger } from '../../src/log';
import { packageRoot } from '../../src/paths';
import { testAlert } from '../helpers/alerts';
import { addUser, centralKeys, consoleConfig, photosDir, WebClient } from '../helpers/console';
import { connectClient, mosquittoAvailable, sleep, waitFor } from '../helpers/mosquitto';
import { startCommandUnit, tempDir } from '../helpers/unit';

const skip = mosquittoAvailable();

/** Ask until the answer is defined (the page would get it from the live feed). */
async function poll<T>(f: () => Promise<T | undefined | null>, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== null) return v;
    if (Date.now() > until) throw new Error(`no answer within ${ms} ms`);
    await sleep(100);
  }
}
const jpeg = readFileSync(path.join(packageRoot(), 'assets', 'demo', 'watchlist', 'lin-manuel-miranda', 'lin-manuel-miranda.jpg'));

t.test('central serve: console over a real broker', { skip, timeout: 90_000 }, async (t) => {
  const unitId = 'van-web';
  const unit = await startCommandUnit(t, unitId, { link: { alertCrops: true } });
  const { broker, link, session } = unit;
  t.ok(await link.waitConnected(5000));
  const dir = tempDir('lfr-console-');
  const keys = centralKeys(path.join(dir, 'central-keys'));
  const spy = await connectClient(broker, 'spy');
  t.teardown(() => { spy.end(true); });
  const raw: Buffer[] = [];
  spy.on('message', (_t, p) => raw.push(Buffer.from(p)));
  await spy.subscribeAsync('lfr/v1/#', { qos: 1 });

  const cfg = consoleConfig(broker, 'central-1', dir, {
    authorityKeyFile: unit.authority.privateFile,
    centralKeyFile: keys.privateFile,
    units: { [unitId]: { ed25519PublicKeyFile: path.join(unit.dir, 'unit-ed25519.pub') } },
    photosDir: photosDir(dir),
    web: { port: 0, maxFailedLogins: 3 },
    records: { timeZone: 'Europe/London' },
  });
  const c = await startConsole(cfg, createMemoryLogger('warn'));
  t.teardown(() => c.close());
  const officerPw = await addUser(c.store, 'pc-ward', 'officer');
  await addUser(c.store, 'sgt-khan', 'supervisor');
  const auditorPw = await addUser(c.store, 'aud-1', 'auditor');

  t.test('sign-in: wrong password refused, lock-out after 3 failures, cookie flags', async (t) => {
    const w = new WebClient(c.url);
    t.equal((await w.req('GET', '/api/alerts')).status, 401, 'nothing without signing in');
    let r = await w.signIn('pc-ward', 'wrong');
    t.equal(r.status, 401);
    t.equal(r.body.error, 'wrong user name or password');
    t.equal((await w.signIn('nobody', 'x')).body.error, 'wrong user name or password', 'an unknown user gets the same answer');
    await addUser(c.store, 'victim', 'officer', 'victim-password-1234');
    for (let i = 0; i < 3; i++) await w.signIn('victim', 'guess');
    r = await w.signIn('victim', 'victim-password-1234');
    t.equal(r.status, 423, 'locked even with the right password');
    t.match(r.body.error, /account locked after 3 failed sign-ins until/);
    r = await w.signIn('pc-ward', officerPw);
    t.equal(r.status, 200);
    t.match(r.setCookie, /^lfr_console=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/, 'HttpOnly, SameSite=Strict (no Secure on loopback HTTP)');
    t.match((await w.req('GET', '/api/me')).body, { user: 'pc-ward', role: 'officer', connected: true });
  });

  const officer = new WebClient(c.url);
  await officer.signIn('pc-ward', officerPw);

  const sealed = (a: AlertMessage, key = keys.publicKey): AlertMessage => ({ ...a, crop: { format: 'jpeg', sealed: sealCrop(jpeg, key, a.alertId), width: 300, height: 300 } });
  const a1 = sealed({ ...testAlert(unitId, 'al-web-1', 1), subjectRef: 'lin-manuel-miranda' });
  const a2 = sealed({ ...testAlert(unitId, 'al-web-2', 2) }, generateKeyPairSync('x25519').publicKey);
  const a3 = sealed({ ...testAlert(unitId, 'al-web-3', 3) });

  t.test('alerts arrive with their crops on the live feed; the crop opens only when sealed to our key', async (t) => {
    const res = await fetch(new URL('/api/events', c.url), { headers: { cookie: officer.cookie } });
    t.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    let feed = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        feed += Buffer.from(value).toString();
      }
    })();
    const sent = Date.now();
    link.publishAlert(a1);
    link.publishAlert(a2);
    link.publishAlert(a3);
    link.publishAlert(a1); // a redelivery
    await waitFor(() => feed.includes('al-web-1') && feed.includes('al-web-3'), 10_000, 'the alerts on the live feed');
    t.comment(`alert on the page's feed ${Date.now() - sent} ms after the unit published it`);
    await reader.cancel();
    await reading.catch(() => undefined);
    const list = (await officer.req('GET', '/api/alerts')).body as any[];
    t.same(list.map((a) => a.alertId).sort(), ['al-web-1', 'al-web-2', 'al-web-3'], 'each alert once');
    const v1 = list.find((a) => a.alertId === 'al-web-1');
    t.match(v1, { subjectRef: 'lin-manuel-miranda', score: 0.61, threshold: 0.42, crop: { width: 300, height: 300 }, cropProblem: null, photo: '/api/photos/lin-manuel-miranda' });
    const crop = await officer.req('GET', '/api/alerts/al-web-1/crop');
    t.equal(crop.status, 200);
    t.equal(crop.headers.get('content-type'), 'image/jpeg');
    t.ok(Buffer.compare(crop.body, jpeg) === 0, 'the crop opens with the central key to the JPEG the unit sealed');
    const photo = await officer.req('GET', '/api/photos/lin-manuel-miranda');
    t.equal(photo.status, 200, 'the enrolment photo from photosDir');
    const v2 = list.find((a) => a.alertId === 'al-web-2');
    t.match(v2.cropProblem, /sealed to another key/, 'a crop sealed to another key is shown as such');
    const bad = await officer.req('GET', '/api/alerts/al-web-2/crop');
    t.equal(bad.status, 422);
    t.match(bad.body.error, /sealed to another key/);
    t.equal((await officer.req('GET', '/api/photos/..%2F..%2Fetc')).status, 404, 'no path out of photosDir');
  });

  t.test('refusals: missing CSRF token, an officer trying supervisor actions, an auditor reading alerts', async (t) => {
    let r = await officer.req('POST', '/api/alerts/al-web-1/adjudicate', { verdict: 'confirmed' }, { csrf: false });
    t.equal(r.status, 403);
    t.match(r.body.error, /missing or wrong CSRF token/);
    r = await officer.req('POST', `/api/units/${unitId}/end-session`, {});
    t.equal(r.status, 403);
    t.equal(r.body.error, 'a officer may not do this (sessions.control)');
    t.equal((await officer.req('GET', '/api/units')).status, 403, 'officers do not see unit health');
    t.equal(session.calls.filter((x) => x.op === 'end').length, 0, 'nothing reached the unit');
    const aud = new WebClient(c.url);
    await aud.signIn('aud-1', auditorPw);
    t.equal((await aud.req('GET', '/api/alerts')).status, 403, 'auditors read records and the audit, not alerts');
    t.equal((await aud.req('GET', '/api/audit')).status, 200);
  });

  t.test('Confirm: signed command names the alert, the unit answers, the page shows it; False alert deletes the crop', async (t) => {
    let r = await officer.req('POST', '/api/alerts/al-web-1/adjudicate', { verdict: 'confirmed', note: 'stopped at the gate' });
    t.equal(r.status, 200, JSON.stringify(r.body));
    t.match(r.body, { verdict: 'confirmed', officer: 'pc-ward', note: 'stopped at the gate' });
    await waitFor(() => session.calls.some((x) => x.op === 'adjudicate'), 5000, 'the adjudication at the unit');
    t.same(session.calls.find((x) => x.op === 'adjudicate')!.args, ['al-web-1', 'confirmed']);
    const lastUnitResult = await poll(async () => ((await officer.req('GET', '/api/alerts')).body as any[]).find((a) => a.alertId === 'al-web-1').unitResult, 10_000);
    t.match(lastUnitResult, { accepted: true }, "the unit's answer is shown");
    r = await officer.req('POST', '/api/alerts/al-web-1/adjudicate', { verdict: 'false-alert' });
    t.equal(r.status, 409);
    t.match(r.body.error, /already adjudicated \(confirmed by pc-ward\)/);
    r = await officer.req('POST', '/api/alerts/al-web-3/adjudicate', { verdict: 'false-alert' });
    t.equal(r.status, 200);
    t.match(r.body, { crop: null, cropProblem: /deleted .* \(judged a false alert\)/ });
    t.equal((await officer.req('GET', '/api/alerts/al-web-3/crop')).status, 422, 'the false alert crop is gone');
    const audit = readFileSync(cfg.auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    t.match(audit.find((e) => e.type === 'alert.adjudicated' && e.alertId === 'al-web-1'), { officer: 'pc-ward', verdict: 'confirmed', unitId });
    t.match(audit.find((e) => e.type === 'crop.deleted'), { alertId: 'al-web-3', reason: 'judged a false alert', by: 'pc-ward' });
    t.ok(audit.some((e) => e.type === 'web.refused' && e.reason === 'csrf'), 'the refusals are audited');
  });

  t.test('records: a valid signature, and a bad one shown as such; in published form (place, local times, threshold with its rate and group); CSV and JSON export', async (t) => {
    const sup = new WebClient(c.url);
    await sup.signIn('sgt-khan', 'sgt-khan-password-1234');
    let r = await sup.req('POST', `/api/units/${unitId}/start-session?place=${encodeURIComponent('bad\nplace')}`, undefined, { raw: Buffer.from('BUNDLE') });
    t.equal(r.status, 400);
    t.match(r.body.error, /^place: one line of at most 120 characters/);
    r = await sup.req('POST', `/api/units/${unitId}/start-session?place=${encodeURIComponent('Oxford Circus, north exit')}`, undefined, { raw: Buffer.from('BUNDLE') });
    t.equal(r.status, 200, JSON.stringify(r.body));
    t.match(r.body, { accepted: true, result: { sessionId: 'sess-1' } }, "a supervisor starts a session; the unit's answer comes back");
    t.equal(session.calls.filter((x) => x.op === 'start').at(-1)!.args[0], 'BUNDLE', 'the bundle reached the unit');
    r = await sup.req('POST', `/api/units/${unitId}/end-session`, {});
    t.match(r.body, { accepted: true, result: { sessionId: 'sess-1' } }, 'and ends it');
    const rec: DeploymentRecord = {
      v: 1, sessionId: 'sess-1', unitId, bundleId: 'b-1', startedAt: '2025-07-01T09:00:00.000Z', endedAt: '2025-07-01T14:30:00.000Z', endedBy: 'command',
      watchlistSize: 2, threshold: 0.47461234, targetFalseAlertRate: 0.001, decidingGroup: 'sex=F',
      calibration: {
        createdAt: '2025-06-01T00:00:00.000Z', source: { name: 'test' }, interval: 'wilson-95-pairs',
        fmrByGroup: {
          overall: { impostorPairs: 19_000_000, falseMatches: 9500, fmr: 0.0005, interval: [0.00049, 0.00051], measured: true },
          'sex=F': { impostorPairs: 4_000_000, falseMatches: 1000, fmr: 0.00025, interval: [0.000235, 0.000266], measured: true },
        },
      },
      facesProcessed: 1200, tracks: 90, alerts: 3, confirmed: 1, falseAlerts: 1, unadjudicated: 1,
      wipe: { ok: true, keyZeroed: true, filesRemoved: [], leftovers: [] },
    } as unknown as DeploymentRecord;
    const signed = link.publishRecord(rec)!;
    const forged = { ...signed, sessionId: 'sess-forged', confirmed: 3 };
    await spy.publishAsync(`lfr/v1/${unitId}/record`, JSON.stringify(forged), { qos: 1 });
    const list = await poll(async () => {
      const l = (await sup.req('GET', '/api/records')).body as any[];
      return l.length === 2 ? l : undefined;
    }, 10_000);
    t.same(list.map((r) => [r.sessionId, r.signature]).sort(), [['sess-1', 'valid'], ['sess-forged', 'invalid']]);
    const one = await sup.req('GET', `/api/records/${unitId}/sess-1`);
    t.match(one.body, { signature: 'valid', place: 'Oxford Circus, north exit', record: { confirmed: 1, facesProcessed: 1200 } });
    t.match(one.body.published, {
      date: '2025-07-01', place: 'Oxford Circus, north exit', start: '10:00', end: '15:30', timeZone: 'Europe/London', duration: '5 h 30 min',
      watchlistSize: 2, facesProcessed: 1200, alerts: 3, confirmed: 1, falseAlerts: 1, falseAlertRateSeen: '1 in 1,200 faces',
      threshold: '0.475', thresholdFalseAlertRate: '1 in 1,000 faces', decidingGroup: 'sex=F',
      thresholdStatement: '0.475, set for a false-alert rate of 1 in 1,000 faces at a watchlist of 2; deciding group sex=F',
      signature: 'valid (unit key)',
    });
    t.same(one.body.published.groups.map((g: any) => [g.group, g.fmr, g.interval, g.deciding]), [
      ['overall', '1 in 2,000 comparisons', '1 in 2,000 to 1 in 2,000', false],
      ['sex=F', '1 in 4,000 comparisons', '1 in 4,300 to 1 in 3,800', true],
    ]);
    t.match((list.find((r) => r.sessionId === 'sess-forged')).published, { place: `unit ${unitId} (no place given)`, signature: 'INVALID: not as the unit signed it' });
    const csv = await sup.req('GET', '/api/records.csv');
    t.match(csv.headers.get('content-disposition'), /attachment; filename="deployment-records.csv"/);
    const lines = csv.body.toString().trim().split('\n');
    t.equal(lines[0], 'date,place,unit,session,start,end,time_zone,duration,duration_min,ended_by,watchlist_size,faces_processed,alerts,confirmed,false_alerts,unadjudicated,false_alert_rate_seen,threshold,threshold_false_alert_rate,deciding_group,wipe_ok,signature');
    t.ok(lines.includes(`2025-07-01,"Oxford Circus, north exit",${unitId},sess-1,10:00,15:30,Europe/London,5 h 30 min,330,command,2,1200,3,1,1,1,"1 in 1,200 faces",0.475,"1 in 1,000 faces",sex=F,yes,valid (unit key)`), lines.join('\n'));
    t.notOk(csv.body.toString().includes('0.4746'), 'no raw float threshold');
    t.ok(lines.some((l: string) => l.endsWith(',INVALID: not as the unit signed it')), 'the forged record is exported with its bad signature');
    const json = await sup.req('GET', '/api/records.json');
    t.match(json.body.find((r: any) => r.sessionId === 'sess-1'), { published: { threshold: '0.475' }, record: { threshold: 0.47461234 } }, 'JSON: the published form and the record as signed');
    const audit = readFileSync(cfg.auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    // the entry used to be typed 'start-session' (its command field overwrote the event type)
    t.match(audit.filter((e) => e.type === 'session.command'), [
      { unitId, command: 'start-session', officer: 'sgt-khan', place: 'Oxford Circus, north exit' },
      { unitId, command: 'end-session', officer: 'sgt-khan' },
    ], 'the session commands are audited as such, with the supervisor and the place');
    const units = await sup.req('GET', '/api/units');
    t.match(units.body, [{ unitId, status: { state: 'online' } }], 'supervisors see the units');
  });

  t.test('no crop bytes in the clear on the broker', async (t) => {
    await sleep(200);
    const all = Buffer.concat(raw);
    t.ok(all.length > 0 && raw.some((p) => p.includes('al-web-1')), 'the spy saw the alerts');
    for (const probe of [jpeg.subarray(0, 64), Buffer.from(jpeg.subarray(0, 48).toString('base64')), jpeg.subarray(2000, 2064)]) {
      t.equal(all.indexOf(probe), -1, 'no JPEG bytes, raw or base64');
    }
  });
});
