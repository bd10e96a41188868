/**
 * False matches per demographic group (pure core of `lfr-edge eval fairness`).
 *
 * Groups: every value of every attribute ("race=african") and, where counts allow, every pair of
 * values of two attributes ("race=african,sex=F"); a group needs at least 2 people (otherwise it
 * has no impostor pair). An impostor pair is "within" a group when both images carry the group's
 * labels; an unknown (blank) label puts an image in no group of that attribute (it still counts
 * overall). Pairs with an image where no face was found score -1 (a non-match).
 *
 * For each group and operating threshold: impostor pairs, false matches, FMR with a 95% interval
 * from resampling people, the ratio to the lowest-rate group of the same attribute(s), the genuine
 * match rate (groups with people with several images) and the detection failure rate. A rate
 * backed by fewer than `minEvents` false matches is flagged as not conclusive. For each target
 * FMR, the threshold that the worst group with enough impostor pairs needs.
 */
import { TAIL_MAX, thresholdForFmr, type ScoreDistribution } from '../recognition/calibration';
import { DETECTION_FAILURE_SCORE, type EmbeddingMatrix } from './score-matrix';
import { scanPairs } from './all-pairs';
import { bootstrapFmrInterval, hashSeed, seededRandom } from './bootstrap';
import { DistributionBuilder, TopScores } from './distribution';
import { rateKey } from './roc';

export interface FairnessImage {
  person: string;
  /** One label per attribute; undefined = unknown. */
  labels: (string | undefined)[];
}

export interface FairnessOptions {
  /** Operating thresholds at these FARs over all impostor pairs (unless `thresholds` is given). */
  fars: number[];
  /** Operating thresholds given directly. */
  thresholds?: number[];
  /** Target FMRs for the worst-group threshold (default: `fars`). */
  targetFmrs?: number[];
  replicates?: number;
  seed?: number;
  /** A rate backed by fewer false matches than this is not conclusive (default 10). */
  minEvents?: number;
  onRow?: (i: number) => void;
}

export interface OperatingPoint {
  key: string;
  threshold: number;
  far?: number;
}

export interface GroupStats {
  people: number;
  images: number;
  impostorPairs: number;
  genuinePairs: number;
  falseMatches: Record<string, number>;
  fmr: Record<string, number>;
  fmrInterval: Record<string, [number, number]>;
  /** False when the rate rests on fewer than minEvents false matches. */
  conclusive: Record<string, boolean>;
  /** Genuine pairs at or above the threshold / genuine pairs; absent when the group has none. */
  genuineMatchRate?: Record<string, number>;
  detectionFailures: number;
  detectionFailureRate: number;
  /** This group's own threshold for each target FMR; null when it has too few impostor pairs. */
  thresholdAtTarget: Record<string, number | null>;
}

export interface GroupReport extends GroupStats {
  /** "race", or "race,sex" for a pair of attributes. */
  attribute: string;
  value: string;
  /** "race=african" or "race=african,sex=F" (the calibration file's group key). */
  key: string;
  ratioToLowest: Record<string, number | null>;
}

export interface FairnessReport {
  images: number;
  people: number;
  attributes: string[];
  operatingPoints: OperatingPoint[];
  thresholds: Record<string, number>;
  notReported: { far: number; reason: string }[];
  overall: GroupStats;
  groups: GroupReport[];
  worstGroupThreshold: Record<string, number>;
  worstGroup: Record<string, string>;
  minEvents: number;
  bootstrap: { replicates: number; seed: number; resampled: 'people' };
}

export interface FairnessResult {
  report: FairnessReport;
  /** Impostor distributions (detection-failure pairs included, at -1) and how many failure pairs each holds. */
  overall: { dist: ScoreDistribution; failurePairs: number };
  groups: Map<string, { dist: ScoreDistribution; failurePairs: number }>;
  /** Every genuine score, descending (for the ROC). */
  genuine: Float64Array;
}

interface GroupDef {
  attribute: string;
  value: string;
  key: string;
  member: Uint8Array;
}

export function defineGroups(images: readonly FairnessImage[], attributes: readonly string[], personOfRow: Int32Array): GroupDef[] {
  const defs: GroupDef[] = [];
  const add = (attrIdx: number[], label: (img: FairnessImage) => string[] | undefined) => {
    const byValue = new Map<string, Uint8Array>();
    images.forEach((img, r) => {
      const vals = label(img);
      if (!vals) return;
      const v = vals.join(',');
      let m = byValue.get(v);
      if (!m) byValue.set(v, (m = new Uint8Array(images.length)));
      m[r] = 1;
    });
    for (const v of [...byValue.keys()].sort()) {
      const member = byValue.get(v)!;
      const people = new Set<number>();
      member.forEach((x, r) => x && people.add(personOfRow[r]));
      if (people.size < 2) continue;
      const vals = v.split(',');
      defs.push({
        attribute: attrIdx.map((a) => attributes[a]).join(','),
        value: v,
        key: attrIdx.map((a, k) => `${attributes[a]}=${vals[k]}`).join(','),
        member,
      });
    }
  };
  attributes.forEach((_, a) => add([a], (img) => (img.labels[a] === undefined ? undefined : [img.labels[a]!])));
  for (let a = 0; a < attributes.length; a++) {
    for (let b = a + 1; b < attributes.length; b++) {
      add([a, b], (img) => (img.labels[a] === undefined || img.labels[b] === undefined ? undefined : [img.labels[a]!, img.labels[b]!]));
    }
  }
  return defs;
}

