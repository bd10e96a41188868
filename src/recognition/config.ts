import { z } from 'zod';
import { SchedulerConfigSchema } from './scheduler';

export const TrackerConfigSchema = z.strictObject({
  /** A face continues a track when its box overlaps the track's last box by at least this IoU... */
  minIou: z.number().min(0).max(1).default(0.3),
  /** ...and its embedding is at least this similar to the track's (guards against identity swaps). */
  minContinuity: z.number().min(-1).max(1).default(0.25),
  /** Without box overlap (fast motion, a missed frame), a face continues a track at this similarity. */
  minReacquire: z.number().min(-1).max(1).default(0.55),
  /** A track ends after this many consecutive frames without its face. */
  maxUnseenFrames: z.number().int().min(1).max(600).default(15),
  /**
   * Without enough box overlap (small, fast faces; frames dropped before a track has a velocity),
   * a face continues a track when its centre is within this many box sides of the track's
   * predicted centre and its size is within `maxSizeRatio` of the track's. 0 = overlap only.
   */
  maxCentreShift: z.number().min(0).max(5).default(0.75),
  maxSizeRatio: z.number().min(1).max(4).default(1.5),
  /**
   * A track's first embedding this similar to a track lost in the last `maxUnseenFrames` frames
   * (not seen in this frame) continues that track: the fragment is merged (1.01 = never).
   */
  minMerge: z.number().min(-1).max(1.01).default(0.5),
});
export type TrackerConfig = z.infer<typeof TrackerConfigSchema>;

const RampSchema = z.tuple([z.number().min(0), z.number().min(0)]).refine((r) => r[1] > r[0], 'a ramp is [zero, full] with full > zero');

/** The track template of rule 'template' (src/recognition/track-template.ts). */
export const TemplateDecisionSchema = z.strictObject({
  /** K: the track's best K embeddings (by quality weight) are fused. */
  frames: z.number().int().min(1).max(50).default(5),
  /** 'quality': weighted by the quality weight; 'uniform': equal weights. */
  weighting: z.enum(['uniform', 'quality']).default('quality'),
  /** The template decides only once it fuses at least this many embeddings. */
  minFrames: z.number().int().min(1).max(50).default(2),
  /** The quality weight: a ramp from 0 at the first value to 1 at the second, per measure (floored at 0.05). */
  weight: z.strictObject({
    interOcularPx: RampSchema.default([10, 40]),
    sharpness: RampSchema.default([5, 60]),
  }).prefault({}),
}).refine((t) => t.minFrames <= t.frames, { message: 'template.minFrames must be at most template.frames', path: ['minFrames'] });
export type TemplateDecisionConfig = z.infer<typeof TemplateDecisionSchema>;

export const DecisionConfigSchema = z.strictObject({
  /**
   * 'min-frames': at least `minFrames` quality-passing frames of the track whose top-1 is the same
   * subject at or above the threshold. 'mean-best': the mean of the subject's best `bestCount`
   * top-1 scores in the track is at or above the threshold. 'template': the track's template (the
   * quality-weighted mean of its best `template.frames` embeddings) has its top-1 at or above the
   * fused threshold (calibrated on fused templates: models/calibration.json `fused`).
   */
  rule: z.enum(['min-frames', 'mean-best', 'template']).default('min-frames'),
  template: TemplateDecisionSchema.prefault({}),
  minFrames: z.number().int().min(1).max(100).default(3),
  bestCount: z.number().int().min(1).max(100).default(3),
  /** After an alert for a subject, no other alert for that subject (any track) for this long. */
  cooldownSeconds: z.number().min(0).max(86400).default(60),
  /**
   * A track's best face crop is held only while the subject's score is at least
   * `threshold - cropKeepBelow`: a candidate far below the threshold keeps no face.
   */
  cropKeepBelow: z.number().min(0).max(1).default(0.05),
});
export type DecisionConfig = z.infer<typeof DecisionConfigSchema>;

export const RecognitionConfigSchema = z.strictObject({
  tracker: TrackerConfigSchema.prefault({}),
  decision: DecisionConfigSchema.prefault({}),
  /** Which tracked faces get landmarks + embedding in a frame (src/recognition/scheduler.ts). */
  scheduler: SchedulerConfigSchema.prefault({}),
});
export type RecognitionConfig = z.infer<typeof RecognitionConfigSchema>;
