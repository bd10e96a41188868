/** Real keys in temp dirs and small watchlists of random unit vectors, for the bundle tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildBundle, type BuildBundleInput } from '../../src/watchlist/bundle';
import type { WatchlistSubject } from '../../src/watchlist/bundle-format';
import { generateAuthorityKeys, generateUnitKeys, loadAuthorityKeys, loadUnitKeys, type AuthorityKeys, type UnitKeys } from '../../src/watchlist/keys';

export const MODEL_SHA = 'a'.repeat(64);
export const CREATED = new Date('2026-03-01T08:00:00.000Z');
export const EXPIRES = new Date('2026-03-01T14:00:00.000Z');
export const DURING = new Date('2026-03-01T09:00:00.000Z');

/** A deterministic L2-normalised vector (xorshift), so two runs give the same watchlist. */
export function unitVector(seed: number, dimension = 512): Float32Array {
  let x = (seed * 2654435761) >>> 0 || 1;
  const v = new Float32Array(dimension);
  let sq = 0;
  for (let i = 0; i < dimension; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    v[i] = x / 0xffffffff - 0.5;
    sq += v[i] * v[i];
  }
  const n = Math.sqrt(sq);
  for (let i = 0; i < dimension; i++) v[i] /= n;
  return v;
}

export function twoSubjects(): WatchlistSubject[] {
  return [
    { ref: 'CASE-0001', category: 'wanted', embeddings: [unitVector(1)] },
    { ref: 'CASE-0002', category: 'missing', name: 'Zoë Example', embeddings: [unitVector(2), unitVector(3)] },
  ];
}

export interface Parties {
  dir: string;
  unit: UnitKeys;
  otherUnit: UnitKeys;
  authority: AuthorityKeys;
  otherAuthority: AuthorityKeys;
}

export function makeParties(): Parties {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-bundle-'));
  for (const d of ['unit', 'other-unit']) generateUnitKeys(path.join(dir, d));
  for (const d of ['authority', 'other-authority']) generateAuthorityKeys(path.join(dir, d));
  return {
    dir,
    unit: loadUnitKeys(path.join(dir, 'unit')),
    otherUnit: loadUnitKeys(path.join(dir, 'other-unit')),
    authority: loadAuthorityKeys(path.join(dir, 'authority')),
    otherAuthority: loadAuthorityKeys(path.join(dir, 'other-authority')),
  };
}

export function build(p: Parties, over: Partial<BuildBundleInput> = {}): Buffer {
  return buildBundle({
    subjects: twoSubjects(),
    unitX25519Public: p.unit.x25519Public,
    authorityPrivate: p.authority.ed25519Private,
    sessionId: 'op-2026-03-01',
    createdAt: CREATED,
    expiresAt: EXPIRES,
    embeddingModelSha256: MODEL_SHA,
    ...over,
  });
}
