/**
 * Enrolment photos for a bundle: finding them (DIR/<subject-ref>/*) and judging each one's
 * analysis (pure: faces in, verdict out). A photo is refused when it shows no face, several faces
 * (faces whose box side is at least a third of the largest's; smaller background faces are
 * ignored, and so is a box lying mostly inside the largest face's box: no second person fits
 * inside a face, it is the detector firing on part of the same face) or a face that fails the
 * quality gate the unit applies.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Face } from '../vision/types';
import { isImageName } from '../vision/files';
import { SUBJECT_REF_PATTERN } from './bundle-format';

/** A face at least this fraction of the largest face's box side counts as a second subject. */
export const SEVERAL_FACES_MIN_SIDE_RATIO = 1 / 3;
/** A box with at least this fraction of its area inside the largest face's box is part of that face. */
export const INSIDE_LARGEST_MIN_FRACTION = 0.5;
/** With --names, a subject's name is the first line of this file in its folder. */
export const NAME_FILE = 'name.txt';

export type PhotoVerdict = { ok: true; face: Face } | { ok: false; reason: string };

const side = (f: Face) => Math.max(f.box[2] - f.box[0], f.box[3] - f.box[1]);

function fractionInside(f: Face, outer: Face): number {
  const w = Math.min(f.box[2], outer.box[2]) - Math.max(f.box[0], outer.box[0]);
  const h = Math.min(f.box[3], outer.box[3]) - Math.max(f.box[1], outer.box[1]);
  const area = (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
  return w > 0 && h > 0 && area > 0 ? (w * h) / area : 0;
}

export function judgeEnrolmentPhoto(faces: Face[]): PhotoVerdict {
  if (faces.length === 0) return { ok: false, reason: 'no face found' };
  const largest = faces.reduce((a, b) => (side(b) > side(a) ? b : a));
  const big = faces.filter(
    (f) => f === largest || (side(f) >= side(largest) * SEVERAL_FACES_MIN_SIDE_RATIO && fractionInside(f, largest) < INSIDE_LARGEST_MIN_FRACTION),
  );
  if (big.length > 1) return { ok: false, reason: `${big.length} faces found; use a photo (or a crop) showing the subject alone` };
  const q = largest.quality;
  if (!q.passed) {
    return {
      ok: false,
      reason:
        `face fails the quality gate (${q.reasons.join(', ')}): inter-ocular ${q.interOcularPx.toFixed(0)} px, ` +
        `sharpness ${q.sharpness.toFixed(0)}, yaw ${q.yawDeg.toFixed(0)}°, pitch ${q.pitchDeg.toFixed(0)}°, detector ${q.detScore.toFixed(2)}`,
    };
  }
  return { ok: true, face: largest };
}

export interface SubjectPhotos {
  ref: string;
  photos: string[];
  /** Non-image files found in the folder (reported, not used). */
  ignored: string[];
  /** From name.txt, read only when names are wanted. */
  name?: string;
}

/** DIR/<subject-ref>/<photos>, sorted. Throws an Error naming bad folder names or a missing DIR. */
export function listSubjectPhotos(dir: string, withNames: boolean): SubjectPhotos[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`photo folder ${dir} does not exist or is not a folder`);
  const entries = readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const strays = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
  if (strays.length) {
    throw new Error(`${dir} must hold one folder per subject (DIR/<subject-ref>/photos); found file(s) ${strays.slice(0, 5).join(', ')}`);
  }
  const refs = entries.map((e) => e.name).sort();
  const bad = refs.filter((r) => !SUBJECT_REF_PATTERN.test(r));
  if (bad.length) {
    throw new Error(`subject folder name(s) ${bad.join(', ')} are not valid references (1-128 letters, digits, "_", "." or "-")`);
  }
  if (refs.length === 0) throw new Error(`${dir} has no subject folders (expected DIR/<subject-ref>/photos)`);
  return refs.map((ref) => {
    const files = readdirSync(path.join(dir, ref)).filter((f) => !f.startsWith('.')).sort();
    const photos = files.filter(isImageName).map((f) => path.join(dir, ref, f));
    const ignored = files.filter((f) => !isImageName(f) && f !== NAME_FILE);
    const out: SubjectPhotos = { ref, photos, ignored };
    const nameFile = path.join(dir, ref, NAME_FILE);
    if (withNames && existsSync(nameFile)) {
      const name = readFileSync(nameFile, 'utf8').split('\n')[0].trim();
      if (name) out.name = name;
    }
    return out;
  });
}

/** "6h", "90m", "3600s", "1h30m" -> milliseconds; undefined if not a duration. */
export function parseDuration(s: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (!m || s.trim() === '') return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
