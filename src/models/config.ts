import { z } from 'zod';

export const ModelsConfigSchema = z.strictObject({
  /** Where the model files are installed (relative paths are from the package root). */
  dir: z.string().min(1).default('models'),
  /** The manifest that pins every model by sha256. */
  manifest: z.string().min(1).default('models/manifest.json'),
});
export type ModelsConfig = z.infer<typeof ModelsConfigSchema>;
