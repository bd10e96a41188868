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
 * A face may come without an embedding (empty: the live chain associates detections by box before
 * any embedding exists, and embeds only the faces its scheduler picks). Such a face continues a
 * track on box overlap alone (IoU >= minIou with the track's box moved by its velocity; never
 * reacquired without overlap) and does not change the track's embedding; a track started by one
 * takes the embedding of the first embedded face that joins it. `attachEmbedding()` adds a face's
 * embedding after association: a face too unlike its track (similarity < minContinuity, an
 * identity swap) is split off into a new track.
 *
 * Motion: each track keeps a velocity (box centre, pixels per second of frame time, smoothed); the
 * box overlap is measured against the box moved to the frame's time (fast walkers, dropped frames).
 * Small fast faces overlap little even so (a 50 px face moving 25 px a frame, before its track has
 * a velocity): without overlap, a face near the predicted box (centre within maxCentreShift box
 * sides, size within maxSizeRatio) continues the track, ranked below every overlapping pair.
 *
 * Fragments: a face that still starts a new track (missed association, a split) is merged into a
 * track lost recently (not seen in this frame, not yet ended) when its first embedding matches
 * that track's (similarity >= minMerge): attachEmbedding() reports the merged id, and the track
 * keeps its evidence.
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
  /** Box centre velocity, pixels per second of frame time. */
  velocity: [number, number];
  /** Frame time of the last sighting, seconds. */
  lastSec: number;
}

/**
 * How near `face` is to `track` without overlap: 1 (same centre) down to 0 (centre `maxShift` box
 * sides away), undefined when farther or the sizes differ by more than `maxSizeRatio`. Pure.
 */
export function nearness(track: Box, face: Box, maxShift: number, maxSizeRatio: number): number | undefined {
  if (!(maxShift > 0)) return undefined;
  const st = track[3] - track[1], sf = face[3] - face[1];
  if (!(st > 0 && sf > 0) || Math.max(st / sf, sf / st) > maxSizeRatio) return undefined;
  const d = Math.hypot((face[0] + face[2] - track[0] - track[2]) / 2, (face[1] + face[3] - track[1] - track[3]) / 2);
  const limit = maxShift * ((st + sf) / 2);
  return d <= limit ? 1 - d / limit : undefined;
}

