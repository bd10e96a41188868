/**
 * Embed an evaluation image set: decode each file, analyse it, keep the face closest to the image
 * centre (LFW-style photos: the labelled person is the central face). Embeddings stay in memory for
 * this run only; nothing is written to disk.
 *
 * An unreadable or non-image file is reported (its error names the file) and the run goes on; an
 * image where no face is found is a detection failure. Faces below the quality gate are still used
 * (an evaluation measures the recogniser on every labelled photo) but counted.
 */
import type { Progress } from '../vision/progress';
import { centralFace } from '../vision/select';
import type { FaceQuality, FrameAnalysis, RgbImage } from '../vision/types';

export interface FaceSource {
  analyze(img: RgbImage, opts?: { transfer?: boolean; flipAverage?: boolean | 'both' }): Promise<FrameAnalysis>;
}

export interface ImageOutcome {
  /** The central face's embedding; absent when the file was unreadable or had no face. */
  embedding?: Float32Array;
  /** Set when the file could not be read or decoded. */
  error?: string;
  faces: number;
  /** The central face failed the quality gate (it is still used). */
  belowQuality?: boolean;
  /** alsoFlipAveraged files: the central face's flip-averaged embedding. */
  flipAveraged?: Float32Array;
  /** The central face's quality measures (track templates weight by them). */
  quality?: FaceQuality;
}

export interface EmbeddedSet {
  outcomes: Map<string, ImageOutcome>;
  unreadable: { file: string; error: string }[];
  noFace: string[];
  belowQuality: number;
  seconds: number;
}

export interface EmbedSetOptions {
  decode: (file: string) => Promise<RgbImage>;
  progress?: Progress;
  onUnreadable?: (file: string, error: string) => void;
  now?: () => number;
  /** Embed each face averaged with its mirror image (enrolment, as the unit enrols a subject). */
  flipAverage?: boolean;
  /** For these files also the flip-averaged embedding (`flipAveraged`), beside the plain one, from the same analysis. */
  alsoFlipAveraged?: (file: string) => boolean;
}

export async function embedImageSet(files: readonly string[], analysers: readonly FaceSource[], opts: EmbedSetOptions): Promise<EmbeddedSet> {
  if (analysers.length === 0) throw new RangeError('embedImageSet needs at least one analyser');
  const now = opts.now ?? Date.now;
  const start = now();
  const unique = [...new Set(files)];
  const outcomes = new Map<string, ImageOutcome>();
  let next = 0;
  type Decoded = { file: string; img?: RgbImage } | undefined;
  const decodeNext = async (): Promise<Decoded> => {
    const k = next++;
    if (k >= unique.length) return undefined;
    const file = unique[k];
    try {
      return { file, img: await opts.decode(file) };
    } catch (err) {
      const error = (err as Error).message;
      outcomes.set(file, { error, faces: 0 });
      opts.onUnreadable?.(file, error);
      opts.progress?.tick();
      return { file };
    }
  };
  // One analysis in flight per analyser (an analyser's buffers serve one frame at a time); the
  // next image is decoded while the current one is analysed.
  const lane = async (a: FaceSource): Promise<void> => {
    let pending = decodeNext();
    for (;;) {
      const cur = await pending;
      if (!cur) return;
      pending = decodeNext();
      if (!cur.img) continue;
      const { width, height } = cur.img;
      const flip = opts.flipAverage ? true : opts.alsoFlipAveraged?.(cur.file) ? ('both' as const) : undefined;
      const res = await a.analyze(cur.img, { transfer: true, ...(flip ? { flipAverage: flip } : {}) });
      const face = centralFace(res.faces, width, height);
      outcomes.set(cur.file, face
        ? { embedding: face.embedding, ...(face.flipAveraged ? { flipAveraged: face.flipAveraged } : {}), faces: res.faces.length, belowQuality: !face.quality.passed, quality: face.quality }
        : { faces: 0 });
      opts.progress?.tick();
    }
  };
  await Promise.all(analysers.map((a) => lane(a)));
  const unreadable: EmbeddedSet['unreadable'] = [];
  const noFace: string[] = [];
  let belowQuality = 0;
  for (const file of unique) {
    const o = outcomes.get(file)!;
    if (o.error) unreadable.push({ file, error: o.error });
    else if (!o.embedding) noFace.push(file);
    else if (o.belowQuality) belowQuality++;
  }
  return { outcomes, unreadable, noFace, belowQuality, seconds: (now() - start) / 1000 };
}
