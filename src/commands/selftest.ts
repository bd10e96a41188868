import { createStderrLogger } from '../log';
import { runSelftest, statusWord } from '../selftest';
import { DEFAULT_MIN_FREE_BYTES } from '../selftest/system';
import { configFrom, parse, UsageError, type Command } from './common';

export const usage = `lfr-edge selftest [--config FILE] [--json] [--min-free-bytes N] [--timeout S] [--sample IMAGE]
  Checks the unit before it is put to work, one line per check, exit 1 if any fails:
  unit keys (present, private ones 0600 and owned by this user), authority key, clock, disk space
  on the state dir, runtime dir on tmpfs (a warning otherwise), models (verified, exactly one face
  found on a sample photo), vision provider (a warning when not the first configured), camera
  (opens and yields a frame), broker (reachable with the configured TLS).
  Run it as the service user: sudo -u lfr-edge node dist/src/cli.js selftest --config /etc/lfr-edge/config.json
  --json              one JSON object {ok, checks: [{name, ok, warn?, detail}]} on stdout
  --min-free-bytes N  free bytes the state dir needs (default ${DEFAULT_MIN_FREE_BYTES}, 1 GiB)
  --timeout S         seconds to wait for the camera's first frame and the broker (default 10)
  --sample IMAGE      photo with exactly one face (default assets/selftest/face.jpg)`;

function positiveNumber(raw: string | undefined, flag: string, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number, got '${raw}'`);
  return n;
}

export const selftestCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, {
    config: { type: 'string' },
    json: { type: 'boolean' },
    'min-free-bytes': { type: 'string' },
    timeout: { type: 'string' },
    sample: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const minFreeBytes = positiveNumber(values['min-free-bytes'], 'min-free-bytes', DEFAULT_MIN_FREE_BYTES);
  const timeoutMs = positiveNumber(values.timeout, 'timeout', 10) * 1000;
  const cfg = configFrom(values.config, io);
  // Components log their own warnings (provider fallbacks, camera errors); the checks report them.
  const logger = createStderrLogger('error');
  const results = await runSelftest(cfg, { logger, minFreeBytes, timeoutMs, sampleImage: values.sample });
  const ok = results.every((r) => r.ok);
  if (values.json) {
    io.stdout(JSON.stringify({ ok, unitId: cfg.unit.id, checks: results }) + '\n');
  } else {
    const width = Math.max(...results.map((r) => r.name.length));
    for (const r of results) io.stdout(`${r.name.padEnd(width)}  ${statusWord(r).padEnd(4)}  ${r.detail}\n`);
    const failed = results.filter((r) => !r.ok).length;
    const warned = results.filter((r) => r.warn).length;
    io.stdout(failed ? `selftest: ${failed} of ${results.length} checks FAILED\n` : `selftest: all ${results.length} checks passed${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}\n`);
  }
  return ok ? 0 : 1;
};
