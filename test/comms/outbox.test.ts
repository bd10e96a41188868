import t from 'tap';
import path from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { CHECKPOINT_EVERY, Outbox, openCommsDatabase } from '../../src/comms/outbox';
import { deriveOutboxKey } from '../../src/comms/seal';
import { createMemoryLogger } from '../../src/log';
import { testAlert } from '../helpers/alerts';
import { tempDir } from '../helpers/unit';

const key = deriveOutboxKey(generateKeyPairSync('ed25519').privateKey);
const open = (file: string, over: Partial<{ maxRows: number; maxBytes: number }> = {}, k = key) =>
  new Outbox(openCommsDatabase(file), { sealKey: k, maxRows: 1000, maxBytes: 10_000_000, logger: createMemoryLogger(), ...over });

t.test('rows keep their order, survive reopening, and go only when removed', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const ob = open(file);
  for (let i = 0; i < 5; i++) ob.add('alert', `a-${i}`, testAlert('u', `a-${i}`, i));
  ob.add('record', 'sess-1', { v: 1, sessionId: 'sess-1' });
  ob.close();
  const ob2 = open(file);
  t.equal(ob2.depth(), 6);
  const rows = ob2.peek(0, 100);
  t.same(rows.map((r) => r.msgId), ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'sess-1']);
  ob2.remove(rows[0].seq);
  t.same(ob2.peek(0, 2).map((r) => r.msgId), ['a-1', 'a-2']);
  t.same(ob2.peek(rows[2].seq, 10).map((r) => r.msgId), ['a-3', 'a-4', 'sess-1'], 'peek after a cursor');
  ob2.close();
});

