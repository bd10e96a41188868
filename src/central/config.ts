/**
 * Configuration of `lfr-edge central serve` (a separate program from the unit: its own file, the
 * same loader rules: a JSON file, then `LFR_EDGE_CENTRAL__<KEY>...` environment overrides, every
 * problem named with its key path). Pure schema; src/commands/central.ts loads it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { applyEnvOverrides, ConfigError } from '../config';

export const CENTRAL_ENV_PREFIX = 'LFR_EDGE_CENTRAL__';

const file = z.string().min(1);

export const CentralConfigSchema = z.strictObject({
  /** Names this instance in logs and its audit entries. */
  instance: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('central'),
  mqtt: z.strictObject({
    /** `mqtts://broker:8883` (mutual TLS) or `mqtt://127.0.0.1:1883` (a bench only). */
    url: z.string().regex(/^(mqtts?|wss?):\/\//, 'must be a broker URL such as mqtts://broker:8883'),
    tls: z.strictObject({ caFile: file.optional(), certFile: file.optional(), keyFile: file.optional(), rejectUnauthorized: z.boolean().default(true) }).prefault({}),
    /**
     * '5': events (alert, record, cmd-result) by the shared subscription `$share/<shareGroup>/...`
     * so that several instances split them. '3.1.1': for brokers that speak only that (the demo's
     * in-process one): plain subscriptions, so run a single instance.
     */
    protocol: z.enum(['5', '3.1.1']).default('5'),
    shareGroup: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('lfr-central'),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    reconnectS: z.number().positive().max(60).default(2),
  }),
  store: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite'), file: file.default('central.sqlite') }),
    z.strictObject({ kind: z.literal('postgres'), url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL') }),
  ]).prefault({ kind: 'sqlite' }),
  /** The central authority's Ed25519 private key (mode 0600): signs adjudicate/start/end commands. */
  authorityKeyFile: file,
  /** The central X25519 private key (mode 0600, `lfr-edge keys central`): opens alert crops. */
  centralKeyFile: file.optional(),
  /** Each unit's Ed25519 public key: the deployment record's signature is checked against it. */
  units: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.strictObject({ ed25519PublicKeyFile: file })).default({}),
  /** The enrolment photos the bundles were built from: `<photosDir>/<subjectRef>/*.jpg|png` (never on the unit). */
  photosDir: file.optional(),
  /** The central audit log (hash-chained JSON lines; one file per instance). */
  auditFile: file.default('central-audit.jsonl'),
  web: z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8443),
    /** HTTPS certificate and key; without them the page is served over HTTP, on loopback only. */
    tls: z.strictObject({ certFile: file, keyFile: file }).optional(),
    sessionHours: z.number().positive().max(24).default(8),
    /** Failed sign-ins in a row before the account is locked, and for how long. */
    maxFailedLogins: z.number().int().min(1).max(100).default(5),
    lockMinutes: z.number().positive().max(24 * 60).default(15),
  }).prefault({}),
  retention: z.strictObject({
    /** Crops of confirmed alerts are deleted this many days after the adjudication. */
    confirmedCropDays: z.number().min(0).max(3650).default(31),
    /** Crops never adjudicated are deleted this long after their session ended. */
    unadjudicatedGraceHours: z.number().min(0).max(24 * 365).default(24),
    sweepIntervalS: z.number().positive().max(86400).default(60),
  }).prefault({}),
  records: z.strictObject({
    /** IANA time zone of the dates and times in the published records (page, CSV). */
    timeZone: z.string().min(1).default('UTC'),
  }).prefault({}),
  /** Seconds to wait for a unit's cmd-result before the page says there was no answer. */
  commandTimeoutS: z.number().positive().max(600).default(30),
}).superRefine((c, ctx) => {
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(c.web.host);
  if (!c.web.tls && !loopback) {
    ctx.addIssue({ code: 'custom', path: ['web', 'host'], message: `without web.tls the page is served over plain HTTP, so only on loopback (behind a reverse proxy), not on '${c.web.host}'` });
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: c.records.timeZone });
  } catch {
    ctx.addIssue({ code: 'custom', path: ['records', 'timeZone'], message: `'${c.records.timeZone}' is not an IANA time zone (e.g. 'Europe/London', 'UTC')` });
  }
  if (Boolean(c.mqtt.tls.certFile) !== Boolean(c.mqtt.tls.keyFile)) {
    ctx.addIssue({ code: 'custom', path: ['mqtt', 'tls'], message: 'certFile and keyFile go together' });
  }
});

export type CentralConfig = z.infer<typeof CentralConfigSchema>;

/** Validate a raw object (relative paths resolved against `baseDir`); throws ConfigError naming each problem. */
export function parseCentralConfig(raw: unknown, source = 'central config', baseDir = process.cwd()): CentralConfig {
  const r = CentralConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    throw new ConfigError(`invalid central configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  const c = r.data;
  const abs = (f: string) => path.resolve(baseDir, f);
  return {
    ...c,
    mqtt: { ...c.mqtt, tls: { ...c.mqtt.tls, caFile: c.mqtt.tls.caFile && abs(c.mqtt.tls.caFile), certFile: c.mqtt.tls.certFile && abs(c.mqtt.tls.certFile), keyFile: c.mqtt.tls.keyFile && abs(c.mqtt.tls.keyFile) } },
    store: c.store.kind === 'sqlite' ? { kind: 'sqlite', file: abs(c.store.file) } : c.store,
    authorityKeyFile: abs(c.authorityKeyFile),
    centralKeyFile: c.centralKeyFile && abs(c.centralKeyFile),
    units: Object.fromEntries(Object.entries(c.units).map(([k, v]) => [k, { ed25519PublicKeyFile: abs(v.ed25519PublicKeyFile) }])),
    photosDir: c.photosDir && abs(c.photosDir),
    auditFile: abs(c.auditFile),
    web: { ...c.web, tls: c.web.tls && { certFile: abs(c.web.tls.certFile), keyFile: abs(c.web.tls.keyFile) } },
  };
}

export function loadCentralConfig(file: string, env: NodeJS.ProcessEnv = process.env): CentralConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read the central configuration ${file}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: the central configuration must be a JSON object`);
  const central = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(CENTRAL_ENV_PREFIX)).map(([k, v]) => [`LFR_EDGE__${k.slice(CENTRAL_ENV_PREFIX.length)}`, v]));
  return parseCentralConfig(applyEnvOverrides(raw as Record<string, unknown>, central), file, path.dirname(path.resolve(file)));
}
