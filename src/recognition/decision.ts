/**
 * The alert decision: evidence of a whole track, never a single frame. Pure: observations with
 * their time in, at most one Alert out; no I/O, no clock.
 *
 * Evidence for a subject in a track = the track's quality-passing frames whose top-1 is that
 * subject at or above the threshold (rule 'min-frames': at least minFrames of them), or the mean
 * of the subject's best `bestCount` top-1 scores in the track (rule 'mean-best': at or above the
 * threshold), or (rule 'template') the top-1 of the track's template, the quality-weighted mean
 * of its best K embeddings (track-template.ts, kept by the chain), at or above the fused threshold
 * once the template fuses at least `template.minFrames` embeddings. A track raises at most one alert per subject; a subject alerted within the cooldown
 * (any track) is not alerted again, and that track stays silent for it.
 *
 * Quality bands (calibration `quality`, issue 10): a face's threshold is its band's (`basis.bands`,
 * from `thresholdTable` at session start: never below the base threshold); a face in no band gets
 * the base one. 'min-frames' counts a frame when its score reaches its own band's threshold;
 * 'mean-best' compares the mean with the highest threshold among the frames averaged. The alert
 * states the band and the threshold its score was held to.
 *
 * Per (track, subject) only counters, the best scores and one crop are kept: the crop of the
 * frame with the subject's highest score ("the best face crop of the track"), and only when that
 * score is within `cropKeepBelow` of the threshold (the caller passes crops only when they can be
 * sent). Everything of a
 * track is dropped (crops zeroed) when the track ends; an alert's crop belongs to the alert and
 * is released by whoever sends it (`releaseAlertCrop`).
 */
import type { FaceQuality, RgbImage } from '../vision/types';
import { bandOf, type QualityBand } from './calibration';
import type { DecisionConfig } from './config';

/** A quality band with the threshold a face in it must reach (at least the base threshold). */
export interface BandThreshold extends QualityBand {
  threshold: number;
  decidingGroup?: string;
}

export interface DecisionBasis {
  /** The threshold for a face in no band (or with a calibration without bands). */
  threshold: number;
  /** The false-alert rate the threshold was calibrated for (per non-watchlist face). */
  falseAlertRate: number;
  watchlistSize: number;
  decidingGroup?: string;
  /** Per quality band, its threshold (the calibration's bands; absent: every face gets `threshold`). */
  bands?: BandThreshold[];
  /** The threshold for a track template's fused score (rule 'template'; thresholdFor({fused: true})). */
  fusedThreshold?: number;
  /** What set the fused threshold ('fused', or the single-face distribution when it was higher). */
  fusedDecidingGroup?: string;
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
  /** Rule 'template': the track template's top-1 when this frame changed the template, and how many embeddings it fuses. */
  fused?: { top1?: { ref: string; category: string; score: number }; frames: number };
}

export interface Alert {
  trackId: number;
  subject: { ref: string; category: string };
  /** 'min-frames': the best score among the frames counted as evidence; 'mean-best': the mean of the best scores; 'template': the track template's score. */
  score: number;
  bestScore: number;
  /** The threshold `score` was held to: the band's (see `band`), else the base threshold. */
  threshold: number;
  /** The quality band whose threshold that is (absent: the face was in no band, or no bands). */
  band?: string;
  falseAlertRate: number;
  watchlistSize: number;
  decidingGroup?: string;
  rule: DecisionConfig['rule'];
  /** True when the decision was on the track's fused template (rule 'template'), false for single frames. */
  fused: boolean;
  /** Rule 'template': embeddings fused into the template that decided. */
  templateFrames?: number;
  /** Quality-passing frames of this track whose top-1 was the subject at/above the threshold (rule 'template': the template's frames). */
  framesOfEvidence: number;
  /** Frames of the track seen so far (any quality). */
  framesSeen: number;
  firstSeen: number;
  lastSeen: number;
  /** Quality of the best frame. */
  quality: FaceQuality;
  crop?: RgbImage;
}

interface Scored {
  score: number;
  threshold: number;
  band?: string;
}

