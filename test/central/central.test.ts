import t from 'tap';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { writeFileSync, chmodSync } from 'node:fs';
import { mosquittoAvailable, sleep, waitFor } from '../helpers/mosquitto';
import { startCommandUnit } from '../helpers/unit';
import { testAlert } from '../helpers/alerts';
import { send, watch } from '../../src/commands/central';
import { main } from '../../src/cli';
import { formatMessage } from '../../src/central/format';

const skip = mosquittoAvailable();

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env: {} } };
}

t.test('central send and watch against a unit over a real Mosquitto', { skip }, async (t) => {
  const unitId = 'van-central';
  const { broker, dir, authority, impostor, link, session } = await startCommandUnit(t, unitId);
  t.ok(await link.waitConnected(5000));
  const c = broker.clientCert('central');
  const tls = ['--broker', broker.url, '--ca', broker.caFile, '--cert', c.cert, '--key', c.key];

  t.test('send: accepted -> exit 0; refused -> exit 1 with the reason; no unit -> exit 3', async (t) => {
    let r = capture();
    t.equal(await send(['ping', '--unit', unitId, '--authority-key', authority.privateFile, ...tls], r.io), 0, r.err.join(''));
    t.match(r.out.join(''), /ping .*: accepted by van-central/);
    r = capture();
    const bundle = path.join(dir, 'w.bundle');
    writeFileSync(bundle, 'BUNDLE-BYTES');
    t.equal(await send(['start-session', '--unit', unitId, '--authority-key', authority.privateFile, '--bundle', bundle, ...tls], r.io), 0);
    t.equal(session.calls.at(-1)?.args[0], 'BUNDLE-BYTES');
    r = capture();
    t.equal(await send(['end-session', '--unit', unitId, '--authority-key', impostor.privateFile, ...tls], r.io), 1);
    t.match(r.err.join(''), /refused by van-central: bad-signature: the signature does not verify/);
    t.equal(session.calls.length, 1, 'the refused end-session changed nothing');
    r = capture();
    t.equal(await send(['ping', '--unit', 'van-absent', '--authority-key', authority.privateFile, '--timeout', '0.5', ...tls], r.io), 3);
    t.match(r.err.join(''), /no cmd-result from unit van-absent .* within 0.5 s/);
  });

  t.test('send: user errors are clear', async (t) => {
    let r = capture();
    t.equal(await main(['central', 'send', 'adjudicate', '--unit', unitId, '--authority-key', authority.privateFile, '--alert', 'a-1', '--verdict', 'maybe', ...tls], r.io), 2);
    t.match(r.err.join(''), /--verdict must be confirmed or false-alert, not 'maybe'/);
    r = capture();
    t.equal(await main(['central', 'send', 'reboot', '--unit', unitId, ...tls], r.io), 2);
    t.match(r.err.join(''), /central send needs one command: start-session, end-session, adjudicate, ping/);
    r = capture();
    const loose = path.join(dir, 'loose.key');
    writeFileSync(loose, authority.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    chmodSync(loose, 0o644);
    t.equal(await main(['central', 'send', 'ping', '--unit', unitId, '--authority-key', loose, ...tls], r.io), 1);
    t.match(r.err.join(''), /--authority-key: .*readable by other users/);
    r = capture();
    t.equal(await main(['central', 'send', 'ping', '--unit', unitId, '--authority-key', authority.privateFile, '--broker', broker.url, '--ca', broker.caFile], r.io), 1);
    t.match(r.err.join(''), /cannot connect to mqtts:\/\/localhost:\d+/, 'no client certificate: a clear connection error');
  });

  t.test('watch shows status, health and alerts, and adjudicates an alert typed on stdin', async (t) => {
    const r = capture();
    const input = new PassThrough();
    let stop!: () => void;
    const stopped = new Promise<void>((res) => (stop = res));
    const running = watch(['--unit', '+', '--authority-key', authority.privateFile, ...tls], r.io, { stop: stopped, input });
    await waitFor(() => r.out.join('').includes('STATUS'), 5000, 'the retained status');
    link.publishAlert(testAlert(unitId, 'w-1', 4));
    await waitFor(() => r.out.join('').includes('w-1'), 5000, 'the alert line');
    t.match(r.out.join(''), /van-central\s+STATUS\s+online v0.1.0-test \(retained\)/);
    t.match(r.out.join(''), /ALERT\s+w-1 subject S-4 \(wanted\) score 0.610 >= 0.420, track 4, 3 frames/);
    input.write('f w-1\n');
    await waitFor(() => session.calls.some((c) => c.op === 'adjudicate'), 5000, 'the adjudication to reach the unit');
    t.same(session.calls.at(-1)?.args, ['w-1', 'false-alert']);
    await waitFor(() => /CMD-RESULT\s+adjudicate \S+ accepted/.test(r.out.join('')), 5000, 'the cmd-result line');
    input.write('c unknown-alert\n');
    await sleep(100);
    t.equal(session.calls.at(-1)?.args[0], 'w-1', 'an alert id never seen is not sent to a unit when watching +');
    t.match(r.err.join(''), /alert unknown-alert has not been seen here/);
    stop();
    t.equal(await running, 0);
  });

  t.test('watch says when the broker drops, keeps running and reconnects (issue 11 item 10)', async (t) => {
    const r = capture();
    let stop!: () => void;
    let ended = false;
    const running = watch(['--unit', unitId, ...tls], r.io, { stop: new Promise<void>((res) => (stop = res)) }).finally(() => (ended = true));
    await waitFor(() => r.out.join('').includes('STATUS'), 5000, 'the retained status');
    await broker.stop();
    await waitFor(() => /connection to mqtts:\/\/localhost:\d+ lost: reconnecting every 2 s/.test(r.err.join('')), 10_000, 'the lost-connection line');
    await sleep(500);
    t.equal(ended, false, 'the watch does not end (it used to exit 0 silently)');
    await broker.start();
    await waitFor(() => r.err.join('').includes('reconnected to'), 15_000, 'the reconnection');
    t.ok(await link.waitConnected(15_000), 'the unit is back too');
    const before = r.out.length;
    link.publishAlert(testAlert(unitId, 'after-outage', 5));
    await waitFor(() => r.out.slice(before).join('').includes('after-outage'), 10_000, 'an alert after the outage');
    stop();
    t.equal(await running, 0);
  });

  t.test('watch --json prints one JSON object per message', async (t) => {
    const r = capture();
    let stop!: () => void;
    const running = watch(['--unit', unitId, '--json', ...tls], r.io, { stop: new Promise<void>((res) => (stop = res)) });
    await waitFor(() => r.out.length > 0, 5000, 'a message');
    const first = JSON.parse(r.out[0]);
    t.match(first, { topic: `lfr/v1/${unitId}/status`, unitId, kind: 'status', retained: true, payload: { state: 'online' } });
    stop();
    await running;
  });
});

t.test('the console view formats every kind', async (t) => {
  t.equal(formatMessage('elsewhere/x', {}), undefined);
  t.match(formatMessage('lfr/v1/u1/status', { state: 'offline', version: '1', at: '2025-01-01T10:00:00Z' }), /10:00:00 u1\s+STATUS\s+offline \(connection lost: Last Will\)/);
  t.match(formatMessage('lfr/v1/u1/record', { sessionId: 's', startedAt: 'a', endedAt: '2025-01-01T11:00:00Z', endedBy: 'command', facesProcessed: 9, tracks: 3, alerts: 2, confirmed: 1, falseAlerts: 1, unadjudicated: 0, wipe: { ok: true } }), /faces 9, tracks 3, alerts 2 \(confirmed 1, false 1, open 0\), wipe ok/);
  t.match(formatMessage('lfr/v1/u1/health', {
    at: '2025-01-01T10:00:00Z', uptimeS: 60, camera: { state: 'streaming', fpsIn: 30, fpsProcessed: 0, fpsFailed: 29.5, fpsDropped: 0.5 },
    components: [{ name: 'camera', state: 'running', reason: null, restarts: 0 }, { name: 'vision', state: 'failed', reason: 'detector model ultraface-320: x is missing', restarts: 3 }],
    watchdog: { enabled: true, withheld: true, reason: 'every frame failed for 21 s (630 frames)' },
  }), /camera streaming 30\/0\/29\.5\/0\.5 fps in\/proc\/failed\/drop.*; vision failed \(3 restarts\): detector model ultraface-320: x is missing; WATCHDOG WITHHELD: every frame failed for 21 s \(630 frames\)/);
  t.match(formatMessage('lfr/v1/u1/cmd-result', { type: 'ping', commandId: 'x', accepted: false, reason: 'expired', message: 'late' }), /REFUSED expired: late/);
  t.match(formatMessage('lfr/v1/u1/session', { state: 'active', sessionId: 's1', watchlistSize: 5, threshold: 0.4, targetFalseAlertRate: 0.001 }), /active s1 watchlist 5 threshold 0.400 @ false-alert rate 0.001/);
});
