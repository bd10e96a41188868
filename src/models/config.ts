import { z } from 'zod';

export const ModelsConfigSchema = z.strictObject({
  /** Where the model files are installed (relative paths are from the package root). */
  dir: z.string().min(1).default('models'),
  /** The manifest that pins every model by sha256 and describes it. */
  manifest: z.string().min(1).default('models/manifest.json'),
  /** The embedder in use: a key of an `embedder` model in the manifest (bundles and calibrations name its sha256). */
  embedder: z.string().min(1).default('faceplugin-512'),
});
export type ModelsConfig = z.infer<typeof ModelsConfigSchema>;
