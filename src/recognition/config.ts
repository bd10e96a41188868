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

export const DecisionConfigSchema = z.strictObject({
  /**
   * 'min-frames': at least `minFrames` quality-passing frames of the track whose top-1 is the same
   * subject at or above the threshold. 'mean-best': the mean of the subject's best `bestCount`
   * top-1 scores in the track is at or above the threshold.
   */
  rule: z.enum(['min-frames', 'mean-best']).default('min-frames'),
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
