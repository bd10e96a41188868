/**
 * A track's template: the quality-weighted mean of the track's best K embeddings (template.ts),
 * what the 'template' decision rule matches against the watchlist instead of single frames. Noise,
 * blur and pose vary from frame to frame; their mean is closer to the person than most single
 * frames. Pure: embeddings in, one template out, no I/O, no clock.
 *
 * "Best" is by the same quality weight the mean uses (`qualityWeight`): a ramp on the inter-ocular
 * distance and on the sharpness, each from 0 at its `zero` value to 1 at its `full` value (floored
 * at MIN_WEIGHT so that every embedded face counts a little). With weighting 'uniform' the best
 * K are the K heaviest by the same measure, averaged with equal weights.
 *
 * Biometrics: the embeddings are copies held only while the track lives; one dropped from the best
 * K, and all of them at `clear()` (the track ended), are zeroed.
 */
import type { FaceQuality } from '../vision/types';
import { meanTemplate } from './template';

export interface TrackTemplateConfig {
  /** K: how many of the track's embeddings the template fuses. */
  frames: number;
  weighting: 'uniform' | 'quality';
  /** The quality weight's ramps: [zero, full] inter-ocular distance (px) and sharpness. */
  weight: { interOcularPx: [number, number]; sharpness: [number, number] };
}

/** The smallest weight an embedded face gets. */
export const MIN_WEIGHT = 0.05;

const ramp = (x: number, [zero, full]: readonly [number, number]) => Math.min(1, Math.max(MIN_WEIGHT, (x - zero) / (full - zero)));

/** A face's weight in its track's template, in [MIN_WEIGHT^2, 1]. */
export function qualityWeight(q: Pick<FaceQuality, 'interOcularPx' | 'sharpness'>, w: TrackTemplateConfig['weight']): number {
  return ramp(q.interOcularPx, w.interOcularPx) * ramp(q.sharpness, w.sharpness);
}

interface Member {
  embedding: Float32Array;
  weight: number;
  quality: FaceQuality;
}

export class TrackTemplate {
  private members: Member[] = [];
  private cached: Float32Array | undefined;
  /** Embeddings offered so far (in or out of the best K). */
  private offered = 0;

  constructor(private readonly cfg: TrackTemplateConfig) {
    if (!Number.isInteger(cfg.frames) || cfg.frames < 1) throw new RangeError(`track template: frames must be an integer >= 1, got ${cfg.frames}`);
    for (const [name, r] of Object.entries(cfg.weight)) {
      if (!(r[1] > r[0])) throw new RangeError(`track template: weight.${name} must be [zero, full] with full > zero, got [${r[0]}, ${r[1]}]`);
    }
  }

  /**
   * Offer a face's embedding (copied). Returns true when it entered the best K (the template
   * changed), false when K better ones are held. A tie keeps the older one.
   */
  add(embedding: Float32Array, quality: FaceQuality): boolean {
    this.offered++;
    const weight = qualityWeight(quality, this.cfg.weight);
    if (this.members.length >= this.cfg.frames) {
      let low = 0;
      for (let i = 1; i < this.members.length; i++) if (this.members[i].weight < this.members[low].weight) low = i;
      if (weight <= this.members[low].weight) return false;
      this.members[low].embedding.fill(0);
      this.members.splice(low, 1);
    }
    this.members.push({ embedding: Float32Array.from(embedding), weight, quality });
    this.cached?.fill(0);
    this.cached = undefined;
    return true;
  }

  /** Embeddings fused (at most K). */
  get size(): number {
    return this.members.length;
  }

  get seen(): number {
    return this.offered;
  }

  /** The fused template (L2-normalised), undefined while empty. The caller must not keep it past clear(). */
  template(): Float32Array | undefined {
    if (this.members.length === 0) return undefined;
    if (!this.cached) {
      const weights = this.cfg.weighting === 'quality' ? this.members.map((m) => m.weight) : undefined;
      this.cached = meanTemplate(this.members.map((m) => m.embedding), weights);
    }
    return this.cached;
  }

  /** The quality of the heaviest member (the template's best frame), undefined while empty. */
  bestQuality(): FaceQuality | undefined {
    let best: Member | undefined;
    for (const m of this.members) if (!best || m.weight > best.weight) best = m;
    return best?.quality;
  }

  /** Zero and drop everything (the track ended). */
  clear(): void {
    for (const m of this.members) m.embedding.fill(0);
    this.members = [];
    this.cached?.fill(0);
    this.cached = undefined;
  }
}
