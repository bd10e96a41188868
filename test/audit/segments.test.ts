/**
 * The audit writer on a disk that fills up (a real 256 KiB tmpfs): failed and short writes are
 * detected, the events are held, and once space returns they go to a new segment linked to the
 * last entry written; the chain verifies across the segments.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog, segmentPath, verifyAuditFile } from '../../src/audit/log';
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs';

const skip = tmpfsUnavailable();

t.test('disk full: held, then a new linked segment; the chain verifies across segments', { skip }, async (t) => {
  const disk = mountTmpfs(t, 256 * 1024);
  const file = path.join(disk.dir, 'audit.log');
  const log = new AuditLog(file);
  const at = (i: number) => new Date(Date.UTC(2026, 2, 1, 8, 0, 0, i));
  const big = 'x'.repeat(700); // ~1 KiB per entry: writes cross page boundaries often
  for (let i = 0; i < 20; i++) t.ok(log.append({ type: 'alert', alertId: `a-${i}`, note: big }, at(i)), `entry ${i} written`);
  disk.fill();
  let held = 0;
  for (let i = 20; i < 60; i++) if (log.append({ type: 'alert', alertId: `a-${i}`, note: big }, at(i)) === undefined) held++;
  t.ok(held > 0, `the full disk held ${held} events back`);
  const s = log.state();
  t.equal(s.held, held, 'every later event is held, in order');
  t.match(s.failing, /ENOSPC|short write/);
  const v1 = verifyAuditFile(file);
  t.ok(v1.ok, 'what is on disk verifies: the partial line was cut off');
  t.equal(readFileSync(file, 'utf8').endsWith('\n'), true, 'no torn line left');
  t.equal(log.retry(), false, 'still full: still held');

  disk.free();
  t.equal(log.retry(), true, 'space again: all written');
  t.equal(log.state().held, 0);
  const seg2 = segmentPath(file, 2);
  const first = JSON.parse(readFileSync(seg2, 'utf8').split('\n')[0]) as Record<string, unknown>;
  t.match(first, { type: 'audit.segment', segment: 2, continues: { file: 'audit.log', seq: v1.headSeq, hash: v1.head }, reason: /a write failed: .*(ENOSPC|short write)/, heldEvents: held });
  log.append({ type: 'alert', alertId: 'a-60' }, at(60));
  const v = verifyAuditFile(file);
  t.match(v, { ok: true, segments: [file, seg2], headSeq: 62 }, '60 events + the segment link + one more, one chain');
  const ids = [file, seg2].flatMap((f) => readFileSync(f, 'utf8').trim().split('\n')).map((l) => (JSON.parse(l) as { alertId?: string }).alertId).filter(Boolean);
  t.same(ids, Array.from({ length: 61 }, (_, i) => `a-${i}`), 'nothing lost, nothing twice, in order');
  log.close();

  // a restart continues the last segment
  const again = new AuditLog(file);
  t.equal(again.append({ type: 'wipe.boot' }, at(70))!.seq, 63);
  again.close();
  t.ok(verifyAuditFile(file).ok);
});
