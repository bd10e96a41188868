import { z } from 'zod';

export const WatchlistConfigSchema = z.strictObject({
  /**
   * Bundles larger than this are refused before any parsing. 64 MiB holds about 30,000 512-d
   * embeddings; a start-session command carries the bundle base64-encoded (4/3 larger), so
   * mqtt.commands.maxPayloadBytes must allow for that.
   */
  maxBundleBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Ids of bundles already used on this unit (one per line), in paths.stateDir unless absolute. */
  usedBundleIdsFile: z.string().min(1).default('used-bundle-ids'),
});
export type WatchlistConfig = z.infer<typeof WatchlistConfigSchema>;
