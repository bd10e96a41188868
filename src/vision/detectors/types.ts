/** The Detector interface: a frame (or a rectangle of it) in, face candidates in frame pixels out. */
import type { Rect } from '../resize';
import type { Box, Point, RgbImage } from '../types';

export interface Candidate {
  /** [x1, y1, x2, y2] as the detector gives it (not squared), frame pixels. */
  box: Box;
  score: number;
  /** Left eye, right eye, nose, left and right mouth corner, when the detector gives them. */
  fivePoints?: Point[];
}

export interface DetectorRun {
  /** After the score threshold and NMS, highest score first. */
  candidates: Candidate[];
  preMs: number;
  runMs: number;
  postMs: number;
}

export interface Detector {
  /** The manifest key of the model. */
  readonly key: string;
  /** The landmark model (manifest key) that gives five points, or undefined when the detector gives them. */
  readonly fivePointsFrom: string | undefined;
  /** Candidates in `roi` of `img` (default the whole frame), in frame pixels. */
  detect(img: RgbImage, roi?: Rect): Promise<DetectorRun>;
  close(): Promise<void>;
}

/** The score threshold and NMS IoU a detector uses: the configured ones, else its manifest entry's. */
export interface DetectorSettings {
  scoreThreshold: number;
  nmsIou: number;
  /** Dynamic-input detectors: the width the frame (or roi) is resized to before padding. */
  inputWidth?: number;
}

export function wholeFrame(img: RgbImage): Rect {
  return { x: 0, y: 0, w: img.width, h: img.height };
}
