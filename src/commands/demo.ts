import { runDemo } from '../demo/demo';
import { parse, UsageError, type Command } from './common';

export const usage = `lfr-edge demo [--source FILE|rtsp://...|/dev/videoN] [--seconds N] [--keep]
  A whole deployment on this machine with nothing set up: in-process broker, throwaway keys,
  a watchlist bundle from the bundled photos, the daemon with the bundled video (or --source) as
  its camera, the central console view, then end-session, the record and the wipe.
  --seconds N   how long the session runs (default 20)
  --keep        keep the working directory (config, daemon log, audit log)`;

export const demoCommand: Command = async (argv, io) => {
  const { values } = parse(argv, { source: { type: 'string' }, seconds: { type: 'string' }, keep: { type: 'boolean' } }, false);
  const seconds = values.seconds === undefined ? 20 : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 24 * 3600)) throw new UsageError(`--seconds must be a positive number of seconds, got ${values.seconds}`);
  return runDemo({ source: values.source, seconds, keep: !!values.keep, io });
};
