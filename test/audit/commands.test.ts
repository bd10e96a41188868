/**
 * Every command a unit receives is in its audit log, accepted or refused, at the time of its
 * cmd-result: commands sent over a real Mosquitto to the daemon's real audit, link and session
 * components, then the audit file read back and its chain verified.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { entryHash, verifyAuditFile } from '../../src/audit/log';
import { runCli } from '../helpers/cli';
import { mosquittoAvailable, waitFor } from '../helpers/mosquitto';
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

t.test('the signed record anchors the audit log: audit verify --record (good, tampered log, tampered record)', { skip: mosquittoAvailable() }, async (t) => {
  const u = await startSessionUnit(t, { unitId: 'van-anchor' });
  t.ok(await u.link.link!.waitConnected(5000));
  t.match(await u.send('start-session', { bundle: u.bundleB64(2) }), { accepted: true });
  t.match(await u.send('end-session'), { accepted: true });
  await waitFor(() => u.of('record').length > 0, 10_000, 'the record');
  const record = u.of('record')[0];
  const entries = readFileSync(u.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; type: string; hash: string });
  const end = entries.find((e) => e.type === 'session.end')!;
  t.same(record.auditHead, { seq: end.seq, hash: end.hash }, 'the record names the session.end entry');
  await u.send('ping'); // the log goes on after the record: still good

  const dir = path.join(u.kit.root, 'check');
  mkdirSync(dir);
  const recFile = path.join(dir, 'record.json');
  writeFileSync(recFile, JSON.stringify(record));
  const pub = path.join(u.kit.keysDir, 'unit-ed25519.pub');
  let r = await runCli(['audit', 'verify', u.auditFile, '--record', recFile, '--unit-pub', pub]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`signature valid; the log holds its entry ${end.seq} unchanged`));

  // tampered log: the chain rewritten from the session.end entry on (verifies on its own)
  const copy = path.join(dir, 'audit.log');
  const lines = readFileSync(u.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  let prev = String(lines[end.seq - 2].hash);
  const forged = lines.map((e, i) => {
    if (i < end.seq - 1) return e;
    const { hash: _h, ...body } = { ...e, prev, ...(i === end.seq - 1 ? { endedBy: 'expiry' } : {}) };
    const hash = entryHash(body);
    prev = hash;
    return { ...body, hash };
  });
  writeFileSync(copy, forged.map((e) => JSON.stringify(e)).join('\n') + '\n');
  r = await runCli(['audit', 'verify', copy]);
  t.equal(r.code, 0, `a rewritten chain verifies on its own: that is why the record anchors it ${r.stderr}`);
  r = await runCli(['audit', 'verify', copy, '--record', recFile, '--unit-pub', pub]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`the log's entry ${end.seq} has hash \\w+, the signed record says ${end.hash}: the log was altered or rewritten`));
  // the log cut short before the anchor
  writeFileSync(copy, lines.slice(0, end.seq - 1).map((e) => JSON.stringify(e)).join('\n') + '\n');
  r = await runCli(['audit', 'verify', copy, '--record', recFile, '--unit-pub', pub]);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`the log has no verified entry ${end.seq}`));

  // tampered record: the anchor moved to fit a forged log, or a count changed
  for (const change of [{ auditHead: { seq: end.seq, hash: forged[end.seq - 1].hash } }, { alerts: 5 }]) {
    writeFileSync(recFile, JSON.stringify({ ...record, ...change }));
    r = await runCli(['audit', 'verify', u.auditFile, '--record', recFile, '--unit-pub', pub]);
    t.equal(r.code, 1, `record changed: ${Object.keys(change)[0]}`);
    t.match(r.stderr, /the signature does not verify with .*: the record was altered or signed by another unit/);
  }
  r = await runCli(['audit', 'verify', u.auditFile, '--record', recFile]);
  t.equal(r.code, 2, 'a record is only trusted with the unit key');
  t.match(r.stderr, /--record and --unit-pub go together/);
});
