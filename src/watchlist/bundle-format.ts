/**
 * Watchlist bundle format v1: the byte layout, the header schema and the plaintext codec.
 * Pure: bytes in, data out; no keys, no clocks, no I/O. The layout is documented byte by byte in
 * docs/security.md; keep the two in step.
 *
 *   offset      size  field
 *   0           4     magic "LFWL" (4c 46 57 4c)
 *   4           1     format version, 0x01
 *   5           4     H: header length, u32 big-endian, 2..65536
 *   9           H     header: UTF-8 JSON object (BundleHeader), readable without keys
 *   9+H         32    ephemeral X25519 public key (raw)
 *   41+H        12    AES-256-GCM nonce
 *   53+H        4     C: ciphertext length, u32 big-endian
 *   57+H        C     ciphertext (the encrypted plaintext below)
 *   57+H+C      16    AES-GCM tag
 *   73+H+C      64    Ed25519 signature by the authority over bytes [0, 73+H+C)
 *   137+H+C           end: nothing may follow
 *
 *   AES-GCM associated data = bytes [0, 41+H): magic, version, header length, header, ephemeral key.
 *
 * Plaintext (all integers big-endian, floats IEEE-754 float32 little-endian):
 *   u32 subject count N, u16 dimension D, then N times:
 *   u8 ref length + ref UTF-8, u8 category length + category UTF-8,
 *   u16 name length + name UTF-8 (0 = no name), u16 embedding count E, E*D float32.
 */
import { z } from 'zod';

export const BUNDLE_MAGIC = Buffer.from('LFWL', 'ascii');
export const BUNDLE_FORMAT_VERSION = 1;
export const MAX_HEADER_BYTES = 65536;
/** A session (and so a bundle's lifetime) never lasts more than this. */
export const MAX_BUNDLE_LIFETIME_MS = 12 * 3600 * 1000;
export const EPHEMERAL_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const SIGNATURE_BYTES = 64;
export const MAX_DIMENSION = 4096;
export const MAX_EMBEDDINGS_PER_SUBJECT = 1024;
/** |1 - ||e||| tolerated for an embedding (they are L2-normalised float32). */
export const NORM_TOLERANCE = 1e-3;

const PREFIX_BYTES = BUNDLE_MAGIC.length + 1 + 4;
/** The smallest possible bundle (empty header and ciphertext): anything shorter is truncated. */
export const MIN_BUNDLE_BYTES = PREFIX_BYTES + EPHEMERAL_KEY_BYTES + NONCE_BYTES + 4 + TAG_BYTES + SIGNATURE_BYTES;

export const SUBJECT_REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const CATEGORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MAX_NAME_BYTES = 256;

export interface WatchlistSubject {
  /** Reference of the subject (case number, not a name): what alerts carry. */
  ref: string;
  category: string;
  /** Only present when the bundle was built with names. */
  name?: string;
  /**
   * L2-normalised embeddings: `watchlist build` writes one, the subject's template (the mean of its
   * photos' flip-averaged embeddings). Several (one per photo, older bundles) are fused into one
   * template by the matcher.
   */
  embeddings: Float32Array[];
}

const isoUtc = z.iso.datetime({ offset: false });

export const BundleHeaderSchema = z
  .strictObject({
    v: z.literal(1),
    bundleId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'bundleId: 8-64 letters, digits or "-"'),
    unitFingerprint: z.string().regex(/^[0-9a-f]{32}$/, 'unitFingerprint: 32 lowercase hex digits'),
    unitId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    sessionId: z.string().regex(SESSION_ID_PATTERN, 'sessionId: 1-64 letters, digits, "_", ".", ":" or "-"'),
    createdAt: isoUtc,
    expiresAt: isoUtc,
    embeddingModelSha256: z.string().regex(/^[0-9a-f]{64}$/, 'embeddingModelSha256: 64 lowercase hex digits'),
    count: z.number().int().min(1).max(1_000_000),
    dimension: z.number().int().min(1).max(MAX_DIMENSION),
    categories: z.array(z.string().regex(CATEGORY_PATTERN)).min(1).max(64),
  })
  .superRefine((h, ctx) => {
    const created = Date.parse(h.createdAt);
    const expires = Date.parse(h.expiresAt);
    if (!(expires > created)) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'expiresAt must be after createdAt' });
    if (expires - created > MAX_BUNDLE_LIFETIME_MS) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'a bundle lives at most 12 h after createdAt' });
    }
    if (new Set(h.categories).size !== h.categories.length) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'categories must not repeat' });
    }
  });

export type BundleHeader = z.infer<typeof BundleHeaderSchema>;

