/** Shared plumbing for CLI commands: argument parsing, usage errors, config loading. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config';

/** A usage error: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An error the user can act on: printed as is (no stack), exit code 1. */
export class UserError extends Error {
  override name = 'UserError';
}

export interface CommandIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export const processIO: CommandIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

export type Command = (argv: string[], io: CommandIO) => Promise<number>;

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function configFrom(file: string | undefined, io: CommandIO): Config {
  return loadConfig({ file, env: io.env });
}

export function requireOpt<T>(value: T | undefined, name: string): T {
  if (value === undefined || value === '') throw new UsageError(`missing required option --${name}`);
  return value;
}
