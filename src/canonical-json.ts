/**
 * Canonical JSON for signatures and the audit log's hash chain: object keys sorted by UTF-16 code unit order at every level, no
 * whitespace, `undefined` members left out (as JSON.stringify does). Non-finite numbers, functions,
 * symbols, bigints and typed arrays are refused: a signed value must mean one thing only.
 */
export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${path}: ${v} cannot be signed (not a finite number)`);
      return JSON.stringify(v);
    case 'object': {
      if (ArrayBuffer.isView(v)) throw new CanonicalJsonError(`${path}: binary data must be base64 text before signing`);
      if (Array.isArray(v)) return `[${v.map((x, i) => (x === undefined ? 'null' : write(x, `${path}[${i}]`))).join(',')}]`;
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof v} cannot be signed`);
  }
}
