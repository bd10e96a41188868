/** Audit entries: the event shape, the checks (ids only, never biometrics), the hash that chains them. Pure. */
import { isBiometricNamed } from '../biometric-fields';
import { canonicalJson } from '../canonical-json';
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);
const RESERVED = new Set(['v', 'seq', 'at', 'prev', 'hash']);
const TYPE_PATTERN = /^[a-z][a-z0-9.-]{0,63}$/;

export type AuditValue = string | number | boolean | null | AuditValue[] | { [k: string]: AuditValue };

export interface AuditEvent {
  /** What happened, e.g. 'session.start', 'bundle.refused', 'alert'. */
  type: string;
  [field: string]: unknown;
}

export interface AuditEntry {
  v: 1;
  seq: number;
  at: string;
  type: string;
  prev: string;
  hash: string;
  [field: string]: unknown;
}

/** The event cannot go into the audit log (biometric data, reserved field, bad value). */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** JSON with object keys sorted at every level: the bytes an entry's hash is computed over. */
export { canonicalJson };

export function entryHash(entryWithoutHash: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(entryWithoutHash), 'utf8').digest('hex');
}

/** Refuse anything that is not plain JSON data, and anything biometric, naming the field. */
function checkValue(value: unknown, at: string): void {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    throw new AuditError(`audit field ${at} holds binary data (${value.constructor.name}); the audit log takes ids only, never biometrics`);
  }
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AuditError(`audit field ${at} is ${value}; only finite numbers`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, `${at}[${i}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (isBiometricNamed(k, v)) throw new AuditError(`audit field ${at}.${k} is biometric; the audit log takes ids only`);
      checkValue(v, `${at}.${k}`);
    }
    return;
  }
  throw new AuditError(`audit field ${at} is a ${value instanceof Object ? value.constructor.name : typeof value}; only plain JSON data`);
}

/** Build the next entry (pure): checks the event, links it to `prev`, hashes it. */
export function makeEntry(event: AuditEvent, now: Date, seq: number, prev: string): AuditEntry {
  if (typeof event.type !== 'string' || !TYPE_PATTERN.test(event.type)) {
    throw new AuditError(`audit event type '${String(event.type)}' must be lowercase letters, digits, "." or "-"`);
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k === 'type' || v === undefined) continue;
    if (RESERVED.has(k)) throw new AuditError(`audit field '${k}' is reserved for the chain`);
    if (isBiometricNamed(k, v)) throw new AuditError(`audit field '${k}' is biometric; the audit log takes ids only`);
    checkValue(v, k);
    fields[k] = v;
  }
  const body = { v: 1 as const, seq, at: now.toISOString(), type: event.type, ...fields, prev };
  return { ...body, hash: entryHash(body) };
}

