import { createLogger, type LogLevel } from '../log';
import { Daemon } from '../daemon/daemon';
import { StartCancelledError } from '../daemon/lifecycle';
import { packageVersion } from '../paths';
import { configFrom, parse, type Command } from './common';

export const usage = `lfr-edge run [--config FILE]
  The unit daemon: audit, outbox + MQTT, session (boot wipe first), camera + vision, health.
  Under systemd (Type=notify): READY when streaming, WATCHDOG pings, STOPPING on shutdown.
  SIGTERM/SIGINT end the session (wipe), hand the record to the outbox and exit; during start-up
  they cancel the start and stop what started, in reverse. Every bound: src/daemon/budgets.ts.`;

export const runCommand: Command = async (argv, io) => {
  const { values } = parse(argv, { config: { type: 'string' } }, false);
  const cfg = configFrom(values.config, io);
  const logger = createLogger({ level: cfg.logging.level as LogLevel });
  const daemon = new Daemon({ config: cfg, logger, version: packageVersion() });
  // Hard exit if a graceful stop overruns its budgets (systemd's TimeoutStopSec would SIGKILL us anyway).
  const hardExitMs = daemon.budgets.hardExitMs;
  let signalled: NodeJS.Signals | undefined;
  const done = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) return;
      signalled = sig;
      logger.info('signal received: shutting down', { signal: sig });
      const hard = setTimeout(() => {
        logger.error('graceful stop overran: exiting hard', { afterMs: hardExitMs });
        process.exit(1);
      }, hardExitMs);
      hard.unref();
      daemon.stop('sigterm').then(resolve, (err: Error) => {
        logger.error('stop failed', { error: err });
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await daemon.start();
  } catch (err) {
    // A signal during start cancels it: the stop it began finishes below, and the exit is clean.
    if (!(err instanceof StartCancelledError)) throw err;
    logger.info('start cancelled by a signal', { signal: signalled, reason: err.message });
  }
  await done;
  return 0;
};
