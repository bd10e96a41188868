import { runDemo } from '../demo/demo';
import { runConsoleDemo } from '../demo/console';
import { parse, UsageError, type Command } from './common';

export const usage = `lfr-edge demo [--source FILE|rtsp://...|/dev/videoN] [--seconds N] [--keep]
lfr-edge demo --console [--port N] [--source ...] [--keep]
  A whole deployment on this machine with nothing set up: in-process broker, throwaway keys,
  a watchlist bundle from the bundled photos, the daemon with the bundled video (or --source) as
  its camera, the central console view, then end-session, the record and the wipe.
  --seconds N   how long the session runs (default 20)
  --keep        keep the working directory (config, daemon log, audit log)
  --console     the officers' web console instead (central serve on 127.0.0.1 with a throwaway
                officer account; alerts with their face crops): prints one line
                'console: http://127.0.0.1:PORT/ user NAME password PASSWORD' and runs until
                Ctrl-C, which ends the session and stops
  --port N      the console's port (default: a free one)`;

export const demoCommand: Command = async (argv, io) => {
  const { values } = parse(argv, { source: { type: 'string' }, seconds: { type: 'string' }, keep: { type: 'boolean' }, console: { type: 'boolean' }, port: { type: 'string' } }, false);
  if (values.console) {
    if (values.seconds !== undefined) throw new UsageError('--console runs until Ctrl-C: --seconds does not apply');
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number 0-65535, got ${values.port}`);
    return runConsoleDemo({ source: values.source, port, keep: !!values.keep, io });
  }
  if (values.port !== undefined) throw new UsageError('--port goes with --console');
  const seconds = values.seconds === undefined ? 20 : Number(values.seconds);
  if (!(seconds > 0 && seconds <= 24 * 3600)) throw new UsageError(`--seconds must be a positive number of seconds, got ${values.seconds}`);
  return runDemo({ source: values.source, seconds, keep: !!values.keep, io });
};
