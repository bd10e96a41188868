import t from 'tap';
import { createCipheriv, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, sign } from 'node:crypto';
import {
  BundleBuildError,
  BundleRefusedError,
  HKDF_INFO,
  readBundleHeader,
  verifyAndOpenBundle,
  zeroSubjects,
  type VerifyContext,
} from '../../src/watchlist/bundle';
import { associatedDataFor, encodeSubjects, frameBundle, MIN_BUNDLE_BYTES, splitBundle, type BundleHeader } from '../../src/watchlist/bundle-format';
import { publicKeyFingerprint, rawPublicKey } from '../../src/watchlist/keys';
import { build, CREATED, DURING, EXPIRES, makeParties, MODEL_SHA, twoSubjects, unitVector, type Parties } from './fixtures';

const p = makeParties();

function ctx(over: Partial<VerifyContext> = {}): VerifyContext {
  return {
    unitKeys: p.unit,
    authorityPublic: p.authority.ed25519Public,
    now: DURING,
    embeddingModelSha256: MODEL_SHA,
    isBundleIdUsed: () => false,
    maxBytes: 1 << 20,
    ...over,
  };
}

/** Assert a refusal with this code and a message matching `message`. */
function refused(t: Tap.Test, fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
    t.fail(`expected a '${code}' refusal, the bundle was accepted`);
  } catch (err) {
    t.type(err, BundleRefusedError);
    t.equal((err as BundleRefusedError).code, code, (err as Error).message);
    t.match((err as Error).message, message);
  }
}

/**
 * Seal arbitrary plaintext under an arbitrary header exactly as the builder does (so that the
 * signature and the AEAD both verify) to reach the content checks behind them.
 */
function sealRaw(parties: Parties, header: object, plaintext: Buffer): Buffer {
  const headerBytes = Buffer.from(JSON.stringify(header));
  const eph = generateKeyPairSync('x25519');
  const ephPub = rawPublicKey(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: parties.unit.x25519Public });
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephPub, rawPublicKey(parties.unit.x25519Public)]), HKDF_INFO, 32));
  const nonce = randomBytes(12);
  const associatedData = associatedDataFor(headerBytes, ephPub);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(associatedData);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  const signed = frameBundle({ associatedData, nonce, ciphertext, tag: c.getAuthTag() });
  return Buffer.concat([signed, sign(null, signed, parties.authority.ed25519Private)]);
}

/** Replace the header of a bundle (same length or not) and re-sign it with the authority. */
function reHeader(bytes: Buffer, edit: (h: BundleHeader) => object, signer = p.authority.ed25519Private): Buffer {
  const parts = splitBundle(bytes);
  const headerBytes = Buffer.from(JSON.stringify(edit({ ...parts.header })));
  const associatedData = associatedDataFor(headerBytes, Buffer.from(parts.ephemeralPublic));
  const signed = frameBundle({ associatedData, nonce: parts.nonce, ciphertext: parts.ciphertext, tag: parts.tag });
  return Buffer.concat([signed, sign(null, signed, signer)]);
}

function header(over: Partial<BundleHeader> = {}): BundleHeader {
  return {
    v: 1,
    bundleId: '0f5c1f3e-1111-4222-8333-444455556666',
    unitFingerprint: publicKeyFingerprint(p.unit.x25519Public),
    sessionId: 'op-1',
    createdAt: CREATED.toISOString(),
    expiresAt: EXPIRES.toISOString(),
    embeddingModelSha256: MODEL_SHA,
    count: 2,
    dimension: 512,
    categories: ['missing', 'wanted'],
    ...over,
  };
}