interface SubjectEvidence {
  category: string;
  above: number;
  /** The highest-scoring frame counted in `above` (it reached its own band's threshold). */
  bestAbove?: Scored;
  best: Scored[]; // descending by score, at most max(bestCount, 1)
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
    if (cfg.rule === 'template' && !Number.isFinite(basis.fusedThreshold)) {
      throw new RangeError(`decision: rule 'template' needs a fused threshold (thresholdFor with fused), got ${basis.fusedThreshold}`);
    }
  }

  get stats(): DecisionCounts {
    return { ...this.counts };
  }

  /** The threshold a face of this quality must reach, and its band. */
  thresholdOf(q: FaceQuality): { threshold: number; band?: string } {
    const bands = this.basis.bands;
    if (!bands?.length) return { threshold: this.basis.threshold };
    const name = bandOf(bands, q);
    const b = name === undefined ? undefined : bands.find((x) => x.name === name);
    return b ? { threshold: Math.max(b.threshold, this.basis.threshold), band: b.name } : { threshold: this.basis.threshold };
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
    if (m && obs.quality.passed) {
      const ev = this.evidence(tr, m.ref, m.category);
      if (!ev.done) {
        const own = this.thresholdOf(obs.quality);
        if (m.score >= own.threshold) {
          ev.above++;
          if (!ev.bestAbove || m.score > ev.bestAbove.score) ev.bestAbove = { score: m.score, ...own };
        }
        const keep = Math.max(this.cfg.bestCount, 1);
        if (ev.best.length < keep || m.score > ev.best[ev.best.length - 1].score) {
          const isBest = ev.best.length === 0 || m.score > ev.best[0].score;
          ev.best.push({ score: m.score, ...own });
          ev.best.sort((a, b) => b.score - a.score);
          if (ev.best.length > keep) ev.best.length = keep;
          if (isBest) {
            ev.bestQuality = obs.quality;
            // only candidates near the threshold keep a face (recognition.decision.cropKeepBelow)
            if (obs.crop && m.score >= own.threshold - this.cfg.cropKeepBelow) {
              ev.crop?.data.fill(0);
              ev.crop = obs.crop;
            }
          }
        }
        if (this.cfg.rule !== 'template') {
          // The threshold the evidence is held to: for 'min-frames' the best counted frame's (each counted
          // frame reached its own band's); for 'mean-best' the highest among the frames averaged.
          let heldTo: Scored = ev.bestAbove ?? ev.best[0];
          let meanBest = -Infinity;
          if (ev.best.length >= this.cfg.bestCount) {
            const used = ev.best.slice(0, this.cfg.bestCount);
            meanBest = used.reduce((a, b) => a + b.score, 0) / this.cfg.bestCount;
            if (this.cfg.rule === 'mean-best') heldTo = used.reduce((a, b) => (b.threshold > a.threshold ? b : a));
          }
          const enough = this.cfg.rule === 'min-frames' ? ev.above >= this.cfg.minFrames : meanBest >= heldTo.threshold;
          if (enough) return this.raise(obs, tr, m.ref, ev, { ...heldTo, score: this.cfg.rule === 'min-frames' ? heldTo.score : meanBest });
        }
      }
    }
    if (this.cfg.rule !== 'template') return undefined;
    const f = obs.fused;
    const fusedThreshold = this.basis.fusedThreshold!;
    if (!f?.top1 || f.frames < this.cfg.template.minFrames || f.top1.score < fusedThreshold) return undefined;
    const ev = this.evidence(tr, f.top1.ref, f.top1.category);
    if (ev.done) return undefined;
    // The frame that completed the template is a face of this track: its crop serves when none is held.
    if (!ev.crop && obs.crop) ev.crop = obs.crop;
    if (!ev.bestQuality) ev.bestQuality = obs.quality;
    return this.raise(obs, tr, f.top1.ref, ev, { score: f.top1.score, threshold: fusedThreshold }, f.frames);
  }

  private evidence(tr: TrackEvidence, ref: string, category: string): SubjectEvidence {
    let ev = tr.subjects.get(ref);
    if (!ev) {
      ev = { category, above: 0, best: [], done: false };
      tr.subjects.set(ref, ev);
    }
    return ev;
  }

  /** Alert for `ref` with the score and the threshold it was held to (or silence it: cooldown). */
  private raise(obs: Observation, tr: TrackEvidence, ref: string, ev: SubjectEvidence, held: Scored, templateFrames?: number): Alert | undefined {
    ev.done = true;
    const last = this.lastAlertAt.get(ref);
    if (last !== undefined && obs.at - last < this.cfg.cooldownSeconds * 1000) {
      this.counts.suppressedByCooldown++;
      this.dropCrop(ev);
      return undefined;
    }
    this.lastAlertAt.set(ref, obs.at);
    this.counts.alerts++;
    const crop = ev.crop;
    ev.crop = undefined; // now the alert's: released by the sender
    const fused = templateFrames !== undefined;
    const decidingGroup = fused ? this.basis.fusedDecidingGroup ?? this.basis.decidingGroup : this.basis.decidingGroup;
    return {
      trackId: obs.trackId,
      subject: { ref, category: ev.category },
      score: held.score,
      bestScore: ev.best[0]?.score ?? held.score,
      threshold: held.threshold,
      ...(held.band !== undefined ? { band: held.band } : {}),
      falseAlertRate: this.basis.falseAlertRate,
      watchlistSize: this.basis.watchlistSize,
      ...(decidingGroup ? { decidingGroup } : {}),
      rule: this.cfg.rule,
      fused,
      ...(fused ? { templateFrames } : {}),
      framesOfEvidence: fused ? templateFrames! : ev.above,
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