export function fairnessReport(
  images: readonly FairnessImage[],
  attributes: readonly string[],
  m: EmbeddingMatrix,
  opts: FairnessOptions,
): FairnessResult {
  if (images.length !== m.rows) throw new RangeError(`${images.length} images but ${m.rows} embedding rows`);
  const replicates = opts.replicates ?? 1000;
  const seed = opts.seed ?? 1;
  const minEvents = opts.minEvents ?? 10;
  const targets = opts.targetFmrs ?? opts.fars;
  const personIds = new Map<string, number>();
  const personOfRow = Int32Array.from(images, (img) => {
    if (!personIds.has(img.person)) personIds.set(img.person, personIds.size);
    return personIds.get(img.person)!;
  });
  for (let r = 1; r < personOfRow.length; r++) {
    if (personOfRow[r] < personOfRow[r - 1]) throw new RangeError('fairness: rows must be grouped by person');
  }
  const everyone: GroupDef = { attribute: '', value: '', key: 'overall', member: new Uint8Array(images.length).fill(1) };
  const defs = defineGroups(images, attributes, personOfRow);
  const all = [everyone, ...defs];
  const impostorPairsOf = all.map((g) => countImpostorPairs(g.member, personOfRow));

  const groupsOfRow: Int32Array[] = images.map((_, r) => Int32Array.from(defs.flatMap((g, k) => (g.member[r] ? [k] : []))));
  const maxTarget = Math.max(0, ...targets, ...opts.fars);
  const builders = all.map((_, k) => new DistributionBuilder(Math.max(TAIL_MAX, Math.ceil(maxTarget * impostorPairsOf[k]) + 1)));
  const failurePairs = new Float64Array(all.length);
  const collector = new TopScores(
    opts.thresholds ? Infinity : Math.ceil(Math.max(0, ...opts.fars) * impostorPairsOf[0]) + 1,
    opts.thresholds ? Math.min(...opts.thresholds) : Infinity,
  );
  const genuine: { i: number; j: number; s: number }[] = [];

  scanPairs(
    m,
    (i, scores) => {
      const pi = personOfRow[i];
      const gi = groupsOfRow[i];
      for (let k = 0; k < scores.length; k++) {
        const j = i + 1 + k;
        const s = scores[k];
        if (personOfRow[j] === pi) {
          genuine.push({ i, j, s });
          continue;
        }
        const failed = s === DETECTION_FAILURE_SCORE && (!m.present[i] || !m.present[j]);
        builders[0].add(s);
        if (failed) failurePairs[0]++;
        collector.push(s, i, j);
        const gj = groupsOfRow[j];
        for (let x = 0, y = 0; x < gi.length && y < gj.length; ) {
          if (gi[x] === gj[y]) {
            builders[gi[x] + 1].add(s);
            if (failed) failurePairs[gi[x] + 1]++;
            x++;
            y++;
          } else if (gi[x] < gj[y]) x++;
          else y++;
        }
      }
    },
    opts.onRow,
  );

  const dists = builders.map((b) => b.build());
  const operatingPoints: OperatingPoint[] = [];
  const notReported: FairnessReport['notReported'] = [];
  if (opts.thresholds) {
    for (const t of opts.thresholds) operatingPoints.push({ key: String(t), threshold: t });
  } else {
    for (const far of opts.fars) {
      if (far * dists[0].count < 1) {
        notReported.push({ far, reason: `needs at least ${Math.ceil(1 / far)} impostor pairs; there are ${dists[0].count}` });
        continue;
      }
      operatingPoints.push({ key: rateKey(far), threshold: thresholdForFmr(dists[0], far).threshold, far });
    }
  }
  const above = collector.result();

  const stats = all.map((g, k) =>
    groupStats(g, k, {
      personOfRow, m, dist: dists[k], impostorPairs: impostorPairsOf[k], above, genuine, operatingPoints, targets,
      replicates, seed, minEvents,
    }),
  );

  const groups: GroupReport[] = defs.map((g, k) => ({ attribute: g.attribute, value: g.value, key: g.key, ...stats[k + 1], ratioToLowest: {} }));
  for (const op of operatingPoints) {
    for (const attribute of new Set(groups.map((g) => g.attribute))) {
      const same = groups.filter((g) => g.attribute === attribute);
      const base = Math.min(...same.filter((g) => g.conclusive[op.key] && g.fmr[op.key] > 0).map((g) => g.fmr[op.key]));
      for (const g of same) g.ratioToLowest[op.key] = Number.isFinite(base) ? g.fmr[op.key] / base : null;
    }
  }

  const worstGroupThreshold: Record<string, number> = {};
  const worstGroup: Record<string, string> = {};
  for (const f of targets) {
    const key = rateKey(f);
    all.forEach((g, k) => {
      const t = stats[k].thresholdAtTarget[key];
      if (t === null || t === undefined) return;
      if (worstGroupThreshold[key] === undefined || t > worstGroupThreshold[key]) {
        worstGroupThreshold[key] = t;
        worstGroup[key] = g.key;
      }
    });
  }

  const report: FairnessReport = {
    images: images.length,
    people: personIds.size,
    attributes: [...attributes],
    operatingPoints,
    thresholds: Object.fromEntries(operatingPoints.map((op) => [op.key, op.threshold])),
    notReported,
    overall: stats[0],
    groups,
    worstGroupThreshold,
    worstGroup,
    minEvents,
    bootstrap: { replicates, seed, resampled: 'people' },
  };
  const groupDists = new Map(defs.map((g, k) => [g.key, { dist: dists[k + 1], failurePairs: failurePairs[k + 1] }]));
  const genuineDesc = Float64Array.from(genuine, (x) => x.s).sort().reverse();
  return { report, overall: { dist: dists[0], failurePairs: failurePairs[0] }, groups: groupDists, genuine: genuineDesc };
}