t.test('round trip: the unit opens what the authority built for it, exactly', async (t) => {
  const bytes = build(p, { unitId: 'unit-7', bundleId: 'b-0000-0001' });
  const opened = verifyAndOpenBundle(bytes, ctx({ unitId: 'unit-7' }));
  t.same(opened.header, {
    v: 1,
    bundleId: 'b-0000-0001',
    unitFingerprint: publicKeyFingerprint(p.unit.x25519Public),
    unitId: 'unit-7',
    sessionId: 'op-2026-03-01',
    createdAt: '2026-03-01T08:00:00.000Z',
    expiresAt: '2026-03-01T14:00:00.000Z',
    embeddingModelSha256: MODEL_SHA,
    count: 2,
    dimension: 512,
    categories: ['missing', 'wanted'],
  });
  const want = twoSubjects();
  t.equal(opened.subjects.length, 2);
  for (let i = 0; i < 2; i++) {
    t.equal(opened.subjects[i].ref, want[i].ref);
    t.equal(opened.subjects[i].category, want[i].category);
    t.equal(opened.subjects[i].name, want[i].name);
    t.equal(opened.subjects[i].embeddings.length, want[i].embeddings.length);
    opened.subjects[i].embeddings.forEach((e, j) => t.same(Array.from(e), Array.from(want[i].embeddings[j]), `subject ${i} embedding ${j} bit-exact`));
  }
  t.notOk('name' in opened.subjects[0], 'no name when none was given');
  zeroSubjects(opened.subjects);
  t.ok(opened.subjects.every((s) => s.embeddings.every((e) => e.every((v) => v === 0))), 'zeroSubjects zeroes every embedding');
  t.equal(readBundleHeader(bytes).bundleId, 'b-0000-0001', 'the header is readable without keys');
  t.notOk(bytes.includes(Buffer.from(want[0].embeddings[0].buffer)), 'no embedding in clear in the bundle');
  t.notOk(bytes.includes(Buffer.from('Zoë Example')), 'no name in clear in the bundle');
  const ids = [build(p), build(p)].map((b) => readBundleHeader(b).bundleId);
  t.match(ids[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID by default');
  t.not(ids[0], ids[1]);
});

t.test('two builds of the same watchlist share no ciphertext (fresh ephemeral key and nonce)', async (t) => {
  const a = splitBundle(build(p, { bundleId: 'same-id-0001' }));
  const b = splitBundle(build(p, { bundleId: 'same-id-0001' }));
  t.not(a.ephemeralPublic.toString('hex'), b.ephemeralPublic.toString('hex'));
  t.not(a.ciphertext.subarray(0, 32).toString('hex'), b.ciphertext.subarray(0, 32).toString('hex'));
});

t.test('each refusal, with its code and a message saying what was wrong', async (t) => {
  const good = build(p);
  verifyAndOpenBundle(good, ctx()); // sanity: the same context accepts the good bundle

  refused(t, () => verifyAndOpenBundle(good, ctx({ maxBytes: good.length - 1 })), 'too-large', /bundle is \d+ bytes, more than the configured limit of \d+/);
  refused(t, () => verifyAndOpenBundle(Buffer.from('PK\x03\x04 this is a zip file, not a bundle at all, really not, no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no'), ctx()), 'malformed', /does not start with "LFWL"/);
  const v2 = Buffer.from(good);
  v2[4] = 2;
  refused(t, () => verifyAndOpenBundle(v2, ctx()), 'malformed', /format version 2 is not supported/);
  refused(t, () => verifyAndOpenBundle(Buffer.concat([good, Buffer.from([0])]), ctx()), 'malformed', /1 unexpected byte\(s\) after the signature/);
  refused(t, () => verifyAndOpenBundle(good.subarray(0, good.length - 1), ctx()), 'truncated', /bundle is truncated/);
  refused(t, () => verifyAndOpenBundle(good.subarray(0, 3), ctx()), 'truncated', /truncated: the magic needs bytes up to 4/);
  refused(t, () => verifyAndOpenBundle(Buffer.alloc(0), ctx()), 'truncated', /truncated/);

  refused(t, () => verifyAndOpenBundle(good, ctx({ authorityPublic: p.otherAuthority.ed25519Public })), 'bad-signature', /does not verify with the provisioned authority key/);
  refused(t, () => verifyAndOpenBundle(build(p, { authorityPrivate: p.otherAuthority.ed25519Private }), ctx()), 'bad-signature', /not signed by this authority/);
  refused(t, () => verifyAndOpenBundle(good, ctx({ unitKeys: p.otherUnit })), 'wrong-unit', /bundle is for unit key [0-9a-f]{32}, this unit's key is [0-9a-f]{32}/);
  refused(t, () => verifyAndOpenBundle(build(p, { unitId: 'unit-7' }), ctx({ unitId: 'unit-8' })), 'wrong-unit', /names unit id unit-7, this unit is unit-8/);
  refused(t, () => verifyAndOpenBundle(good, ctx({ now: EXPIRES })), 'expired', /bundle expired at 2026-03-01T14:00:00.000Z \(now 2026-03-01T14:00:00.000Z\)/);
  refused(t, () => verifyAndOpenBundle(good, ctx({ now: new Date('2027-01-01T00:00:00Z') })), 'expired', /build a new one/);
  refused(t, () => verifyAndOpenBundle(good, ctx({ embeddingModelSha256: 'b'.repeat(64) })), 'wrong-model', /built with embedding model a{64}, this unit runs b{64}/);
  const id = readBundleHeader(good).bundleId;
  refused(t, () => verifyAndOpenBundle(good, ctx({ isBundleIdUsed: (x) => x === id })), 'replayed', new RegExp(`bundle ${id} has already been used`));
});

t.test('the header is bound into the AEAD: a re-signed, edited header does not decrypt', async (t) => {
  // Even the authority's own signature over an edited header cannot reuse another bundle's ciphertext.
  const edited = reHeader(build(p), (h) => ({ ...h, expiresAt: '2026-03-01T15:00:00.000Z' }));
  refused(t, () => verifyAndOpenBundle(edited, ctx()), 'decrypt-failed', /does not decrypt with this unit's X25519 key/);
  // Encrypted to the other unit but labelled (and signed) for this one.
  const mislabelled = reHeader(build(p, { unitX25519Public: p.otherUnit.x25519Public }), (h) => ({ ...h, unitFingerprint: publicKeyFingerprint(p.unit.x25519Public) }));
  refused(t, () => verifyAndOpenBundle(mislabelled, ctx()), 'decrypt-failed', /encrypted to another key/);
});

t.test('header problems are malformed', async (t) => {
  const good = build(p);
  const cases: [string, (h: BundleHeader) => object, RegExp][] = [
    ['unknown field', (h) => ({ ...h, extra: 1 }), /Unrecognized key.*extra/],
    ['missing count', ({ count: _c, ...h }) => h, /count/],
    ['lifetime over 12 h', (h) => ({ ...h, expiresAt: '2026-03-01T20:00:00.001Z' }), /at most 12 h/],
    ['expires before created', (h) => ({ ...h, expiresAt: h.createdAt }), /expiresAt must be after createdAt/],
    ['bad model hash', (h) => ({ ...h, embeddingModelSha256: 'xyz' }), /embeddingModelSha256: 64 lowercase hex/],
    ['version 2 in the header', (h) => ({ ...h, v: 2 }), /v:/],
  ];
  for (const [what, edit, msg] of cases) {
    refused(t, () => verifyAndOpenBundle(reHeader(good, edit), ctx()), 'malformed', msg);
    t.comment(what);
  }
  const notJson = Buffer.from(good);
  const h = splitBundle(good).headerBytes;
  notJson[9] = '['.charCodeAt(0); // header starts at offset 9
  t.equal(h[0], '{'.charCodeAt(0));
  refused(t, () => verifyAndOpenBundle(notJson, ctx()), 'malformed', /bundle header is (not UTF-8 JSON|invalid)/);
});

t.test('content that disagrees with its (signed, decryptable) header is malformed', async (t) => {
  const subjects = twoSubjects();
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ count: 3 }), encodeSubjects(subjects, 512)), ctx()), 'malformed', /header says 3 subjects, the content has 2/);
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ dimension: 128 }), encodeSubjects(subjects, 512)), ctx()), 'malformed', /header says dimension 128, the content has 512/);
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ categories: ['wanted'] }), encodeSubjects(subjects, 512)), ctx()), 'malformed', /lists categories wanted, the content has missing,wanted/);
  const dup = [subjects[0], { ...subjects[0] }];
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ categories: ['wanted'] }), encodeSubjects(dup, 512)), ctx()), 'malformed', /repeats a subject ref/);
  const pt = encodeSubjects(subjects, 512);
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header(), pt.subarray(0, pt.length - 3)), ctx()), 'malformed', /subject 1 embeddings runs past the end/);
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header(), Buffer.concat([pt, Buffer.alloc(2)])), ctx()), 'malformed', /2 unexpected byte\(s\) after the last subject/);
  const notNormal = [{ ref: 'X1', category: 'wanted', embeddings: [unitVector(9).map((v) => v * 2)] }];
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ count: 1, categories: ['wanted'] }), encodeSubjects(notNormal, 512)), ctx()), 'malformed', /subject X1: embedding 0 is not L2-normalised/);
  const nan = unitVector(4);
  nan[7] = NaN;
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ count: 1, categories: ['wanted'] }), encodeSubjects([{ ref: 'X2', category: 'wanted', embeddings: [nan] }], 512)), ctx()), 'malformed', /non-finite/);
  const badRef = encodeSubjects([{ ref: 'AB', category: 'wanted', embeddings: [unitVector(5)] }], 512);
  badRef[7] = '/'.charCodeAt(0); // u32 count, u16 dimension, u8 ref length, then the ref
  refused(t, () => verifyAndOpenBundle(sealRaw(p, header({ count: 1, categories: ['wanted'] }), badRef), ctx()), 'malformed', /subject ref '\/B' must be/);
});

