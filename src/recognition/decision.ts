/**
 * The alert decision: evidence of a whole track, never a single frame. Pure: observations with
 * their time in, at most one Alert out; no I/O, no clock.
 *
 * Evidence for a subject in a track = the track's quality-passing frames whose top-1 is that
 * subject at or above the threshold (rule 'min-frames': at least minFrames of them), or the mean
 * of the subject's best `bestCount` top-1 scores in the track (rule 'mean-best': at or above the
 * threshold). A track raises at most one alert per subject; a subject alerted within the cooldown
 * (any track) is not alerted again, and that track stays silent for it.
 *
 * Per (track, subject) only counters, the best scores and one crop are kept: the crop of the
 * frame with the subject's highest score ("the best face crop of the track"), and only when that
 * score is within `cropKeepBelow` of the threshold (the caller passes crops only when they can be
 * sent). Everything of a
 * track is dropped (crops zeroed) when the track ends; an alert's crop belongs to the alert and
 * is released by whoever sends it (`releaseAlertCrop`).
 */
import type { FaceQuality, RgbImage } from '../vision/types';
import type { DecisionConfig } from './config';

export interface DecisionBasis {
  threshold: number;
  /** The false-alert rate the threshold was calibrated for (per non-watchlist face). */
  falseAlertRate: number;
  watchlistSize: number;
  decidingGroup?: string;
}

export interface Observation {
  trackId: number;
  /** Frame time, ms since the epoch. */
  at: number;
  quality: FaceQuality;
  /** Top-1 of the face against the watchlist (undefined: empty watchlist). */
  top1?: { ref: string; category: string; score: number };
  /** The face crop for the officer (only kept if it is the track's best for a subject). */
  crop?: RgbImage;
}

export interface Alert {
  trackId: number;
  subject: { ref: string; category: string };
  /** Best single-frame score for 'min-frames'; the mean of the best scores for 'mean-best'. */
  score: number;
  bestScore: number;
  threshold: number;
  falseAlertRate: number;
  watchlistSize: number;
  decidingGroup?: string;
  rule: DecisionConfig['rule'];
  /** Quality-passing frames of this track whose top-1 was the subject at/above the threshold. */
  framesOfEvidence: number;
  /** Frames of the track seen so far (any quality). */
  framesSeen: number;
  firstSeen: number;
  lastSeen: number;
  /** Quality of the best frame. */
  quality: FaceQuality;
  crop?: RgbImage;
}

interface SubjectEvidence {
  category: string;
  above: number;
  best: number[]; // descending, at most max(bestCount, 1)
  bestQuality?: FaceQuality;
  crop?: RgbImage;
  done: boolean; // alerted, or silenced by the cooldown
}

interface TrackEvidence {
  firstSeen: number;
  lastSeen: number;
  frames: number;
  subjects: Map<string, SubjectEvidence>;
}

export interface DecisionCounts {
  alerts: number;
  suppressedByCooldown: number;
}

export class AlertDecider {
  private readonly tracks = new Map<number, TrackEvidence>();
  private readonly lastAlertAt = new Map<string, number>();
  private readonly counts: DecisionCounts = { alerts: 0, suppressedByCooldown: 0 };

  constructor(private readonly cfg: DecisionConfig, readonly basis: DecisionBasis) {
    if (!Number.isFinite(basis.threshold)) throw new RangeError(`decision: threshold must be a number, got ${basis.threshold}`);
  }

  get stats(): DecisionCounts {
    return { ...this.counts };
  }

