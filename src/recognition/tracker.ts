/**
 * Tracker: follows each person's face across frames by box overlap (IoU) and embedding
 * continuity. Pure: faces and the frame time in, track assignments out; no I/O, no clock.
 *
 * A face continues a track when (IoU >= minIou and similarity >= minContinuity) or, without
 * overlap, when similarity >= minReacquire; pairs are assigned greedily, best (IoU + similarity)
 * first, each track and face at most once. Unmatched faces start tracks. A track unseen for more
 * than maxUnseenFrames frames ends: its embedding is zeroed and forgotten (nothing is kept or
 * written), and its id is reported so the decision drops its evidence too.
 *
 * A face may come without an embedding (empty: the live chain does not embed faces that fail the
 * quality gate). Such a face continues a track on box overlap alone (IoU >= minIou; never
 * reacquired without overlap) and does not change the track's embedding; a track started by one
 * takes the embedding of the first embedded face that joins it.
 */
import { iou } from '../vision/detector';
import { cosine as dot } from '../vision/embedder';
import type { Box, Face } from '../vision/types';
import type { TrackerConfig } from './config';

export interface Track {
  id: number;
  firstSeen: number;
  lastSeen: number;
  /** Frames in which the track's face was seen. */
  hits: number;
  unseenFrames: number;
  box: Box;
  /**
   * Running mean of the track's embeddings, re-normalised (biometric: zeroed when the track ends).
   * Empty while no face of the track had an embedding.
   */
  embedding: Float32Array;
  /** Frames whose face had an embedding (the weight of the running mean). */
  embeddedHits: number;
}

export interface TrackUpdate {
  /** One entry per input face, same order: the track it belongs to. */
  trackIds: number[];
  /** Tracks that started in this frame. */
  started: number[];
  /** Tracks that ended in this frame (all their biometric state is already gone). */
  ended: { id: number; firstSeen: number; lastSeen: number; hits: number }[];
}

// Box overlap and embedding similarity are the vision core's own (one definition each).
export { iou } from '../vision/detector';
export { cosine as dot } from '../vision/embedder';

type TrackFace = Pick<Face, 'box' | 'embedding'>;

export class Tracker {
  private readonly tracks = new Map<number, Track>();
  private nextId = 1;

  constructor(private readonly cfg: TrackerConfig) {}

  get active(): readonly Track[] {
    return [...this.tracks.values()];
  }

  update(faces: readonly TrackFace[], at: number): TrackUpdate {
    const pairs: { t: Track; f: number; score: number }[] = [];
    for (const t of this.tracks.values()) {
      faces.forEach((face, f) => {
        const overlap = iou(t.box, face.box);
        if (t.embedding.length === 0 || face.embedding.length === 0) {
          // Without two embeddings to compare: box overlap alone.
          if (overlap >= this.cfg.minIou) pairs.push({ t, f, score: overlap });
          return;
        }
        const sim = dot(t.embedding, face.embedding);
        const ok = (overlap >= this.cfg.minIou && sim >= this.cfg.minContinuity) || sim >= this.cfg.minReacquire;
        if (ok) pairs.push({ t, f, score: overlap + sim });
      });
    }
    pairs.sort((a, b) => b.score - a.score);
    const trackIds = new Array<number>(faces.length).fill(0);
    const seen = new Set<number>();
    for (const p of pairs) {
      if (trackIds[p.f] || seen.has(p.t.id)) continue;
      trackIds[p.f] = p.t.id;
      seen.add(p.t.id);
      this.extend(p.t, faces[p.f], at);
    }
    const started: number[] = [];
    faces.forEach((face, f) => {
      if (trackIds[f]) return;
      const t: Track = { id: this.nextId++, firstSeen: at, lastSeen: at, hits: 1, unseenFrames: 0, box: [...face.box] as Box, embedding: new Float32Array(face.embedding), embeddedHits: face.embedding.length > 0 ? 1 : 0 };
      this.tracks.set(t.id, t);
      trackIds[f] = t.id;
      started.push(t.id);
      seen.add(t.id);
    });
    const ended: TrackUpdate['ended'] = [];
    for (const t of [...this.tracks.values()]) {
      if (seen.has(t.id)) continue;
      t.unseenFrames++;
      if (t.unseenFrames > this.cfg.maxUnseenFrames) ended.push(this.end(t));
    }
    return { trackIds, started, ended };
  }

  /** End every track (session end, camera restart): all biometric state is dropped. */
  endAll(): TrackUpdate['ended'] {
    return [...this.tracks.values()].map((t) => this.end(t));
  }

  private extend(t: Track, face: TrackFace, at: number): void {
    t.hits++;
    t.unseenFrames = 0;
    t.lastSeen = at;
    t.box = [...face.box] as Box;
    if (face.embedding.length === 0) return;
    t.embeddedHits++;
    if (t.embedding.length === 0) {
      t.embedding = new Float32Array(face.embedding);
      return;
    }
    // Running mean (weight of history capped so that the track follows slow changes), re-normalised.
    const w = Math.min(t.embeddedHits - 1, 9) / Math.min(t.embeddedHits, 10);
    let norm = 0;
    for (let i = 0; i < t.embedding.length; i++) {
      const v = w * t.embedding[i] + (1 - w) * face.embedding[i];
      t.embedding[i] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < t.embedding.length; i++) t.embedding[i] /= norm;
  }

  private end(t: Track): TrackUpdate['ended'][number] {
    t.embedding.fill(0);
    this.tracks.delete(t.id);
    return { id: t.id, firstSeen: t.firstSeen, lastSeen: t.lastSeen, hits: t.hits };
  }
}
