/**
 * Every command a unit receives is in its audit log, accepted or refused, at the time of its
 * cmd-result: commands sent over a real Mosquitto to the daemon's real audit, link and session
 * components, then the audit file read back and its chain verified.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { verifyAuditFile } from '../../src/audit/log';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { startSessionUnit } from '../fixtures/session-unit';

t.test('every command and every refusal is audited', { skip: mosquittoAvailable() }, async (t) => {
  const u = await startSessionUnit(t, { unitId: 'van-audit' });
  t.ok(await u.link.link!.waitConnected(5000));
  const results = [
    await u.send('ping'),
    await u.send('end-session'), // no session: refused by the session ('failed')
    await u.send('start-session', { bundle: u.bundleB64(3) }),
    await u.send('adjudicate', { alertId: 'a-none', verdict: 'confirmed' }), // unknown alert
    await u.sendRaw('ping', JSON.stringify({ ...u.signed('ping'), sig: undefined })), // unsigned
    await u.sendRaw('end-session', '{"v":1,"type":"end-sess'), // not JSON
    await u.send('end-session'),
  ];
  t.same(results.map((r) => [r.type, r.accepted, r.reason ?? null]), [
    ['ping', true, null],
    ['end-session', false, 'failed'],
    ['start-session', true, null],
    ['adjudicate', false, 'failed'],
    ['ping', false, 'missing-signature'],
    ['end-session', false, 'malformed'], // refusals name the topic's type
    ['end-session', true, null],
  ]);

  const v = verifyAuditFile(u.auditFile);
  t.ok(v.ok, `the chain verifies: ${JSON.stringify(v.firstBroken)}`);
  const entries = readFileSync(u.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const commands = entries.filter((e) => String(e.type).startsWith('command.'));
  t.equal(commands.length, results.length, 'one audit entry per command');
  results.forEach((r, i) => {
    t.match(commands[i], {
      type: r.accepted ? 'command.accepted' : 'command.refused',
      commandId: r.commandId,
      commandType: r.type,
      accepted: r.accepted,
      at: r.at, // the entry's time is the cmd-result's
    }, `entry ${i}: ${r.type ?? 'unreadable'} ${r.accepted ? 'accepted' : r.reason}`);
    if (!r.accepted) t.equal(commands[i].reason, r.reason);
  });
  t.equal(u.logger.lines.filter((l) => l.msg === 'audit append failed').length, 0, 'no audit write failed');
  // the session's own events sit beside the commands that caused them
  const types = entries.map((e) => e.type);
  t.ok(types.indexOf('session.start') < types.lastIndexOf('command.accepted'));
  t.ok(types.includes('session.end'));
});