t.test('every truncation and every single flipped byte of a small bundle is refused', async (t) => {
  const good = build(p);
  t.ok(good.length > 6000 && good.length < 7000, `a 2-subject, 3-embedding, 512-d bundle is ${good.length} bytes`);
  const allowed = new Set(['malformed', 'truncated', 'bad-signature', 'decrypt-failed', 'wrong-unit', 'expired', 'wrong-model']);
  const codes: Record<string, number> = {};
  let accepted = 0;
  let wrongError = 0;
  const tryOne = (bytes: Buffer, what: string) => {
    try {
      verifyAndOpenBundle(bytes, ctx());
      accepted++;
      t.fail(`accepted with ${what}`);
    } catch (err) {
      const code = err instanceof BundleRefusedError ? err.code : `threw ${(err as Error).name}`;
      codes[code] = (codes[code] ?? 0) + 1;
      if (!allowed.has(code)) {
        wrongError++;
        if (wrongError < 5) t.fail(`${what}: ${code}: ${(err as Error).message}`);
      }
    }
  };
  const started = Date.now();
  for (let i = 0; i < good.length; i++) {
    for (const mask of [0xff, 0x01]) {
      const bad = Buffer.from(good);
      bad[i] ^= mask;
      tryOne(bad, `byte ${i} ^ 0x${mask.toString(16)}`);
    }
  }
  for (let n = 0; n < good.length; n++) tryOne(good.subarray(0, n), `only the first ${n} bytes`);
  t.equal(accepted, 0, 'no altered bundle is accepted');
  t.equal(wrongError, 0, 'every alteration is refused with a BundleRefusedError');
  t.equal(codes.truncated! + (codes.malformed ?? 0) + (codes['bad-signature'] ?? 0) + (codes['decrypt-failed'] ?? 0) + (codes['wrong-unit'] ?? 0) + (codes.expired ?? 0) + (codes['wrong-model'] ?? 0), good.length * 3);
  t.ok(codes['bad-signature'] > good.length, 'most single-byte changes are caught by the signature');
  t.comment(`${good.length * 3} altered bundles in ${Date.now() - started} ms: ${JSON.stringify(codes)}`);
  t.ok(MIN_BUNDLE_BYTES < good.length);
});

