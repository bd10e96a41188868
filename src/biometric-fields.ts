/**
 * The one list of field names that carry biometrics, and the one walk that finds them. The
 * logger (src/log.ts) redacts what this finds; the audit log (src/audit/log.ts) refuses it.
 *
 * A value is biometric when its field name is in BIOMETRIC_FIELDS (at any depth: `{alert: {face:
 * {embedding: [...]}}}`) or when it is binary data anywhere (a typed array, a Buffer, an
 * ArrayBuffer: embeddings, crops, pixel buffers), including inside arrays.
 * (`template` is not in the list: it names the camera pipeline template in logs; a face template
 * is `faceTemplate` or binary anyway.)
 */

/** Field names whose value is biometric whatever its type (compared case-insensitively). */
export const BIOMETRIC_FIELDS: readonly string[] = [
  'embedding', 'embeddings', 'faceTemplate', 'descriptor', 'crop', 'crops', 'face', 'faces', 'faceCrop', 'jpeg', 'landmarks',
  'fivePoints', 'pixels', 'image', 'aligned', 'alignedFace',
];

const NAMES = new Set(BIOMETRIC_FIELDS.map((n) => n.toLowerCase()));

export function isBiometricField(name: string): boolean {
  return NAMES.has(name.toLowerCase());
}

/**
 * Whether the field `name: value` is biometric: a biometric name with any value but a number, a
 * boolean or null (`faces: 3` and `crop: false` are a count and a flag, not a face), or binary data.
 */
export function isBiometricEntry(name: string, value: unknown): boolean {
  return isBinary(value) || isBiometricNamed(name, value);
}

/** A biometric name holding anything but a number, a boolean or null. */
export function isBiometricNamed(name: string, value: unknown): boolean {
  if (!isBiometricField(name)) return false;
  return !(typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined);
}

export function isBinary(v: unknown): v is ArrayBufferView | ArrayBuffer | SharedArrayBuffer {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer);
}

export const REDACTED = '[redacted]';
/** Nesting deeper than this is cut (log fields are small; a deeper structure is a mistake). */
const MAX_DEPTH = 12;

/**
 * A copy of `value` safe to write to a log: biometric fields and binary data replaced by
 * "[redacted]" at every depth, Errors reduced to name and message, cycles and over-deep
 * nesting cut. Plain data is copied as it is.
 */
export function redactBiometrics(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (isBinary(value)) return REDACTED;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const code = (value as Error & { code?: unknown }).code;
      return { message: value.message, name: value.name, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
    }
    if (Array.isArray(value)) return value.map((v) => redactBiometrics(v, depth + 1, seen));
    if (value instanceof Map) return redactBiometrics(Object.fromEntries(value), depth, seen);
    if (value instanceof Set) return redactBiometrics([...value], depth, seen);
    if (value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isBiometricEntry(k, v) ? REDACTED : redactBiometrics(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Where biometric data sits in `value` (paths such as `alert.face.embedding` or `faces[0]`),
 * empty when there is none. For refusing (the audit log) and for checking output (tests).
 * A field named like a biometric whose value is "[redacted]" (or a count, a flag) does not count.
 */
export function findBiometrics(value: unknown, at = '', out: string[] = [], depth = 0): string[] {
  if (isBinary(value)) {
    out.push(at || '(value)');
    return out;
  }
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => findBiometrics(v, `${at}[${i}]`, out, depth + 1));
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = at ? `${at}.${k}` : k;
    if (isBiometricEntry(k, v) && v !== REDACTED) out.push(p);
    else findBiometrics(v, p, out, depth + 1);
  }
  return out;
}
