import { AuditError, verifyAuditFile } from '../audit/log';
import { parse, UsageError, UserError, type Command } from './common';

export const usage = `lfr-edge audit verify FILE   check the audit log's hash chain; exit 0 if intact, 1 with the
                             first broken line and why`;

export const auditCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  const { positionals } = parse(rest, {});
  if (sub !== 'verify') throw new UsageError(`unknown audit subcommand '${sub ?? ''}'`);
  if (positionals.length !== 1) throw new UsageError('audit verify takes exactly one FILE');
  const file = positionals[0];
  let res;
  try {
    res = verifyAuditFile(file);
  } catch (err) {
    if (err instanceof AuditError) throw new UserError(err.message);
    throw err;
  }
  if (res.ok) {
    io.stdout(`${file}: ${res.entries} entries, chain intact, last hash ${res.head}\n`);
    return 0;
  }
  const b = res.firstBroken!;
  io.stderr(`${file}: chain broken at line ${b.line}: ${b.reason}\n`);
  io.stderr(`${file}: the ${res.entries} entries before it verify (last good hash ${res.head})\n`);
  return 1;
};