/** The framing failed: 'truncated' when bytes are missing, 'malformed' for anything else. */
export class BundleFormatError extends Error {
  override name = 'BundleFormatError';
  constructor(
    readonly kind: 'truncated' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

/** A bundle split into its parts (views into the original bytes; nothing copied). */
export interface BundleParts {
  header: BundleHeader;
  headerBytes: Buffer;
  ephemeralPublic: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  signature: Buffer;
  /** Bytes covered by the signature: everything before it. */
  signed: Buffer;
  /** Bytes bound into the AEAD as associated data. */
  associatedData: Buffer;
}

function need(bytes: Buffer, end: number, what: string): void {
  if (end > bytes.length) {
    throw new BundleFormatError('truncated', `bundle is truncated: ${what} needs bytes up to ${end}, the bundle has ${bytes.length}`);
  }
}

export function parseHeaderJson(headerBytes: Buffer): BundleHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new BundleFormatError('malformed', `bundle header is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const parsed = BundleHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`).join('; ');
    throw new BundleFormatError('malformed', `bundle header is invalid: ${problems}`);
  }
  return parsed.data;
}

/** Split a bundle into its parts, checking the framing and the header schema (not the signature). */
export function splitBundle(bytes: Buffer): BundleParts {
  need(bytes, BUNDLE_MAGIC.length, 'the magic');
  if (!bytes.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC)) {
    throw new BundleFormatError('malformed', 'not a watchlist bundle: the file does not start with "LFWL"');
  }
  need(bytes, PREFIX_BYTES, 'the version and header length');
  const version = bytes[4];
  if (version !== BUNDLE_FORMAT_VERSION) {
    throw new BundleFormatError(
      'malformed',
      `bundle format version ${version} is not supported (this unit reads version ${BUNDLE_FORMAT_VERSION}); update the unit or rebuild the bundle`,
    );
  }
  const headerLength = bytes.readUInt32BE(5);
  if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
    throw new BundleFormatError('malformed', `bundle header length ${headerLength} is outside 2..${MAX_HEADER_BYTES}`);
  }
  let off = PREFIX_BYTES;
  need(bytes, off + headerLength, 'the header');
  const headerBytes = bytes.subarray(off, off + headerLength);
  off += headerLength;
  need(bytes, off + EPHEMERAL_KEY_BYTES + NONCE_BYTES + 4, 'the key, nonce and ciphertext length');
  const ephemeralPublic = bytes.subarray(off, off + EPHEMERAL_KEY_BYTES);
  off += EPHEMERAL_KEY_BYTES;
  const associatedData = bytes.subarray(0, off);
  const nonce = bytes.subarray(off, off + NONCE_BYTES);
  off += NONCE_BYTES;
  const ciphertextLength = bytes.readUInt32BE(off);
  off += 4;
  need(bytes, off + ciphertextLength + TAG_BYTES + SIGNATURE_BYTES, 'the ciphertext, tag and signature');
  const ciphertext = bytes.subarray(off, off + ciphertextLength);
  off += ciphertextLength;
  const tag = bytes.subarray(off, off + TAG_BYTES);
  off += TAG_BYTES;
  const signed = bytes.subarray(0, off);
  const signature = bytes.subarray(off, off + SIGNATURE_BYTES);
  off += SIGNATURE_BYTES;
  if (off !== bytes.length) {
    throw new BundleFormatError('malformed', `bundle has ${bytes.length - off} unexpected byte(s) after the signature`);
  }
  const header = parseHeaderJson(headerBytes);
  return { header, headerBytes, ephemeralPublic, nonce, ciphertext, tag, signature, signed, associatedData };
}

/** The associated data of a bundle: magic, version, header length, header, ephemeral key. */
export function associatedDataFor(headerBytes: Buffer, ephemeralPublic: Buffer): Buffer {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  BUNDLE_MAGIC.copy(prefix, 0);
  prefix[4] = BUNDLE_FORMAT_VERSION;
  prefix.writeUInt32BE(headerBytes.length, 5);
  return Buffer.concat([prefix, headerBytes, ephemeralPublic]);
}

/** Assemble the signed part of a bundle (everything but the signature). */
export function frameBundle(parts: { associatedData: Buffer; nonce: Buffer; ciphertext: Buffer; tag: Buffer }): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(parts.ciphertext.length, 0);
  return Buffer.concat([parts.associatedData, parts.nonce, len, parts.ciphertext, parts.tag]);
}