t.test('a row holding a face crop is sealed at rest and opens only with the unit key', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const ob = open(file);
  ob.add('alert', 'c-1', testAlert('u', 'c-1', 1, true));
  ob.add('alert', 'p-1', testAlert('u', 'p-1', 2));
  ob.close();
  const raw = new Database(file, { readonly: true });
  const rows = raw.prepare('SELECT msg_id, sealed, payload FROM outbox ORDER BY seq').all() as { msg_id: string; sealed: number; payload: Buffer }[];
  raw.close();
  t.equal(rows[0].sealed, 1);
  t.notOk(rows[0].payload.includes(Buffer.from(Buffer.from('jpeg-bytes-1').toString('base64'))), 'no crop bytes in the file');
  t.notOk(rows[0].payload.includes(Buffer.from('S-1')), 'nor the subject reference');
  t.equal(rows[1].sealed, 0, 'rows without a crop are plain');
  const ob2 = open(file);
  t.equal(JSON.parse(ob2.peek(0, 1)[0].payload.toString()).crop.sealed.ct, Buffer.from('jpeg-bytes-1').toString('base64'));
  ob2.close();
  const other = open(file, {}, deriveOutboxKey(generateKeyPairSync('ed25519').privateKey));
  t.same(other.peek(0, 10).map((r) => r.msgId), ['p-1'], 'with another key the sealed row cannot be read: set aside, the plain one still goes');
  t.match(other.deadLetterRows(), [{ msgId: 'c-1', reason: /does not open with this unit's key/ }]);
  other.close();
});

t.test('bound policy: crops of the oldest alerts first, then oldest cmd-results, then oldest alerts; records never', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const alertBytes = JSON.stringify(testAlert('u', 'a-00', 0)).length;
  const ob = open(file, { maxRows: 10, maxBytes: alertBytes * 7 + 200 });
  ob.add('record', 'sess-0', { v: 1, sessionId: 'sess-0' });
  ob.add('cmd-result', 'cmd-0', { v: 1, commandId: 'cmd-0' });
  for (let i = 0; i < 3; i++) ob.add('alert', `c-${i}`, testAlert('u', `c-${i}`, i, true));
  const cropsBefore = ob.dropped().crops;
  t.equal(cropsBefore, 0);
  for (let i = 0; i < 4; i++) ob.add('alert', `a-${i}`, testAlert('u', `a-${i}`, 10 + i));
  // by now the byte bound was passed: crops went first, oldest first
  const d1 = ob.dropped();
  t.ok(d1.crops >= 1, `crops dropped first (${d1.crops})`);
  t.equal(d1.alerts, 0, 'no alert dropped while crops could go');
  const first = JSON.parse(ob.peek(0, 10).find((r) => r.msgId === 'c-0')!.payload.toString());
  t.equal(first.crop, undefined);
  t.equal(first.cropDropped, true);
  for (let i = 0; i < 6; i++) ob.add('alert', `b-${i}`, testAlert('u', `b-${i}`, 20 + i));
  const d2 = ob.dropped();
  t.equal(d2.cmdResults, 1, 'then the cmd-result');
  t.ok(d2.alerts > 0, `then the oldest alerts (${d2.alerts})`);
  const ids = ob.peek(0, 100).map((r) => r.msgId);
  t.equal(ids[0], 'sess-0', 'the record stays');
  t.equal(ids.at(-1), 'b-5', 'the newest alert stays');
  t.ok(ob.depth() <= 10);
  for (let i = 0; i < 12; i++) ob.add('record', `sess-r${i}`, { v: 1, sessionId: `sess-r${i}` });
  t.equal(ob.peek(0, 100).filter((r) => r.msgId.startsWith('sess-')).length, 13, 'records are kept even past the bound');
  ob.close();
});

/** Flip one byte in the middle of a row's stored payload (a damaged sector, a bad write). */
function corrupt(file: string, msgId: string, replacement?: Buffer): void {
  const raw = new Database(file);
  const r = raw.prepare('SELECT payload FROM outbox WHERE msg_id = ?').get(msgId) as { payload: Buffer };
  const p = replacement ?? Buffer.from(r.payload);
  if (!replacement) p[p.length >> 1] ^= 0x55;
  raw.prepare('UPDATE outbox SET payload = ? WHERE msg_id = ?').run(p, msgId);
  raw.close();
}

t.test('an unreadable row goes to the dead letters (metadata only) and delivery goes on', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const ob = open(file);
  ob.add('alert', 'a-0', testAlert('u', 'a-0', 0));
  ob.add('alert', 'c-1', testAlert('u', 'c-1', 1, true)); // sealed: its seal will not open
  ob.add('alert', 'a-2', testAlert('u', 'a-2', 2));
  ob.add('alert', 'a-3', testAlert('u', 'a-3', 3)); // plain: its JSON will be cut
  ob.add('record', 'sess-1', { v: 1, sessionId: 'sess-1' });
  ob.close();
  corrupt(file, 'c-1');
  corrupt(file, 'a-3', Buffer.from('{"v":1,"alertId":"a-3","subj'));
  const ob2 = open(file);
  t.equal(ob2.depth(), 5);
  let rows: ReturnType<typeof ob2.peek> = [];
  t.doesNotThrow(() => (rows = ob2.peek(0, 2)), 'peek does not throw on a bad row');
  t.same(rows.map((r) => r.msgId), ['a-0', 'a-2'], 'the bad row is skipped, the limit still filled');
  t.same(ob2.peek(rows[1].seq, 10).map((r) => r.msgId), ['sess-1']);
  t.equal(ob2.deadLetters(), 2);
  t.equal(ob2.depth(), 3, 'dead letters leave the outbox');
  const dead = ob2.deadLetterRows();
  t.match(dead, [{ kind: 'alert', msgId: 'c-1', reason: /does not open/ }, { kind: 'alert', msgId: 'a-3', reason: /not JSON/ }]);
  ob2.close();
  const raw = new Database(file, { readonly: true });
  t.same(raw.prepare('SELECT * FROM outbox_dead').columns().map((c) => c.name).includes('payload'), false, 'no payload is kept for a dead letter');
  raw.close();
  const ob3 = open(file);
  t.equal(ob3.deadLetters(), 2, 'counted across restarts');
  t.same(ob3.peek(0, 10).map((r) => r.msgId), ['a-0', 'a-2', 'sess-1']);
  ob3.close();
});

