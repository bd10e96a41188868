import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

export const QualityConfigSchema = z.strictObject({
  /**
   * Minimum inter-ocular distance in pixels of the source image. 14: below it a degraded face's
   * single-frame TAR at FMR 1e-3 collapses (10-14 px 19%, < 10 px 4%; 14-20 px 42%), measured by
   * `lfr-edge eval quality` (docs/accuracy.md#quality-bands). The per-band thresholds keep the
   * false-alert rate for the faces it lets through.
   */
  minInterOcularPx: z.number().min(0).default(14),
  /** Minimum variance of the Laplacian on the aligned grey crop. 5: the same measurement (2-5: 17%, 5-10: 49%). */
  minSharpness: z.number().min(0).default(5),
  /** Maximum |yaw| estimate in degrees. */
  maxYawDeg: z.number().min(0).max(90).default(45),
  /** Maximum |pitch| estimate in degrees. */
  maxPitchDeg: z.number().min(0).max(90).default(35),
  /** Minimum detector score for a face to be used for matching. */
  minDetScore: z.number().min(0).max(1).default(0.8),
});
export type QualityConfig = z.infer<typeof QualityConfigSchema>;

const PointSchema = z.tuple([z.number(), z.number()]);
const PolygonSchema = z.array(PointSchema).min(3, 'a zone polygon needs at least 3 points');

/** Detection zones and masks (docs/camera.md): applied to live video only, never to still photos. */
export const ZonesConfigSchema = z
  .strictObject({
    /** 'normalised': x, y in 0..1 of the frame's width and height; 'pixels': frame pixels. */
    units: z.enum(['normalised', 'pixels']).default('normalised'),
    /** A face is kept only when its box centre is inside one of these (none: the whole frame). */
    include: z.array(PolygonSchema).default([]),
    /** A face whose box centre is inside one of these is dropped. */
    exclude: z.array(PolygonSchema).default([]),
    /** The detector sees only the include zones' bounding box (more detector pixels for small faces). */
    cropToZones: z.boolean().default(false),
  })
  .superRefine((z, ctx) => {
    if (z.units !== 'normalised') return;
    [...z.include.map((p, i) => ['include', i, p] as const), ...z.exclude.map((p, i) => ['exclude', i, p] as const)].forEach(([k, i, poly]) => {
      if (poly.some(([x, y]) => x < 0 || x > 1 || y < 0 || y > 1)) ctx.addIssue({ code: 'custom', path: [k, i], message: 'normalised zone points must be within 0..1 (or set units to "pixels")' });
    });
    if (z.cropToZones && z.include.length === 0) ctx.addIssue({ code: 'custom', path: ['cropToZones'], message: 'cropToZones needs at least one include zone' });
  });
export type ZonesConfig = z.infer<typeof ZonesConfigSchema>;

export const VisionConfigSchema = z.strictObject({
  /** The vision worker's supervisor (src/daemon/vision-supervisor.ts): a crashed worker is restarted after this backoff, capped. */
  restartBackoff: z.strictObject({
    initialSeconds: z.number().gt(0).max(600).default(1),
    maxSeconds: z.number().gt(0).max(3600).default(30),
    factor: z.number().min(1).max(10).default(2),
  }).prefault({}),
  /** Execution providers in order of preference; unavailable ones are skipped with the reason logged. */
  providers: z.array(z.enum(EXECUTION_PROVIDERS)).min(1).default(['tensorrt', 'cuda', 'cpu']),
  /** ORT intra-op threads per session (spinning is turned off). */
  intraOpThreads: z.number().int().min(1).max(16).default(1),
  /** GPU device id for tensorrt/cuda. */
  deviceId: z.number().int().min(0).default(0),
  /** TensorRT EP-context models (built at provisioning by scripts/build-trt-engines.js; relative to the package root). */
  trtCacheDir: z.string().default('models/trt-cache'),
  /** The precision the TensorRT engines are built with (scripts/build-trt-engines.js --fp16 / --no-fp16); an engine whose sidecar says otherwise is refused. */
  trtPrecision: z.enum(['fp16', 'fp32']).default('fp16'),
  /**
   * The detector for live video (detect()): a detector key in models/manifest.json. Default
   * yunet-n-lm68 (YuNet 640 boxes, five points from the 68-point model): it finds 45-75 px faces
   * that UltraFace 320 misses, aligned as the watchlist and the calibration are (docs/accuracy.md).
   */
  detector: z.string().min(1).default('yunet-n-lm68'),
  /** The detector for still photos (analyze(): enrolment, eval, embed): a detector key in the manifest. */
  stillDetector: z.string().min(1).default('ultraface-320'),
  /** Dynamic-input detectors: the width the frame (or the zones' box) is resized to; a multiple of 32 (default: the manifest's). */
  detectorInputWidth: z.number().int().min(32).max(4096).multipleOf(32).optional(),
  /** Detector score threshold for a face candidate (default: the detector's manifest entry). */
  detThreshold: z.number().min(0).max(1).optional(),
  /** NMS IoU threshold (default: the detector's manifest entry). */
  nmsIou: z.number().min(0).max(1).optional(),
  /**
   * Boxes smaller than this (square side, source pixels) are not analysed further (no landmarks).
   * 28 = 2 x minInterOcularPx: below the measured box side of faces at the size gate (5th
   * percentile 2.54 x the inter-ocular distance), so it skips only faces that could not pass it.
   */
  minFaceSidePx: z.number().min(0).default(28),
  /** Detection zones and masks for live video. */
  zones: ZonesConfigSchema.prefault({}),
  quality: QualityConfigSchema.prefault({}),
});
export type VisionConfig = z.infer<typeof VisionConfigSchema>;
