/**
 * The model manifest: each model file pinned by sha256, with its source package and input spec.
 * `verifyModels()` runs at every start-up: a missing or altered file stops it with an error that
 * names the file and both hashes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { resolveFromRoot } from '../paths';
import type { ModelsConfig } from './config';

const ModelEntrySchema = z.object({
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: z.object({ name: z.string(), shape: z.array(z.number()) }).loose(),
  outputs: z.record(z.string(), z.array(z.number())),
});
export const ManifestSchema = z.object({
  v: z.literal(1),
  source: z.object({ package: z.string(), version: z.string(), dir: z.string(), license: z.string() }),
  models: z.object({ detector: ModelEntrySchema, landmarks: ModelEntrySchema, embedder: ModelEntrySchema }),
});
export type ModelManifest = z.infer<typeof ManifestSchema>;
export type ModelRole = keyof ModelManifest['models'];
export const MODEL_ROLES: readonly ModelRole[] = ['detector', 'landmarks', 'embedder'];

export class ModelError extends Error {
  override name = 'ModelError';
}

export interface VerifiedModels {
  manifest: ModelManifest;
  /** Absolute path per role, each verified against its sha256. */
  paths: Record<ModelRole, string>;
  /** The embedding model's sha256: watchlist bundles must name it. */
  embedderSha256: string;
}

export function loadManifest(file: string): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ModelError(`cannot read model manifest ${file}: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelError(`model manifest ${file} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Check every model named in the manifest; throws ModelError naming the file and both hashes. */
export function verifyModels(cfg: ModelsConfig): VerifiedModels {
  const manifest = loadManifest(resolveFromRoot(cfg.manifest));
  const dir = resolveFromRoot(cfg.dir);
  const paths = {} as Record<ModelRole, string>;
  for (const role of MODEL_ROLES) {
    const entry = manifest.models[role];
    const file = path.join(dir, entry.file);
    if (!existsSync(file)) {
      throw new ModelError(
        `${role} model ${file} is missing (expected sha256 ${entry.sha256}); install it with 'npm run models:install'`,
      );
    }
    const actual = sha256File(file);
    if (actual !== entry.sha256) {
      throw new ModelError(
        `${role} model ${file} has been altered: sha256 ${actual}, the manifest expects ${entry.sha256}; reinstall with 'npm run models:install'`,
      );
    }
    paths[role] = file;
  }
  return { manifest, paths, embedderSha256: manifest.models.embedder.sha256 };
}
