import t from 'tap';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { Outbox, openCommsDatabase } from '../../src/comms/outbox';
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
  t.equal(JSON.parse(ob2.peek(0, 1)[0].payload.toString()).crop.base64, Buffer.from('jpeg-bytes-1').toString('base64'));
  ob2.close();
  const other = open(file, {}, deriveOutboxKey(generateKeyPairSync('ed25519').privateKey));
  t.throws(() => other.peek(0, 1), /does not open with this unit's key/);
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
