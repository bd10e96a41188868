import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditError, AuditLog, canonicalJson, GENESIS_HASH, segmentPath, verifyAuditFile } from '../../src/audit/log';

const T0 = new Date('2026-03-01T08:00:00.000Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const tmpFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'lfr-audit-')), 'state', 'audit.log');

function sampleLog(file: string): AuditLog {
  const log = new AuditLog(file);
  log.append({ type: 'bundle.accepted', bundleId: 'b-1', sessionId: 's-1' }, at(0));
  log.append({ type: 'session.start', sessionId: 's-1', watchlistSize: 2 }, at(1));
  log.append({ type: 'alert', alertId: 'a-1', sessionId: 's-1', subjectRef: 'CASE-1', score: 0.61 }, at(2));
  log.append({ type: 'session.end', sessionId: 's-1', endedBy: 'command', wipe: { ok: true, leftovers: [] } }, at(3));
  return log;
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

t.test('appends hash-chained JSON lines that verify', async (t) => {
  const file = tmpFile();
  const log = sampleLog(file);
  t.equal(statSync(file).mode & 0o777, 0o640);
  const entries = lines(file).map((l) => JSON.parse(l));
  t.equal(entries.length, 4);
  t.same(entries.map((e) => e.seq), [1, 2, 3, 4]);
  t.equal(entries[0].prev, GENESIS_HASH);
  for (let i = 1; i < 4; i++) t.equal(entries[i].prev, entries[i - 1].hash, `entry ${i + 1} carries the previous hash`);
  t.same(entries[2], { ...entries[2], v: 1, type: 'alert', at: '2026-03-01T08:00:02.000Z', alertId: 'a-1', subjectRef: 'CASE-1', score: 0.61 });
  t.same(log.head, { seq: 4, hash: entries[3].hash });
  t.match(verifyAuditFile(file), { ok: true, entries: 4, head: entries[3].hash, headSeq: 4 });
  log.close();
});

t.test('reopening continues the chain', async (t) => {
  const file = tmpFile();
  sampleLog(file).close();
  const log = new AuditLog(file);
  const e = log.append({ type: 'wipe.boot', filesRemoved: 0 }, at(10));
  t.equal(e.seq, 5);
  t.equal(verifyAuditFile(file).ok, true);
  t.equal(verifyAuditFile(file).entries, 5);
  log.close();
});

t.test('no biometrics and nothing but plain JSON: refused with the field named, nothing written', async (t) => {
  const file = tmpFile();
  const log = sampleLog(file);
  const before = readFileSync(file, 'utf8');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vector: new Float32Array(512) }, /audit field vector holds binary data \(Float32Array\); the audit log takes ids only, never biometrics/],
    [{ blob: Buffer.from('jpeg') }, /audit field blob holds binary data/],
    [{ raw: new ArrayBuffer(8) }, /audit field raw holds binary data/],
    [{ nested: { deep: [1, new Uint8Array(3)] } }, /audit field nested\.deep\[1\] holds binary data/],
    [{ embedding: [0.1, 0.2] }, /audit field 'embedding' is biometric/],
    [{ best: { crop: 'base64...' } }, /audit field best\.crop is biometric/],
    [{ hash: 'x' }, /audit field 'hash' is reserved/],
    [{ seq: 3 }, /audit field 'seq' is reserved/],
    [{ when: new Date() }, /audit field when is a Date; only plain JSON data/],
    [{ score: NaN }, /audit field score is NaN; only finite numbers/],
  ];
  for (const [fields, msg] of cases) t.throws(() => log.append({ type: 'alert', ...fields }, at(5)), { name: 'AuditError', message: msg });
  t.throws(() => log.append({ type: 'Bad Type' }, at(5)), /audit event type 'Bad Type' must be lowercase/);
  t.equal(readFileSync(file, 'utf8'), before, 'a refused event writes nothing');
  t.equal(log.append({ type: 'alert', alertId: 'a-2' }, at(6)).seq, 5, 'the chain goes on after a refusal');
  t.type(new AuditError('x'), Error);
  log.close();
});