t.test('over maxBytes, an unreadable crop row does not stop new rows', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const alertBytes = JSON.stringify(testAlert('u', 'c-00', 0, true)).length;
  const ob = open(file, { maxBytes: alertBytes * 3 + 100 });
  ob.add('alert', 'c-0', testAlert('u', 'c-0', 0, true));
  ob.add('alert', 'c-1', testAlert('u', 'c-1', 1, true));
  ob.close();
  corrupt(file, 'c-0');
  const ob2 = open(file, { maxBytes: alertBytes * 3 + 100 });
  t.doesNotThrow(() => {
    for (let i = 2; i < 6; i++) ob2.add('alert', `c-${i}`, testAlert('u', `c-${i}`, i, true));
  });
  t.equal(ob2.deadLetters(), 1);
  t.ok(ob2.dropped().crops >= 1, 'the readable crops are dropped as the policy says');
  t.equal(ob2.peek(0, 100).at(-1)!.msgId, 'c-5');
  ob2.close();
});

t.test('counters follow commits: a write that fails leaves no phantom rows', async (t) => {
  const file = path.join(tempDir(), 'outbox.sqlite');
  const ob = open(file, { maxRows: 10 });
  for (let i = 0; i < 10; i++) ob.add('alert', `a-${i}`, testAlert('u', `a-${i}`, i));
  // the 11th row makes the bound policy count a drop; that write fails, as on a full disk
  const raw = new Database(file);
  raw.exec("CREATE TRIGGER fail_drop BEFORE INSERT ON outbox_dropped BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  raw.close();
  t.throws(() => ob.add('alert', 'a-10', testAlert('u', 'a-10', 10)), /disk is full/);
  t.equal(ob.depth(), 10, 'depth as the file has it');
  t.equal(ob.peek(0, 100).length, 10);
  t.equal(ob.sizeBytes(), ob.peek(0, 100).reduce((n, r) => n + r.payload.length, 0), 'bytes as the file has them');
  ob.close();
});

t.test('delivered rows leave no readable trace: secure_delete and WAL checkpoints', async (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'outbox.sqlite');
  const ob = open(file);
  const refs = Array.from({ length: CHECKPOINT_EVERY + 36 }, (_, i) => `subject-ref-${process.pid}-${i}-x`);
  const seqs = refs.map((ref, i) => ob.add('alert', `a-${i}`, { ...testAlert('u', `a-${i}`, i), subjectRef: ref }));
  const scan = () => {
    const hits = new Set<string>();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      let bytes: Buffer;
      try { bytes = readFileSync(f); } catch { continue; }
      for (const r of refs) if (bytes.includes(Buffer.from(r))) hits.add(r);
    }
    return hits.size;
  };
  t.equal(scan(), refs.length, 'control: every queued alert is found by the scan');
  seqs.slice(0, CHECKPOINT_EVERY).forEach((s) => ob.remove(s));
  t.equal(scan(), 36, `${CHECKPOINT_EVERY} delivered (a checkpoint): only the 36 still queued are readable`);
  seqs.slice(CHECKPOINT_EVERY).forEach((s) => ob.remove(s));
  t.equal(scan(), 0, 'all delivered: none in the db, -wal or -shm');
  t.equal(statSync(`${file}-wal`).size, 0, 'the WAL was truncated once the outbox emptied');
  ob.add('alert', 'late', { ...testAlert('u', 'late', 99), subjectRef: refs[0] });
  ob.remove(ob.peek(0, 1)[0].seq);
  ob.close();
  t.equal(scan(), 0, 'after a clean stop: none');
});
