import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditError, verifyAuditFile, type AuditVerification } from '../audit/log';
import type { RecordMessage } from '../comms/messages';
import { verifyRecord } from '../comms/record-signature';
import { loadPublicKey } from '../watchlist/keys';
import { parse, UsageError, UserError, type Command } from './common';

export const usage = `lfr-edge audit verify FILE [--record R --unit-pub P]
      check the audit log's hash chain (FILE is its first segment, e.g. /var/lib/lfr-edge/audit.log;
      later segments audit.2.log, ... are read too); exit 0 if intact, 1 with the first broken line
      and why. With --record: R is a deployment record as published on \`record\` (JSON), P the
      unit's Ed25519 public key (unit-ed25519.pub): the record's signature must verify and the log
      must hold the entry the record names (auditHead: seq and hash) unchanged.`;

function readRecord(file: string): RecordMessage {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read the record ${file}: ${(err as Error).message}`);
  }
  try {
    const r = JSON.parse(text) as RecordMessage;
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('not a JSON object');
    return r;
  } catch (err) {
    throw new UserError(`the record ${file} is not JSON: ${(err as Error).message}`);
  }
}

export const auditCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  const { positionals, values } = parse(rest, { record: { type: 'string' }, 'unit-pub': { type: 'string' } });
  if (sub !== 'verify') throw new UsageError(`unknown audit subcommand '${sub ?? ''}'`);
  if (positionals.length !== 1) throw new UsageError('audit verify takes exactly one FILE');
  if ((values.record === undefined) !== (values['unit-pub'] === undefined)) {
    throw new UsageError('--record and --unit-pub go together: the record is trusted only with a valid signature by the unit key');
  }
  const file = positionals[0];
  let res: AuditVerification;
  try {
    res = verifyAuditFile(file, { collectHashes: values.record !== undefined });
  } catch (err) {
    if (err instanceof AuditError) throw new UserError(err.message);
    throw err;
  }
  const segs = res.segments && res.segments.length > 1 ? ` in ${res.segments.length} segments` : '';
  for (const torn of res.tornTails ?? []) {
    io.stderr(`${path.basename(torn.file)}: note: line ${torn.line} is incomplete (a write was cut off); the next segment continues from the entry before it\n`);
  }
  let ok = res.ok;
  if (res.ok) {
    io.stdout(`${file}: ${res.entries} entries${segs}, chain intact, last hash ${res.head}\n`);
  } else {
    const b = res.firstBroken!;
    io.stderr(`${b.file ?? file}: chain broken at line ${b.line}: ${b.reason}\n`);
    io.stderr(`${file}: the ${res.entries} entries before it verify (last good hash ${res.head})\n`);
  }
  if (values.record !== undefined) {
    const record = readRecord(values.record);
    let unitPub;
    try {
      unitPub = loadPublicKey(values['unit-pub']!, ['ed25519']);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    const name = `record ${values.record}`;
    if (!verifyRecord(record, unitPub)) {
      io.stderr(`${name}: the signature does not verify with ${values['unit-pub']}: the record was altered or signed by another unit\n`);
      return 1;
    }
    const anchor = record.auditHead;
    if (!anchor || typeof anchor.seq !== 'number' || typeof anchor.hash !== 'string') {
      io.stderr(`${name}: carries no auditHead (made by a version before 0.2): nothing to check the log against\n`);
      return 1;
    }
    const found = res.hashes?.get(anchor.seq);
    if (found === anchor.hash) {
      io.stdout(`${name} (session ${record.sessionId}): signature valid; the log holds its entry ${anchor.seq} unchanged\n`);
    } else if (found !== undefined) {
      io.stderr(`${name}: the log's entry ${anchor.seq} has hash ${found}, the signed record says ${anchor.hash}: the log was altered or rewritten\n`);
      ok = false;
    } else {
      io.stderr(`${name}: the log has no verified entry ${anchor.seq} (it verifies up to ${res.headSeq}): entries were removed, or the break above comes before it\n`);
      ok = false;
    }
  }
  return ok ? 0 : 1;
};
