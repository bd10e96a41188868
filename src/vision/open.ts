import type { Config } from '../config';
import type { Logger } from '../log';
import { verifyModels } from '../models/manifest';
import { VisionWorker } from './worker-client';

/** Verify the models against the manifest, then start the vision worker. */
export async function openVision(cfg: Config, logger: Logger): Promise<VisionWorker> {
  const models = verifyModels(cfg.models);
  return VisionWorker.start(cfg.vision, models, logger, { logLevel: cfg.logging.level as never });
}
