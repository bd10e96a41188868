/**
 * Watchlist bundles: built centrally, encrypted to one unit and signed by the authority; verified
 * and opened on the unit. Pure functions (keys, bytes and time in; bytes or data out; no I/O).
 *
 * Encryption: ephemeral X25519 with the unit's X25519 key -> HKDF-SHA256 (salt = ephemeral public
 * || unit public, info = HKDF_INFO) -> AES-256-GCM key; the header is bound in as associated data.
 * Signature: Ed25519 by the authority over everything before it (header and ciphertext included).
 * Byte layout: see bundle-format.ts and docs/security.md.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  associatedDataFor,
  BundleFormatError,
  BundleHeaderSchema,
  decodeSubjects,
  encodeSubjects,
  frameBundle,
  NONCE_BYTES,
  splitBundle,
  subjectProblem,
  type BundleHeader,
  type WatchlistSubject,
} from './bundle-format';
import { publicKeyFingerprint, rawPublicKey, type UnitKeys } from './keys';

export type { BundleHeader, WatchlistSubject } from './bundle-format';

export const HKDF_INFO = Buffer.from('lfr-edge watchlist bundle v1', 'ascii');

export type BundleRefusal =
  | 'too-large'
  | 'malformed'
  | 'truncated'
  | 'bad-signature'
  | 'wrong-unit'
  | 'expired'
  | 'wrong-model'
  | 'replayed'
  | 'decrypt-failed';

/** The unit refuses a bundle: `.code` says why (for the audit log and cmd-result), the message says what to do. */
export class BundleRefusedError extends Error {
  override name = 'BundleRefusedError';
  constructor(
    readonly code: BundleRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The bundle cannot be built from these inputs (central side). */
export class BundleBuildError extends Error {
  override name = 'BundleBuildError';
}

export interface OpenedBundle {
  header: BundleHeader;
  subjects: WatchlistSubject[];
}

export interface BuildBundleInput {
  subjects: WatchlistSubject[];
  /** The unit's X25519 public key (unit-x25519.pub). */
  unitX25519Public: KeyObject;
  /** If given, must equal the fingerprint of unitX25519Public (a cross-check against mixing up units). */
  unitFingerprint?: string;
  unitId?: string;
  /** The authority's Ed25519 private key. */
  authorityPrivate: KeyObject;
  sessionId: string;
  createdAt: Date;
  expiresAt: Date;
  embeddingModelSha256: string;
  /** Defaults to a random UUID. */
  bundleId?: string;
}

function deriveKey(shared: Buffer, ephemeralPublic: Buffer, unitPublic: Buffer): Buffer {
  const salt = Buffer.concat([ephemeralPublic, unitPublic]);
  return Buffer.from(hkdfSync('sha256', shared, salt, HKDF_INFO, 32));
}

/** Build a bundle; throws BundleBuildError if the unit would refuse what it was asked to build. */
export function buildBundle(input: BuildBundleInput): Buffer {
  if (input.unitX25519Public.asymmetricKeyType !== 'x25519') throw new BundleBuildError('unit key must be an X25519 public key (unit-x25519.pub)');
  if (input.authorityPrivate.type !== 'private' || input.authorityPrivate.asymmetricKeyType !== 'ed25519') {
    throw new BundleBuildError('authority key must be an Ed25519 private key (authority-ed25519.key)');
  }
  const fingerprint = publicKeyFingerprint(input.unitX25519Public);
  if (input.unitFingerprint !== undefined && input.unitFingerprint !== fingerprint) {
    throw new BundleBuildError(`unit fingerprint ${input.unitFingerprint} does not match the unit key given (${fingerprint})`);
  }
  if (input.subjects.length === 0) throw new BundleBuildError('a watchlist needs at least one subject');
  const dimension = input.subjects[0].embeddings[0]?.length ?? 0;
  const refs = new Set<string>();
  for (const s of input.subjects) {
    const problem = subjectProblem(s, dimension);
    if (problem) throw new BundleBuildError(problem);
    if (refs.has(s.ref)) throw new BundleBuildError(`subject ref ${s.ref} appears twice`);
    refs.add(s.ref);
  }
  const header: BundleHeader = {
    v: 1,
    bundleId: input.bundleId ?? randomUUID(),
    unitFingerprint: fingerprint,
    ...(input.unitId !== undefined ? { unitId: input.unitId } : {}),
    sessionId: input.sessionId,
    createdAt: input.createdAt.toISOString(),
    expiresAt: input.expiresAt.toISOString(),
    embeddingModelSha256: input.embeddingModelSha256,
    count: input.subjects.length,
    dimension,
    categories: [...new Set(input.subjects.map((s) => s.category))].sort(),
  };
  const checked = BundleHeaderSchema.safeParse(header);
  if (!checked.success) {
    throw new BundleBuildError(`bundle header would be invalid: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');

  const unitPublic = rawPublicKey(input.unitX25519Public);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralPublic = rawPublicKey(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: input.unitX25519Public });
  const key = deriveKey(shared, ephemeralPublic, unitPublic);
  shared.fill(0);
  const nonce = randomBytes(NONCE_BYTES);
  const associatedData = associatedDataFor(headerBytes, ephemeralPublic);
  const plaintext = encodeSubjects(input.subjects, dimension);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  plaintext.fill(0);
  key.fill(0);
  const signed = frameBundle({ associatedData, nonce, ciphertext, tag });
  const signature = sign(null, signed, input.authorityPrivate);
  return Buffer.concat([signed, signature]);
}

function refuse(code: BundleRefusal, message: string): never {
  throw new BundleRefusedError(code, message);
}

function split(bytes: Buffer) {
  try {
    return splitBundle(bytes);
  } catch (err) {
    if (err instanceof BundleFormatError) refuse(err.kind, err.message);
    throw err;
  }
}

/** The header, without keys and without checking the signature (for `watchlist inspect`). */
export function readBundleHeader(bytes: Buffer): BundleHeader {
  return split(bytes).header;
}

export interface VerifyContext {
  unitKeys: Pick<UnitKeys, 'x25519Private' | 'x25519Public'>;
  /** The provisioned authority's Ed25519 public key (the trust anchor). */
  authorityPublic: KeyObject;
  now: Date;
  /** sha256 of the embedding model this unit runs (verifyModels().embedderSha256). */
  embeddingModelSha256: string;
  isBundleIdUsed: (id: string) => boolean;
  /** Larger bundles are refused before any parsing. */
  maxBytes: number;
  /** When given, a header that names a unit id must name this one. */
  unitId?: string;
}

/**
 * Every check the unit makes before it accepts a bundle, in this order: size, framing and header,
 * signature, unit, expiry, model, replay, decryption, content. Throws BundleRefusedError.
 * The caller owns the returned embeddings (zero them when done); the plaintext is zeroed here.
 */
export function verifyAndOpenBundle(bytes: Buffer, ctx: VerifyContext): OpenedBundle {
  if (bytes.length > ctx.maxBytes) {
    refuse('too-large', `bundle is ${bytes.length} bytes, more than the configured limit of ${ctx.maxBytes} (watchlist.maxBundleBytes)`);
  }
  const parts = split(bytes);
  const { header } = parts;
  if (ctx.authorityPublic.asymmetricKeyType !== 'ed25519') throw new Error('authorityPublic must be an Ed25519 key');
  if (!verify(null, parts.signed, ctx.authorityPublic, parts.signature)) {
    refuse('bad-signature', 'bundle signature does not verify with the provisioned authority key: it was not signed by this authority, or it was altered');
  }
  const fingerprint = publicKeyFingerprint(ctx.unitKeys.x25519Public);
  if (header.unitFingerprint !== fingerprint) {
    refuse('wrong-unit', `bundle is for unit key ${header.unitFingerprint}, this unit's key is ${fingerprint}; build it with this unit's unit-x25519.pub`);
  }
  if (ctx.unitId !== undefined && header.unitId !== undefined && header.unitId !== ctx.unitId) {
    refuse('wrong-unit', `bundle names unit id ${header.unitId}, this unit is ${ctx.unitId}`);
  }
  if (ctx.now.getTime() >= Date.parse(header.expiresAt)) {
    refuse('expired', `bundle expired at ${header.expiresAt} (now ${ctx.now.toISOString()}); build a new one`);
  }
  if (header.embeddingModelSha256 !== ctx.embeddingModelSha256) {
    refuse(
      'wrong-model',
      `bundle was built with embedding model ${header.embeddingModelSha256}, this unit runs ${ctx.embeddingModelSha256}; rebuild it with the unit's model`,
    );
  }
  if (ctx.isBundleIdUsed(header.bundleId)) {
    refuse('replayed', `bundle ${header.bundleId} has already been used on this unit; each deployment needs a new bundle`);
  }

  let plaintext: Buffer;
  let key: Buffer | undefined;
  try {
    const ephemeral = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: parts.ephemeralPublic.toString('base64url') }, format: 'jwk' });
    const shared = diffieHellman({ privateKey: ctx.unitKeys.x25519Private, publicKey: ephemeral });
    key = deriveKey(shared, parts.ephemeralPublic, rawPublicKey(ctx.unitKeys.x25519Public));
    shared.fill(0);
    const decipher = createDecipheriv('aes-256-gcm', key, parts.nonce);
    decipher.setAAD(parts.associatedData);
    decipher.setAuthTag(parts.tag);
    plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch (err) {
    refuse('decrypt-failed', `bundle does not decrypt with this unit's X25519 key (${(err as Error).message}); it was encrypted to another key`);
  } finally {
    key?.fill(0);
  }
  let opened: { dimension: number; subjects: WatchlistSubject[] };
  try {
    opened = decodeSubjects(plaintext);
  } catch (err) {
    if (err instanceof BundleFormatError) refuse(err.kind, err.message);
    throw err;
  } finally {
    plaintext.fill(0);
  }
  const { dimension, subjects } = opened;
  const problem = contentProblem(header, dimension, subjects);
  if (problem) {
    zeroSubjects(subjects);
    refuse('malformed', problem);
  }
  return { header, subjects };
}

function contentProblem(header: BundleHeader, dimension: number, subjects: WatchlistSubject[]): string | undefined {
  if (subjects.length !== header.count) return `bundle header says ${header.count} subjects, the content has ${subjects.length}`;
  if (dimension !== header.dimension) return `bundle header says dimension ${header.dimension}, the content has ${dimension}`;
  if (new Set(subjects.map((s) => s.ref)).size !== subjects.length) return 'bundle content repeats a subject ref';
  const categories = [...new Set(subjects.map((s) => s.category))].sort();
  if (categories.join('\n') !== [...header.categories].sort().join('\n')) {
    return `bundle header lists categories ${header.categories.join(',')}, the content has ${categories.join(',')}`;
  }
  return undefined;
}

/** Overwrite every embedding of an opened bundle with zeros (when the session ends or the bundle is refused). */
export function zeroSubjects(subjects: WatchlistSubject[]): void {
  for (const s of subjects) for (const e of s.embeddings) e.fill(0);
}
