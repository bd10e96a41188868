import { createStderrLogger } from '../log';
import { wipeLeftovers } from '../session/leftovers';
import { configFrom, parse, UsageError, type Command } from './common';

export const usage = `lfr-edge wipe --boot [--config FILE]
  Shred and remove any watchlist store left in paths.runtimeDir by a crash or power loss
  (run at boot by lfr-edge-wipe.service, before the daemon). A session that was running is kept
  on record (paths.stateDir/session-active.json) for the daemon to report as aborted.
  Exit 0 when nothing is left, 1 when a file could not be removed.`;

export const wipeCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, { boot: { type: 'boolean' }, config: { type: 'string' } });
  if (!values.boot) throw new UsageError('wipe needs --boot (the only mode: remove leftovers before the daemon starts)');
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const cfg = configFrom(values.config, io);
  const result = wipeLeftovers({
    runtimeDir: cfg.paths.runtimeDir,
    stateDir: cfg.paths.stateDir,
    unitId: cfg.unit.id,
    now: new Date(),
    keepMarker: true,
    logger: createStderrLogger(),
  });
  const found = result.sessionFound ? `; session ${result.sessionFound.sessionId} (bundle ${result.sessionFound.bundleId}) did not end cleanly and will be reported aborted by the daemon` : '';
  io.stdout(`wipe: removed ${result.wipe.filesRemoved.length} file(s) from ${cfg.paths.runtimeDir}${found}\n`);
  for (const f of result.wipe.filesRemoved) io.stdout(`  removed ${f}\n`);
  for (const p of result.problems) io.stderr(`wipe: ${p}\n`);
  if (result.wipe.leftovers.length) {
    io.stderr(`wipe: NOT removed: ${result.wipe.leftovers.join(', ')}; check the permissions of ${cfg.paths.runtimeDir} and remove them by hand\n`);
    return 1;
  }
  return 0;
};
