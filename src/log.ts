/**
 * Structured logging: one JSON object per line on stdout (journald keeps it), with levels.
 *
 * Privacy rule: nothing biometric is ever logged. The logger enforces it for what it can
 * recognise, at every depth (nested objects, arrays): binary data (a typed array, a Buffer: an
 * embedding, a crop, pixels) and any field named in BIOMETRIC_FIELDS (src/biometric-fields.ts, the
 * one list the audit log also uses) is replaced by "[redacted]" before the line is written.
 */
import { redactBiometrics } from './biometric-fields';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{component: 'camera'}`). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to process.stdout. */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
  base?: LogFields;
}

function sanitise(fields: LogFields): LogFields {
  return redactBiometrics(fields) as LogFields;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const minRank = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const base = opts.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < minRank) return;
    const line = { time: now().toISOString(), level, msg, ...sanitise(base), ...sanitise(fields ?? {}) };
    write(JSON.stringify(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** For CLI commands whose stdout is reserved for results: log lines go to stderr. */
export function createStderrLogger(level: LogLevel = 'warn'): Logger {
  return createLogger({ level, write: (line) => process.stderr.write(line + '\n') });
}

/** A logger that keeps lines in memory (tests). */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ level, write: (l) => lines.push(JSON.parse(l) as LogFields) });
  return Object.assign(logger, { lines });
}