/** Impostor pairs among member rows: ((sum n)^2 - sum n^2) / 2 over people. */
export function countImpostorPairs(member: Uint8Array, personOfRow: Int32Array): number {
  const n = new Map<number, number>();
  member.forEach((x, r) => x && n.set(personOfRow[r], (n.get(personOfRow[r]) ?? 0) + 1));
  let s = 0;
  let s2 = 0;
  for (const v of n.values()) {
    s += v;
    s2 += v * v;
  }
  return (s * s - s2) / 2;
}

interface StatsContext {
  personOfRow: Int32Array;
  m: EmbeddingMatrix;
  dist: ScoreDistribution;
  impostorPairs: number;
  above: { scores: Float64Array; a: Int32Array; b: Int32Array };
  genuine: { i: number; j: number; s: number }[];
  operatingPoints: OperatingPoint[];
  targets: number[];
  replicates: number;
  seed: number;
  minEvents: number;
}

function groupStats(g: GroupDef, k: number, c: StatsContext): GroupStats {
  const local = new Map<number, number>();
  const imagesPerPerson: number[] = [];
  let images = 0;
  let failures = 0;
  g.member.forEach((x, r) => {
    if (!x) return;
    images++;
    if (!c.m.present[r]) failures++;
    const p = c.personOfRow[r];
    if (!local.has(p)) {
      local.set(p, local.size);
      imagesPerPerson.push(0);
    }
    imagesPerPerson[local.get(p)!]++;
  });
  const genuine = c.genuine.filter((x) => g.member[x.i] && g.member[x.j]);
  const out: GroupStats = {
    people: local.size,
    images,
    impostorPairs: c.impostorPairs,
    genuinePairs: genuine.length,
    falseMatches: {},
    fmr: {},
    fmrInterval: {},
    conclusive: {},
    detectionFailures: failures,
    detectionFailureRate: images ? failures / images : 0,
    thresholdAtTarget: {},
  };
  if (genuine.length) out.genuineMatchRate = {};
  for (const op of c.operatingPoints) {
    const fm: [number, number][] = [];
    for (let q = 0; q < c.above.scores.length && c.above.scores[q] >= op.threshold; q++) {
      const a = c.above.a[q];
      const b = c.above.b[q];
      if (g.member[a] && g.member[b]) fm.push([local.get(c.personOfRow[a])!, local.get(c.personOfRow[b])!]);
    }
    out.falseMatches[op.key] = fm.length;
    out.fmr[op.key] = c.impostorPairs ? fm.length / c.impostorPairs : 0;
    const iv = bootstrapFmrInterval(
      { imagesPerPerson, falseMatches: fm },
      { replicates: c.replicates, random: seededRandom(hashSeed(c.seed, `${g.key}|${op.key}|${k}`)) },
    );
    out.fmrInterval[op.key] = [iv.lo, iv.hi];
    out.conclusive[op.key] = fm.length >= c.minEvents;
    if (out.genuineMatchRate) out.genuineMatchRate[op.key] = genuine.filter((x) => x.s >= op.threshold).length / genuine.length;
  }
  for (const f of c.targets) {
    out.thresholdAtTarget[rateKey(f)] = c.impostorPairs * f >= c.minEvents ? thresholdForFmr(c.dist, f).threshold : null;
  }
  return out;
}
