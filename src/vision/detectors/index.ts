/** A Detector for a manifest entry: the entry's decode kind picks the implementation. */
import type { DetectorModel } from '../../models/manifest';
import type { OrtModel } from '../ort';
import type { Detector, DetectorSettings } from './types';
import { UltraFaceDetector } from './ultraface';
import { YunetDetector } from './yunet';

export type { Candidate, Detector, DetectorRun, DetectorSettings } from './types';

export function createDetector(key: string, entry: DetectorModel, model: OrtModel, settings: DetectorSettings): Detector {
  const decode = entry.decode;
  switch (decode.kind) {
    case 'ultraface':
      return new UltraFaceDetector(key, { ...entry, decode }, model, settings);
    case 'yunet':
      return new YunetDetector(key, { ...entry, decode }, model, settings);
  }
}
