import { z } from 'zod';
import { PIPELINE_TEMPLATES, renderPipeline } from './pipeline-template';

export const CameraConfigSchema = z.strictObject({
  /** Pipeline template in gst-pipelines/ (jetson-csi, jetson-rtsp, usb-v4l2, rtsp, file, test). */
  template: z.enum(PIPELINE_TEMPLATES).default('test'),
  /** The template's variables (see gst-pipelines/<template>.json); unknown or missing ones are refused. */
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** No frame for this long while streaming: a stall, the camera is restarted. */
  stallTimeoutSeconds: z.number().gt(0).max(600).default(5),
  /** No first frame for this long after a (re)start: a stall. */
  startTimeoutSeconds: z.number().gt(0).max(600).default(15),
  backoff: z.strictObject({
    initialSeconds: z.number().gt(0).max(600).default(0.5),
    /** The longest wait between restarts: a network camera that comes back streams again within this (measured: test/camera/rtsp.test.ts). */
    maxSeconds: z.number().gt(0).max(3600).default(4),
    factor: z.number().min(1).max(10).default(2),
  }).prefault({}),
  /** Grace period for the camera process to stop its pipeline before it is killed. */
  stopTimeoutSeconds: z.number().gt(0).max(60).default(2),
}).superRefine((cfg, ctx) => {
  try {
    renderPipeline(cfg.template, cfg.settings);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['settings'], message: (err as Error).message });
  }
});
export type CameraConfig = z.infer<typeof CameraConfigSchema>;

/** CameraSource options from the config section. */
export function cameraSourceTimings(cfg: CameraConfig) {
  return {
    stallTimeoutMs: cfg.stallTimeoutSeconds * 1000,
    startTimeoutMs: cfg.startTimeoutSeconds * 1000,
    stopTimeoutMs: cfg.stopTimeoutSeconds * 1000,
    backoff: { initialMs: cfg.backoff.initialSeconds * 1000, maxMs: cfg.backoff.maxSeconds * 1000, factor: cfg.backoff.factor },
  };
}