  observe(obs: Observation): Alert | undefined {
    let tr = this.tracks.get(obs.trackId);
    if (!tr) {
      tr = { firstSeen: obs.at, lastSeen: obs.at, frames: 0, subjects: new Map() };
      this.tracks.set(obs.trackId, tr);
    }
    tr.frames++;
    tr.lastSeen = Math.max(tr.lastSeen, obs.at);
    const m = obs.top1;
    if (!m || !obs.quality.passed) return undefined;
    let ev = tr.subjects.get(m.ref);
    if (!ev) {
      ev = { category: m.category, above: 0, best: [], done: false };
      tr.subjects.set(m.ref, ev);
    }
    if (ev.done) return undefined;
    if (m.score >= this.basis.threshold) ev.above++;
    const keep = Math.max(this.cfg.bestCount, 1);
    if (ev.best.length < keep || m.score > ev.best[ev.best.length - 1]) {
      const isBest = ev.best.length === 0 || m.score > ev.best[0];
      ev.best.push(m.score);
      ev.best.sort((a, b) => b - a);
      if (ev.best.length > keep) ev.best.length = keep;
      if (isBest) {
        ev.bestQuality = obs.quality;
        // only candidates near the threshold keep a face (recognition.decision.cropKeepBelow)
        if (obs.crop && m.score >= this.basis.threshold - this.cfg.cropKeepBelow) {
          ev.crop?.data.fill(0);
          ev.crop = obs.crop;
        }
      }
    }
    const meanBest = ev.best.length >= this.cfg.bestCount
      ? ev.best.slice(0, this.cfg.bestCount).reduce((a, b) => a + b, 0) / this.cfg.bestCount
      : -Infinity;
    const enough = this.cfg.rule === 'min-frames' ? ev.above >= this.cfg.minFrames : meanBest >= this.basis.threshold;
    if (!enough) return undefined;
    ev.done = true;
    const last = this.lastAlertAt.get(m.ref);
    if (last !== undefined && obs.at - last < this.cfg.cooldownSeconds * 1000) {
      this.counts.suppressedByCooldown++;
      this.dropCrop(ev);
      return undefined;
    }
    this.lastAlertAt.set(m.ref, obs.at);
    this.counts.alerts++;
    const crop = ev.crop;
    ev.crop = undefined; // now the alert's: released by the sender
    return {
      trackId: obs.trackId,
      subject: { ref: m.ref, category: ev.category },
      score: this.cfg.rule === 'min-frames' ? ev.best[0] : meanBest,
      bestScore: ev.best[0],
      threshold: this.basis.threshold,
      falseAlertRate: this.basis.falseAlertRate,
      watchlistSize: this.basis.watchlistSize,
      ...(this.basis.decidingGroup ? { decidingGroup: this.basis.decidingGroup } : {}),
      rule: this.cfg.rule,
      framesOfEvidence: ev.above,
      framesSeen: tr.frames,
      firstSeen: tr.firstSeen,
      lastSeen: tr.lastSeen,
      quality: ev.bestQuality ?? obs.quality,
      ...(crop ? { crop } : {}),
    };
  }

  /** The track ended: drop all its evidence and crops. */
  endTrack(trackId: number): void {
    const tr = this.tracks.get(trackId);
    if (!tr) return;
    for (const ev of tr.subjects.values()) this.dropCrop(ev);
    tr.subjects.clear();
    this.tracks.delete(trackId);
  }

  /** End every track (session end). Cooldowns are forgotten too. */
  endAll(): void {
    for (const id of [...this.tracks.keys()]) this.endTrack(id);
    this.lastAlertAt.clear();
  }

  /** Whether this image is held as some track's best crop. */
  holdsCrop(img: RgbImage): boolean {
    for (const tr of this.tracks.values()) for (const ev of tr.subjects.values()) if (ev.crop === img) return true;
    return false;
  }

  /** Tracks with evidence held (tests, health). */
  get trackCount(): number {
    return this.tracks.size;
  }

  private dropCrop(ev: SubjectEvidence): void {
    ev.crop?.data.fill(0);
    ev.crop = undefined;
  }
}

/** Call once an alert's crop has been sent (or abandoned): zero it and forget it. */
export function releaseAlertCrop(alert: Alert): void {
  alert.crop?.data.fill(0);
  delete alert.crop;
}