/** A track's box moved by its velocity to frame time `atSec`. */
export function predictedBox(t: Pick<Track, 'box' | 'velocity' | 'lastSec'>, atSec: number): Box {
  const dt = Math.max(0, atSec - t.lastSec);
  const dx = t.velocity[0] * dt;
  const dy = t.velocity[1] * dt;
  return [t.box[0] + dx, t.box[1] + dy, t.box[2] + dx, t.box[3] + dy];
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

  /** What each track was before this frame's update (for attachEmbedding's split). */
  private before = new Map<number, Pick<Track, 'box' | 'lastSeen' | 'lastSec' | 'velocity' | 'hits'>>();

  /**
   * Associate a frame's faces with tracks. `at`: frame time, ms since the epoch (firstSeen,
   * lastSeen); `atSec`: frame time in seconds for motion (media time when known; default at/1000).
   */
  update(faces: readonly TrackFace[], at: number, atSec = at / 1000): TrackUpdate {
    const pairs: { t: Track; f: number; score: number }[] = [];
    this.before.clear();
    for (const t of this.tracks.values()) {
      const predicted = predictedBox(t, atSec);
      faces.forEach((face, f) => {
        const overlap = iou(predicted, face.box);
        // Box score: the overlap, or (no overlap to speak of) nearness, ranked below any overlap.
        const near = overlap >= this.cfg.minIou ? undefined : nearness(predicted, face.box, this.cfg.maxCentreShift, this.cfg.maxSizeRatio);
        const boxOk = overlap >= this.cfg.minIou || near !== undefined;
        const boxScore = overlap >= this.cfg.minIou ? overlap : this.cfg.minIou * 0.999 * (near ?? 0);
        if (t.embedding.length === 0 || face.embedding.length === 0) {
          // Without two embeddings to compare: the box alone.
          if (boxOk) pairs.push({ t, f, score: boxScore });
          return;
        }
        const sim = dot(t.embedding, face.embedding);
        const ok = (boxOk && sim >= this.cfg.minContinuity) || sim >= this.cfg.minReacquire;
        if (ok) pairs.push({ t, f, score: boxScore + sim });
      });
    }
    pairs.sort((a, b) => b.score - a.score);
    const trackIds = new Array<number>(faces.length).fill(0);
    const seen = new Set<number>();
    for (const p of pairs) {
      if (trackIds[p.f] || seen.has(p.t.id)) continue;
      trackIds[p.f] = p.t.id;
      seen.add(p.t.id);
      this.before.set(p.t.id, { box: p.t.box, lastSeen: p.t.lastSeen, lastSec: p.t.lastSec, velocity: p.t.velocity, hits: p.t.hits });
      this.extend(p.t, faces[p.f], at, atSec);
    }
    const started: number[] = [];
    faces.forEach((face, f) => {
      if (trackIds[f]) return;
      const t = this.start(face, at, atSec);
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

  /**
   * Add the embedding of a face associated (by box) with `trackId` in the last update(). Returns
   * the face's track: the same one, or a new one (reported in `started`) when the face is too
   * unlike the track (similarity < minContinuity): the track is then put back as it was before
   * this frame (not seen in it).
   */
  attachEmbedding(trackId: number, embedding: Float32Array): { trackId: number; started?: number; merged?: number } {
    const t = this.tracks.get(trackId);
    if (!t) throw new RangeError(`tracker: no active track ${trackId}`);
    if (embedding.length === 0) return { trackId };
    if (t.embedding.length > 0 && dot(t.embedding, embedding) < this.cfg.minContinuity) {
      const prev = this.before.get(trackId);
      const atSec = t.lastSec;
      const at = t.lastSeen;
      const box = t.box;
      if (prev) {
        Object.assign(t, { box: prev.box, lastSeen: prev.lastSeen, lastSec: prev.lastSec, velocity: prev.velocity, hits: prev.hits });
        t.unseenFrames++;
        this.before.delete(trackId);
      }
      // Another person: a track lost recently that this face continues, else a new track.
      const lost = this.lostMatch(embedding, trackId);
      if (lost) {
        this.before.set(lost.id, { box: lost.box, lastSeen: lost.lastSeen, lastSec: lost.lastSec, velocity: lost.velocity, hits: lost.hits });
        this.extend(lost, { box, embedding }, at, atSec);
        return { trackId: lost.id };
      }
      const fresh = this.start({ box, embedding }, at, atSec);
      return { trackId: fresh.id, started: fresh.id };
    }
    if (t.embedding.length === 0) {
      // The track's first embedding: is it a fragment of a track lost recently?
      const lost = this.lostMatch(embedding, trackId);
      if (lost) {
        this.mergeInto(lost, t, embedding);
        return { trackId: lost.id, merged: t.id };
      }
    }
    this.addEmbedding(t, embedding);
    return { trackId };
  }

  /** The best-matching track (similarity >= minMerge) not seen in this frame and not `except`. */
  private lostMatch(embedding: Float32Array, except: number): Track | undefined {
    let best: Track | undefined;
    let bestSim = this.cfg.minMerge;
    for (const o of this.tracks.values()) {
      if (o.id === except || o.unseenFrames === 0 || o.embedding.length === 0) continue;
      const sim = dot(o.embedding, embedding);
      if (sim >= bestSim) {
        best = o;
        bestSim = sim;
      }
    }
    return best;
  }

  /** `frag` (seen in this frame, no embedding yet) continues `into`: `into` takes its box, hits and time; `frag` is gone. */
  private mergeInto(into: Track, frag: Track, embedding: Float32Array): void {
    const dt = frag.lastSec - into.lastSec;
    const cx = (b: Box) => (b[0] + b[2]) / 2;
    const cy = (b: Box) => (b[1] + b[3]) / 2;
    into.velocity = frag.hits >= 2 ? frag.velocity : dt > 0 ? [(cx(frag.box) - cx(into.box)) / dt, (cy(frag.box) - cy(into.box)) / dt] : into.velocity;
    into.box = [...frag.box] as Box;
    into.lastSeen = frag.lastSeen;
    into.lastSec = frag.lastSec;
    into.hits += frag.hits;
    into.unseenFrames = 0;
    this.addEmbedding(into, embedding);
    frag.embedding.fill(0);
    this.tracks.delete(frag.id);
    this.before.delete(frag.id);
  }

  /** End every track (session end, camera restart): all biometric state is dropped. */
  endAll(): TrackUpdate['ended'] {
    return [...this.tracks.values()].map((t) => this.end(t));
  }

  private start(face: TrackFace, at: number, atSec: number): Track {
    const t: Track = {
      id: this.nextId++, firstSeen: at, lastSeen: at, hits: 1, unseenFrames: 0, box: [...face.box] as Box,
      embedding: new Float32Array(face.embedding), embeddedHits: face.embedding.length > 0 ? 1 : 0, velocity: [0, 0], lastSec: atSec,
    };
    this.tracks.set(t.id, t);
    return t;
  }

  private extend(t: Track, face: TrackFace, at: number, atSec: number): void {
    t.hits++;
    t.unseenFrames = 0;
    t.lastSeen = at;
    const dt = atSec - t.lastSec;
    if (dt > 0) {
      // Centre velocity, smoothed (half the new measurement): walkers move steadily.
      const cx = (b: Box) => (b[0] + b[2]) / 2;
      const cy = (b: Box) => (b[1] + b[3]) / 2;
      const vx = (cx(face.box) - cx(t.box)) / dt;
      const vy = (cy(face.box) - cy(t.box)) / dt;
      t.velocity = t.hits === 2 ? [vx, vy] : [(t.velocity[0] + vx) / 2, (t.velocity[1] + vy) / 2];
    }
    t.lastSec = atSec;
    t.box = [...face.box] as Box;
    this.addEmbedding(t, face.embedding);
  }

  private addEmbedding(t: Track, embedding: Float32Array): void {
    const face = { embedding };
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