t.test('tampering is found at the first broken line, with the reason', async (t) => {
  const make = () => {
    const file = tmpFile();
    sampleLog(file).close();
    return { file, ls: lines(file) };
  };
  const write = (file: string, ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');

  let { file, ls } = make();
  ls[2] = ls[2].replace('"score":0.61', '"score":0.99');
  write(file, ls);
  t.match(verifyAuditFile(file).firstBroken, { line: 3, reason: 'hash does not match the entry (the entry was altered)' });
  t.equal(verifyAuditFile(file).entries, 2);
  t.equal(verifyAuditFile(file).ok, false);

  ({ file, ls } = make());
  write(file, [ls[0], ls[2], ls[3]]);
  t.match(verifyAuditFile(file).firstBroken, { line: 2, reason: /seq is 3, expected 2 \(an entry was removed, inserted or reordered\)/ });

  ({ file, ls } = make());
  write(file, [ls[0], ls[1], ls[3], ls[2]]);
  t.match(verifyAuditFile(file).firstBroken, { line: 3, reason: /seq is 4, expected 3/ });

  ({ file, ls } = make());
  // Removing an entry and renumbering the rest still breaks the chain (prev).
  const renumbered = [ls[0], ls[2], ls[3]].map((l, i) => JSON.stringify({ ...JSON.parse(l), seq: i + 1 }));
  write(file, renumbered);
  t.match(verifyAuditFile(file).firstBroken, { line: 2, reason: /prev does not match the hash of the entry before it/ });

  ({ file, ls } = make());
  write(file, ['{not json', ...ls.slice(1)]);
  t.match(verifyAuditFile(file).firstBroken, { line: 1, reason: /not JSON/ });

  ({ file, ls } = make());
  writeFileSync(file, ls.join('\n') + '\n' + ls[3].slice(0, 40));
  t.match(verifyAuditFile(file).firstBroken, { line: 5, reason: 'the last line is incomplete (no newline: a write was cut off)' });
  t.equal(verifyAuditFile(file).entries, 4);
});

t.test('a torn tail (power cut mid-write): the next entries go to a new segment linked to the last good entry; verify notes the torn line', async (t) => {
  const file = tmpFile();
  sampleLog(file).close();
  const good = lines(file);
  appendFileSync(file, '{"v":1,"seq":5,"at":"2026-');
  const log = new AuditLog(file);
  const e = log.append({ type: 'session.abort', sessionId: 's-2' }, at(20))!;
  log.close();
  const seg2 = segmentPath(file, 2);
  t.equal(path.basename(seg2), 'audit.2.log');
  t.equal(readFileSync(file, 'utf8').endsWith('"at":"2026-'), true, 'the first segment is left as it was found');
  const ls = lines(seg2);
  t.equal(ls.length, 2, 'the segment link, the new event');
  t.match(JSON.parse(ls[0]), { type: 'audit.segment', seq: 5, segment: 2, continues: { file: 'audit.log', seq: 4, hash: JSON.parse(good[3]).hash }, tornTail: true, reason: /incomplete/ });
  t.equal(JSON.parse(ls[0]).prev, JSON.parse(good[3]).hash, 'the chain resumes from the last good entry');
  t.equal(e.seq, 6);
  const v = verifyAuditFile(file);
  t.match(v, { ok: true, entries: 6, headSeq: 6, head: e.hash, tornTails: [{ file, line: 5 }], segments: [file, seg2] });

  // the link is checked: a later segment that does not continue from the entry before is a break
  writeFileSync(seg2, lines(seg2).slice(1).join('\n') + '\n');
  t.match(verifyAuditFile(file), { ok: false, firstBroken: { file: seg2, line: 1, reason: /does not begin with an audit.segment entry continuing from entry 4/ } });
});

t.test('a break that is not a torn tail stays visible: the log resumes after an audit.resumed entry', async (t) => {
  const file = tmpFile();
  sampleLog(file).close();
  const ls = lines(file);
  writeFileSync(file, [ls[0], ls[1].replace('"watchlistSize":2', '"watchlistSize":9'), ls[2], ls[3]].join('\n') + '\n');
  const log = new AuditLog(file);
  const e = log.append({ type: 'wipe.boot' }, at(30))!;
  log.close();
  const after = lines(file);
  t.match(JSON.parse(after[4]), { type: 'audit.resumed', brokenLine: 2, reason: /altered/, seq: 5 });
  t.equal(e.seq, 6);
  t.match(verifyAuditFile(file), { ok: false, entries: 1, firstBroken: { line: 2 } });
});

t.test('a missing segment is found; an empty last one (its first write failed) is ignored', async (t) => {
  const file = tmpFile();
  sampleLog(file).close();
  writeFileSync(segmentPath(file, 2), '');
  t.match(verifyAuditFile(file), { ok: true, entries: 4, segments: [file] });
  const log = new AuditLog(file);
  t.equal(log.append({ type: 'wipe.boot' }, at(9))!.seq, 5, 'the writer goes on in the last non-empty segment');
  log.close();
  t.equal(lines(file).length, 5);
  unlinkSync(segmentPath(file, 2));
  writeFileSync(segmentPath(file, 3), '');
  t.match(verifyAuditFile(file), { ok: false, firstBroken: { file: segmentPath(file, 2), reason: /segment 2 is missing/ } });
});

t.test('canonical JSON sorts keys at every level', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' } }), '{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}');
});

t.test('verifying a missing file says so', async (t) => {
  const missing = path.join(mkdtempSync(path.join(tmpdir(), 'lfr-audit-')), 'audit.log');
  t.throws(() => verifyAuditFile(missing), { name: 'AuditError', message: `audit log ${missing} does not exist` });
  t.match(verifyAuditFile((writeFileSync(missing, ''), missing)), { ok: true, entries: 0, head: GENESIS_HASH }, 'an empty log is a valid log');
});
