/** Data types of the vision core. Pure data: no classes, no I/O. */

/** An 8-bit RGB image, rows packed (stride = width * 3). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** [x1, y1, x2, y2] in source-image pixels. */
export type Box = [number, number, number, number];
export type Point = [number, number];

export interface Detection {
  box: Box;
  score: number;
}

/** Why a face failed the quality gate (one entry per failing measure). */
export type QualityReason = 'face-too-small' | 'blurry' | 'yaw' | 'pitch' | 'low-detector-score';

export interface FaceQuality {
  /** Distance between the eye centres in source pixels. */
  interOcularPx: number;
  /** Variance of the Laplacian on the aligned grey crop (the embedder's template size). */
  sharpness: number;
  /** Yaw / pitch estimates from the five points, degrees (0 = frontal). */
  yawDeg: number;
  pitchDeg: number;
  detScore: number;
  passed: boolean;
  reasons: QualityReason[];
}

export interface Face {
  /** Square face box used for landmarks, source pixels. */
  box: Box;
  detScore: number;
  /** The landmark model's points (68 with the shipped one), source pixels, when asked for (withLandmarks); empty otherwise, and when the detector gives the five points itself (YuNet). */
  landmarks: Point[];
  /** Left eye, right eye, nose, left mouth, right mouth, source pixels. */
  fivePoints: Point[];
  quality: FaceQuality;
  /** L2-normalised embedding (the embedder's dimension, 512 for the shipped one); compare two with a dot product (cosine). Empty when not embedded. */
  embedding: Float32Array;
  /** analyze({flipAverage: 'both'}) only: the embedding averaged with the mirror image's (enrolment). */
  flipAveraged?: Float32Array;
  /** The aligned RGB face at the embedder's template size (only when asked for: alerts' best crop). */
  aligned?: RgbImage;
  /** The face with a margin at the frame's resolution (only when asked for: an alert's crop). */
  context?: RgbImage;
}

/** Per-stage wall times of one analysis, milliseconds. */
export interface StageTimes {
  detectPre: number;
  detectRun: number;
  detectPost: number;
  landmarkPre: number;
  landmarkRun: number;
  align: number;
  quality: number;
  embedPre: number;
  embedRun: number;
  total: number;
}

/** One face found by the detector stage alone (detect()): no landmarks, quality or embedding yet. */
export interface DetectedFace {
  /** Square face box (as Face.box), source pixels. */
  box: Box;
  detScore: number;
  /** The five alignment points, when the detector gives them (YuNet); absent when a landmark stage derives them. */
  fivePoints?: Point[];
}

/** The detector stage's result for one frame: every face kept (zones/masks, NMS, min size), no cap. */
export interface FrameDetections {
  width: number;
  height: number;
  faces: DetectedFace[];
  /** Only the detect* stages and total are set. */
  times: StageTimes;
}

export interface FrameAnalysis {
  width: number;
  height: number;
  faces: Face[];
  times: StageTimes;
}
