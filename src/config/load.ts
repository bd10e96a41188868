/**
 * Loading and validating configuration: a JSON file (optional) plus environment overrides,
 * validated once against the one schema. Errors name the key's path and what was wrong.
 *
 * Environment overrides: `LFR_EDGE__<SECTION>__<KEY>[__<KEY>...]=value`, keys in UPPER_SNAKE
 * (converted to the schema's camelCase), e.g. `LFR_EDGE__VISION__INTRA_OP_THREADS=2`. A value is
 * parsed as JSON when it is valid JSON (numbers, booleans, arrays), else taken as a string.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigSchema, type Config } from './schema';

export const ENV_PREFIX = 'LFR_EDGE__';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function snakeToCamel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw; // not JSON: a plain string value, which is fine
  }
}

/** Apply `LFR_EDGE__A__B=v` variables onto a raw (unvalidated) config object. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').filter(Boolean).map(snakeToCamel);
    if (path.length === 0) throw new ConfigError(`environment variable ${name} names no config key`);
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new ConfigError(`environment variable ${name}: ${path.join('.')} crosses a non-object value at '${key}'`);
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = parseEnvValue(value);
  }
  return out;
}

function formatIssues(error: z.ZodError, source: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      const where = issue.path.length ? issue.path.join('.') + '.' : '';
      return `${source}: unknown key ${keys.map((k) => `'${where}${k}'`).join(', ')}`;
    }
    return `${source}: ${path}: ${issue.message}`;
  });
}

/** Validate a raw object; throws ConfigError listing every problem with its key path. */
export function parseConfig(raw: unknown, source = 'config'): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = formatIssues(result.error, source);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  return result.data;
}

export interface LoadConfigOptions {
  /** JSON file; when absent, the embedded defaults are used. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  let raw: Record<string, unknown> = {};
  const source = opts.file ?? 'defaults';
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${opts.file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${opts.file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${opts.file} must hold a JSON object at the top level`);
    }
    raw = parsed as Record<string, unknown>;
  }
  const withEnv = applyEnvOverrides(raw, opts.env ?? {});
  return parseConfig(withEnv, source);
}
