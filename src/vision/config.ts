import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

export const QualityConfigSchema = z.strictObject({
  /** Minimum inter-ocular distance in pixels of the source image. */
  minInterOcularPx: z.number().min(0).default(20),
  /** Minimum variance of the Laplacian on the aligned grey 112x112 crop. */
  minSharpness: z.number().min(0).default(15),
  /** Maximum |yaw| estimate in degrees. */
  maxYawDeg: z.number().min(0).max(90).default(45),
  /** Maximum |pitch| estimate in degrees. */
  maxPitchDeg: z.number().min(0).max(90).default(35),
  /** Minimum detector score for a face to be used for matching. */
  minDetScore: z.number().min(0).max(1).default(0.8),
});
export type QualityConfig = z.infer<typeof QualityConfigSchema>;

export const VisionConfigSchema = z.strictObject({
  /** Execution providers in order of preference; unavailable ones are skipped with the reason logged. */
  providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).default(['tensorrt', 'cuda', 'cpu']),
  /** ORT intra-op threads per session (spinning is turned off). */
  intraOpThreads: z.number().int().min(1).max(16).default(1),
  /** GPU device id for tensorrt/cuda. */
  deviceId: z.number().int().min(0).default(0),
  /** TensorRT EP-context models (built at provisioning by scripts/build-trt-engines.js; relative to the package root). */
  trtCacheDir: z.string().default('models/trt-cache'),
  /** Detector score threshold for a face candidate. */
  detThreshold: z.number().min(0).max(1).default(0.65),
  /** NMS IoU threshold. */
  nmsIou: z.number().min(0).max(1).default(0.4),
  /** Boxes smaller than this (square side, source pixels) are not analysed further. */
  minFaceSidePx: z.number().min(0).default(24),
  quality: QualityConfigSchema.prefault({}),
});
export type VisionConfig = z.infer<typeof VisionConfigSchema>;