t.test('the builder refuses what the unit would refuse, saying what is wrong', async (t) => {
  const s = twoSubjects();
  const cases: [string, Parameters<typeof build>[1], RegExp][] = [
    ['no subjects', { subjects: [] }, /at least one subject/],
    ['12 h cap', { expiresAt: new Date(CREATED.getTime() + 12 * 3600e3 + 1) }, /at most 12 h/],
    ['expired before created', { expiresAt: CREATED }, /expiresAt must be after createdAt/],
    ['duplicate ref', { subjects: [s[0], { ...s[0] }] }, /subject ref CASE-0001 appears twice/],
    ['bad ref', { subjects: [{ ...s[0], ref: '../etc' }] }, /subject ref '..\/etc' must be/],
    ['bad category', { subjects: [{ ...s[0], category: 'a b' }] }, /category 'a b' must be/],
    ['dimension mismatch', { subjects: [s[0], { ...s[1], embeddings: [unitVector(7, 128)] }] }, /embedding 0 has dimension 128, expected 512/],
    ['not normalised', { subjects: [{ ...s[0], embeddings: [new Float32Array(512)] }] }, /not L2-normalised/],
    ['bad session id', { sessionId: 'a b' }, /sessionId/],
    ['bad model sha', { embeddingModelSha256: 'abc' }, /embeddingModelSha256/],
    ['fingerprint cross-check', { unitFingerprint: '0'.repeat(32) }, /unit fingerprint 0{32} does not match the unit key given/],
    ['unit key type', { unitX25519Public: p.unit.ed25519Public }, /unit key must be an X25519 public key/],
    ['authority key type', { authorityPrivate: p.unit.x25519Private }, /authority key must be an Ed25519 private key/],
  ];
  for (const [what, over, msg] of cases) t.throws(() => build(p, over), { name: 'BundleBuildError', message: msg }, what);
  t.type(new BundleBuildError('x'), Error);
});
