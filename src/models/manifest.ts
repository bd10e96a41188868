/**
 * The model manifest: each model file pinned by sha256 and described fully as data (input name,
 * shape, layout, colour order, per-channel mean and scale; output names and shapes; decoding; for
 * embedders the alignment template and the embedding dimension). `verifyModels()` runs at every
 * start-up: a missing or altered file stops it with an error that names the file and both hashes.
 * Whether each file's inputs and outputs agree with its entry is checked when its session is
 * created (src/models/spec.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { resolveFromRoot } from '../paths';
import type { ModelsConfig } from './config';

/** A dimension: a number is static; a string names a dynamic dimension. */
const Dim = z.union([z.number().int().positive(), z.string().min(1)]);
const Shape = z.array(Dim).min(1);

const InputSchema = z.strictObject({
  name: z.string().min(1),
  shape: Shape,
  layout: z.literal('NCHW'),
  channels: z.enum(['RGB', 'BGR', 'GREY']),
  /** value = (v - mean[c]) * scale[c], v the 8-bit channel value, c in the model's channel order. */
  mean: z.array(z.number()).min(1).max(3),
  scale: z.array(z.number()).min(1).max(3),
  /** Dynamic height/width: the frame is resized to `width` (keeping its aspect) and padded right/bottom to multiples of `multipleOf`. */
  dynamic: z.strictObject({ multipleOf: z.number().int().positive(), width: z.number().int().positive() }).optional(),
});
export type ModelInputSpec = z.infer<typeof InputSchema>;

const Outputs = z.record(z.string().min(1), Shape);
const Base = {
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Key in `sources`. */
  source: z.string().min(1),
  /** The file is in the repository (not installed from a package). */
  committed: z.boolean().optional(),
  input: InputSchema,
  outputs: Outputs,
};

const UltraFaceDecode = z.strictObject({
  kind: z.literal('ultraface'),
  scores: z.string(),
  boxes: z.string(),
  scoreThreshold: z.number().min(0).max(1),
  nmsIou: z.number().min(0).max(1),
});
const YunetDecode = z.strictObject({
  kind: z.literal('yunet'),
  strides: z.array(z.number().int().positive()).min(1),
  /** Output names with `{stride}` standing for each stride. */
  cls: z.string(),
  obj: z.string(),
  bbox: z.string(),
  kps: z.string(),
  scoreThreshold: z.number().min(0).max(1),
  nmsIou: z.number().min(0).max(1),
});

const DetectorEntry = z.strictObject({
  kind: z.literal('detector'),
  ...Base,
  decode: z.discriminatedUnion('kind', [UltraFaceDecode, YunetDecode]),
  /** The landmark model (a manifest key) that gives this detector's faces their five points; absent when the detector gives them. */
  fivePoints: z.string().optional(),
});
const LandmarksEntry = z.strictObject({
  kind: z.literal('landmarks'),
  ...Base,
  decode: z.strictObject({
    kind: z.literal('relative-xy'),
    output: z.string(),
    points: z.number().int().positive(),
    /** For each of the five alignment points (left eye, right eye, nose, left and right mouth corner): the landmark indices averaged. */
    fivePoints: z.array(z.array(z.number().int().min(0)).min(1)).length(5),
  }),
});
const Point = z.tuple([z.number(), z.number()]);
const EmbedderEntry = z.strictObject({
  kind: z.literal('embedder'),
  ...Base,
  alignment: z.strictObject({
    method: z.literal('similarity'),
    /** [width, height] of the aligned crop (the model's input size). */
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    /** Where the five points go in the aligned crop. */
    points: z.array(Point).length(5),
  }),
  embedding: z.strictObject({ output: z.string(), dim: z.number().int().positive() }),
});

export const ModelEntrySchema = z.discriminatedUnion('kind', [DetectorEntry, LandmarksEntry, EmbedderEntry]);
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type DetectorModel = z.infer<typeof DetectorEntry>;
export type LandmarksModel = z.infer<typeof LandmarksEntry>;
export type EmbedderModel = z.infer<typeof EmbedderEntry>;
export type ModelKind = ModelEntry['kind'];

const SourceSchema = z.union([
  z.strictObject({ package: z.string(), version: z.string(), dir: z.string(), license: z.string() }),
  z.object({ license: z.string() }).loose(),
]);

export const ManifestSchema = z.object({
  v: z.literal(2),
  note: z.string().optional(),
  sources: z.record(z.string(), SourceSchema),
  models: z.record(z.string().min(1), ModelEntrySchema),
});
export type ModelManifest = z.infer<typeof ManifestSchema>;

export class ModelError extends Error {
  override name = 'ModelError';
}

export interface VerifiedModels {
  manifest: ModelManifest;
  /** Absolute path per model key, each verified against its sha256. */
  paths: Record<string, string>;
  /** The manifest key of the embedder in use (models.embedder). */
  embedder: string;
  /** The embedding model's sha256: watchlist bundles and calibrations must name it. */
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
  const m = parsed.data;
  for (const [key, e] of Object.entries(m.models)) {
    if (!m.sources[e.source]) throw new ModelError(`model manifest ${file}: ${key}.source '${e.source}' is not in sources`);
    if (e.kind === 'detector' && e.fivePoints !== undefined && m.models[e.fivePoints]?.kind !== 'landmarks') {
      throw new ModelError(`model manifest ${file}: ${key}.fivePoints '${e.fivePoints}' is not a landmarks model of the manifest`);
    }
  }
  return m;
}

/** The entry of `key`, which must be of `kind`; the error names the keys of that kind there are. */
export function modelOfKind<K extends ModelKind>(manifest: ModelManifest, key: string, kind: K): Extract<ModelEntry, { kind: K }> {
  const e = manifest.models[key];
  if (!e || e.kind !== kind) {
    const have = Object.entries(manifest.models).filter(([, m]) => m.kind === kind).map(([k]) => k);
    throw new ModelError(`'${key}' is not a ${kind} model in the manifest (${kind} models: ${have.join(', ') || 'none'})`);
  }
  return e as Extract<ModelEntry, { kind: K }>;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Check every model named in the manifest; throws ModelError naming the file and both hashes. */
export function verifyModels(cfg: ModelsConfig): VerifiedModels {
  const manifest = loadManifest(resolveFromRoot(cfg.manifest));
  const dir = resolveFromRoot(cfg.dir);
  const embedder = modelOfKind(manifest, cfg.embedder, 'embedder');
  const paths: Record<string, string> = {};
  for (const [key, entry] of Object.entries(manifest.models)) {
    const file = path.join(dir, entry.file);
    const fix = entry.committed ? 'it is committed in the repository: restore it with git' : "install it with 'npm run models:install'";
    if (!existsSync(file)) {
      throw new ModelError(`${entry.kind} model ${key}: ${file} is missing (expected sha256 ${entry.sha256}); ${fix}`);
    }
    const actual = sha256File(file);
    if (actual !== entry.sha256) {
      throw new ModelError(
        `${entry.kind} model ${key}: ${file} has been altered: sha256 ${actual}, the manifest expects ${entry.sha256}; ${entry.committed ? 'restore it with git' : "reinstall with 'npm run models:install'"}`,
      );
    }
    paths[key] = file;
  }
  return { manifest, paths, embedder: cfg.embedder, embedderSha256: embedder.sha256 };
}
