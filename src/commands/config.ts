import { ConfigError } from '../config';
import { configFrom, parse, UsageError, type Command } from './common';

export const usage = `lfr-edge config validate FILE      check a config file (and LFR_EDGE__* overrides); exit 0 or 1
lfr-edge config show [FILE]         print the effective configuration (defaults + file + env) as JSON`;

export const configCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  const { positionals } = parse(rest, {});
  if (sub === 'validate') {
    if (positionals.length !== 1) throw new UsageError('config validate takes exactly one FILE');
    try {
      configFrom(positionals[0], io);
    } catch (err) {
      if (err instanceof ConfigError) {
        io.stderr(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
    io.stdout(`${positionals[0]}: valid\n`);
    return 0;
  }
  if (sub === 'show') {
    io.stdout(JSON.stringify(configFrom(positionals[0], io), null, 2) + '\n');
    return 0;
  }
  throw new UsageError(`unknown config subcommand '${sub ?? ''}'`);
};