/** Check one subject against the format's rules; returns the problem or undefined. */
export function subjectProblem(s: WatchlistSubject, dimension: number): string | undefined {
  if (!SUBJECT_REF_PATTERN.test(s.ref)) return `subject ref '${s.ref}' must be 1-128 letters, digits, "_", "." or "-" starting with a letter or digit`;
  if (!CATEGORY_PATTERN.test(s.category)) return `subject ${s.ref}: category '${s.category}' must be 1-64 letters, digits, "_" or "-"`;
  if (s.name !== undefined && (s.name.length === 0 || Buffer.byteLength(s.name, 'utf8') > MAX_NAME_BYTES)) {
    return `subject ${s.ref}: name must be 1-${MAX_NAME_BYTES} bytes of UTF-8`;
  }
  if (s.embeddings.length < 1 || s.embeddings.length > MAX_EMBEDDINGS_PER_SUBJECT) {
    return `subject ${s.ref}: has ${s.embeddings.length} embeddings, expected 1..${MAX_EMBEDDINGS_PER_SUBJECT}`;
  }
  for (const [i, e] of s.embeddings.entries()) {
    if (e.length !== dimension) return `subject ${s.ref}: embedding ${i} has dimension ${e.length}, expected ${dimension}`;
    let sq = 0;
    for (let k = 0; k < e.length; k++) {
      if (!Number.isFinite(e[k])) return `subject ${s.ref}: embedding ${i} has a non-finite value`;
      sq += e[k] * e[k];
    }
    if (Math.abs(Math.sqrt(sq) - 1) > NORM_TOLERANCE) return `subject ${s.ref}: embedding ${i} is not L2-normalised (norm ${Math.sqrt(sq).toFixed(4)})`;
  }
  return undefined;
}

/** Serialise the subjects (already checked) into the plaintext layout. */
export function encodeSubjects(subjects: WatchlistSubject[], dimension: number): Buffer {
  let size = 6;
  for (const s of subjects) {
    size += 1 + Buffer.byteLength(s.ref) + 1 + Buffer.byteLength(s.category) + 2 + Buffer.byteLength(s.name ?? '') + 2;
    size += s.embeddings.length * dimension * 4;
  }
  const out = Buffer.alloc(size);
  let off = out.writeUInt32BE(subjects.length, 0);
  off = out.writeUInt16BE(dimension, off);
  for (const s of subjects) {
    off = out.writeUInt8(Buffer.byteLength(s.ref), off);
    off += out.write(s.ref, off, 'utf8');
    off = out.writeUInt8(Buffer.byteLength(s.category), off);
    off += out.write(s.category, off, 'utf8');
    off = out.writeUInt16BE(Buffer.byteLength(s.name ?? ''), off);
    off += out.write(s.name ?? '', off, 'utf8');
    off = out.writeUInt16BE(s.embeddings.length, off);
    for (const e of s.embeddings) for (let k = 0; k < dimension; k++) off = out.writeFloatLE(e[k], off);
  }
  return out;
}

/** Parse the plaintext layout; throws BundleFormatError('malformed') naming the problem. */
export function decodeSubjects(pt: Buffer): { dimension: number; subjects: WatchlistSubject[] } {
  const bad = (msg: string): never => {
    throw new BundleFormatError('malformed', `bundle content is malformed: ${msg}`);
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const view = new DataView(pt.buffer, pt.byteOffset, pt.byteLength);
  let off = 0;
  const take = (n: number, what: string): number => {
    if (off + n > pt.length) bad(`${what} runs past the end of the content`);
    const at = off;
    off += n;
    return at;
  };
  const text = (n: number, what: string): string => {
    const at = take(n, what);
    try {
      return utf8.decode(pt.subarray(at, at + n));
    } catch {
      return bad(`${what} is not UTF-8`);
    }
  };
  const count = view.getUint32(take(4, 'subject count'));
  const dimension = view.getUint16(take(2, 'dimension'));
  if (dimension < 1 || dimension > MAX_DIMENSION) bad(`dimension ${dimension} is outside 1..${MAX_DIMENSION}`);
  const subjects: WatchlistSubject[] = [];
  try {
    decodeInto(subjects);
  } catch (err) {
    for (const s of subjects) for (const e of s.embeddings) e.fill(0); // nothing decoded outlives a refusal
    throw err;
  }
  return { dimension, subjects };

  function decodeInto(subjects: WatchlistSubject[]): void {
    for (let i = 0; i < count; i++) {
      const ref = text(pt[take(1, `subject ${i} ref length`)], `subject ${i} ref`);
      const category = text(pt[take(1, `subject ${i} category length`)], `subject ${i} category`);
      const nameLength = view.getUint16(take(2, `subject ${i} name length`));
      const name = nameLength > 0 ? text(nameLength, `subject ${i} name`) : undefined;
      const n = view.getUint16(take(2, `subject ${i} embedding count`));
      const embeddings: Float32Array[] = [];
      const start = take(n * dimension * 4, `subject ${i} embeddings`);
      for (let j = 0; j < n; j++) {
        const e = new Float32Array(dimension);
        const base = start + j * dimension * 4;
        for (let k = 0; k < dimension; k++) e[k] = view.getFloat32(base + k * 4, true);
        embeddings.push(e);
      }
      const subject: WatchlistSubject = name === undefined ? { ref, category, embeddings } : { ref, category, name, embeddings };
      subjects.push(subject);
      const problem = subjectProblem(subject, dimension);
      if (problem) bad(problem);
    }
    if (off !== pt.length) bad(`${pt.length - off} unexpected byte(s) after the last subject`);
  }
}
