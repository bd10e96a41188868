import t from 'tap';
import { bootstrapFmrInterval, seededRandom, zeroEventUpper } from '../../src/eval/bootstrap';
import { fairnessReport, type FairnessImage } from '../../src/eval/fairness';
import { EmbeddingMatrix } from '../../src/eval/score-matrix';
import { fmrAt } from '../../src/recognition/calibration';
import { dot, syntheticPeople } from './helpers';

// 120 people: group x (impostor scores pulled together), group y, group z (few people);
// sex alternates; every 7th person's race is unknown; two images have no face.
function dataset() {
  const groupOf = (p: number) => (p % 7 === 6 ? undefined : p < 50 ? 'x' : p < 110 ? 'y' : 'z');
  const imgs = syntheticPeople({
    people: 120, imagesPerPerson: (p) => 1 + (p % 3), seed: 21, noise: 0.7, dim: 48,
    groupOf, groupPull: { x: 0.55, y: 0.1, z: 0 },
  });
  const images: FairnessImage[] = imgs.map((i) => {
    const p = Number(i.person.slice(1));
    return { person: i.person, labels: [groupOf(p), p % 2 ? 'F' : 'M'] };
  });
  const embeddings: (Float32Array | undefined)[] = imgs.map((i) => i.embedding);
  embeddings[3] = undefined;
  embeddings[40] = undefined;
  return { imgs, images, embeddings };
}

t.test('per-group false matches, rates and counts agree with brute force; unknown labels ignored', async (t) => {
  const { images, embeddings } = dataset();
  const m = new EmbeddingMatrix(embeddings);
  const { report, groups, overall } = fairnessReport(images, ['race', 'sex'], m, { fars: [1e-2, 1e-3], replicates: 200, seed: 3 });
  t.same(Object.keys(report.thresholds), ['1e-2', '1e-3']);
  const score = (i: number, j: number) => (embeddings[i] && embeddings[j] ? dot(embeddings[i]!, embeddings[j]!) : -1);
  for (const g of report.groups) {
    const [attrs, vals] = [g.attribute.split(','), g.value.split(',')];
    const member = images.map((img) => attrs.every((a, k) => img.labels[a === 'race' ? 0 : 1] === vals[k]));
    let pairs = 0;
    const fm: Record<string, number> = { '1e-2': 0, '1e-3': 0 };
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) {
        if (!member[i] || !member[j] || images[i].person === images[j].person) continue;
        pairs++;
        for (const k of ['1e-2', '1e-3']) if (score(i, j) >= report.thresholds[k] + 1e-6) fm[k]++;
      }
    }
    t.equal(g.impostorPairs, pairs, `${g.key}: impostor pairs`);
    for (const k of ['1e-2', '1e-3']) {
      t.ok(Math.abs(g.falseMatches[k] - fm[k]) <= 1, `${g.key} ${k}: ${g.falseMatches[k]} vs brute force ${fm[k]}`);
      t.equal(g.fmr[k], g.falseMatches[k] / pairs);
      t.equal(g.conclusive[k], g.falseMatches[k] >= 10);
      t.ok(g.fmrInterval[k][0] <= g.fmr[k] + 1e-12 && g.fmr[k] <= g.fmrInterval[k][1] + 1e-12, `${g.key} ${k}: interval contains the estimate`);
    }
    t.equal(groups.get(g.key)!.dist.count, pairs);
  }
  t.notOk(report.groups.some((g) => g.value.includes('undefined')), 'unknown labels form no group');
  t.equal(report.overall.impostorPairs, overall.dist.count);
  const race = report.groups.filter((g) => g.attribute === 'race').map((g) => g.value);
  t.same(race, ['x', 'y', 'z']);
  const x = report.groups.find((g) => g.key === 'race=x')!;
  const y = report.groups.find((g) => g.key === 'race=y')!;
  t.ok(x.fmr['1e-2'] > 3 * y.fmr['1e-2'], `x (${x.fmr['1e-2']}) matches falsely far more often than y (${y.fmr['1e-2']})`);
  t.equal(x.ratioToLowest['1e-2'], x.fmr['1e-2'] / y.fmr['1e-2']);
  t.equal(y.ratioToLowest['1e-2'], 1);
  t.equal(report.worstGroup['1e-2'], 'race=x');
  t.equal(report.worstGroupThreshold['1e-2'], x.thresholdAtTarget['1e-2']);
  t.ok(fmrAt(groups.get('race=x')!.dist, report.worstGroupThreshold['1e-2']) <= 1e-2, 'at the worst-group threshold group x meets the target');
  t.ok(report.worstGroupThreshold['1e-2'] > report.thresholds['1e-2']);
  t.ok(report.groups.some((g) => g.key === 'race=x,sex=F'), 'attribute pairs where counts allow');
  // detection failures: image rows 3 and 40
  t.equal(report.overall.detectionFailures, 2);
  const failedGroups = report.groups.filter((g) => g.attribute === 'sex' && g.detectionFailures > 0);
  t.equal(failedGroups.reduce((n, g) => n + g.detectionFailures, 0), 2);
  t.ok(x.genuineMatchRate && x.genuineMatchRate['1e-2'] > 0.5, 'genuine match rate where people have several images');
});

t.test('a group with zero false matches: rate 0, not conclusive, an honest upper bound', async (t) => {
  const { images, embeddings } = dataset();
  const { report } = fairnessReport(images, ['race', 'sex'], new EmbeddingMatrix(embeddings), { fars: [1e-3], replicates: 100 });
  const z = report.groups.find((g) => g.key === 'race=z')!;
  t.equal(z.falseMatches['1e-3'], 0);
  t.equal(z.fmr['1e-3'], 0);
  t.equal(z.conclusive['1e-3'], false);
  t.same(z.fmrInterval['1e-3'], [0, zeroEventUpper(z.impostorPairs)]);
  t.ok(z.fmrInterval['1e-3'][1] > 3 / z.impostorPairs && z.fmrInterval['1e-3'][1] < 4 / z.impostorPairs, 'about 3.7 / pairs');
  t.equal(z.thresholdAtTarget['1e-3'], null, 'too few pairs to say what threshold it needs');
});

t.test('given thresholds, reproducible with a seed, one image per person is valid', async (t) => {
  const imgs = syntheticPeople({ people: 60, imagesPerPerson: () => 1, seed: 9, dim: 32, noise: 0.3 });
  const images = imgs.map((i, k) => ({ person: i.person, labels: [k % 2 ? 'a' : 'b'] }));
  const m = new EmbeddingMatrix(imgs.map((i) => i.embedding));
  const a = fairnessReport(images, ['g'], m, { fars: [], thresholds: [0.2, 0.3], targetFmrs: [1e-2], replicates: 300, seed: 5 }).report;
  const b = fairnessReport(images, ['g'], m, { fars: [], thresholds: [0.2, 0.3], targetFmrs: [1e-2], replicates: 300, seed: 5 }).report;
  t.same(a, b, 'same seed, same intervals');
  t.same(Object.keys(a.thresholds), ['0.2', '0.3']);
  t.equal(a.overall.impostorPairs, (60 * 59) / 2, 'every pair is an impostor pair');
  t.equal(a.overall.genuinePairs, 0);
  t.notOk(a.groups[0].genuineMatchRate, 'no genuine pairs, no genuine match rate');
  const brute = imgs.flatMap((x, i) => imgs.slice(i + 1).map((y) => dot(x.embedding, y.embedding))).filter((s) => s >= 0.2 + 1e-6).length;
  t.ok(Math.abs(a.overall.falseMatches['0.2'] - brute) <= 1);
  const c = fairnessReport(images, ['g'], m, { fars: [], thresholds: [0.2], replicates: 300, seed: 6 }).report;
  t.not(c.groups[0].fmrInterval['0.2'][0], a.groups[0].fmrInterval['0.2'][0], 'another seed, other resamples');
});

t.test('bootstrap over people: 95% intervals cover the true rate about 95% of the time', async (t) => {
  // 50 people x 3 images; person propensities u ~ U(0.5, 1.5); pair (a, b) matches falsely
  // with probability p0 * u_a * u_b, so the population rate is p0 and pairs are dependent.
  const p0 = 0.02;
  const sims = 200;
  let covered = 0;
  const rnd = seededRandom(99);
  for (let s = 0; s < sims; s++) {
    const m = 50;
    const u = Array.from({ length: m }, () => 0.5 + rnd());
    const fm: [number, number][] = [];
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        for (let k = 0; k < 9; k++) if (rnd() < p0 * u[a] * u[b]) fm.push([a, b]);
      }
    }
    const iv = bootstrapFmrInterval({ imagesPerPerson: Array(m).fill(3), falseMatches: fm }, { replicates: 400, random: seededRandom(s + 1) });
    if (iv.lo <= p0 && p0 <= iv.hi) covered++;
  }
  const coverage = covered / sims;
  t.ok(coverage >= 0.88 && coverage <= 0.99, `coverage ${coverage}`);
});

t.test('bootstrap interval narrows with more people and is exact-binomial with no events', async (t) => {
  const make = (m: number) => {
    const fm: [number, number][] = [];
    const r = seededRandom(m);
    for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) if (r() < 0.05) fm.push([a, b]);
    return bootstrapFmrInterval({ imagesPerPerson: Array(m).fill(1), falseMatches: fm }, { replicates: 500, random: seededRandom(1) });
  };
  const small = make(40);
  const big = make(400);
  t.ok(big.hi - big.lo < (small.hi - small.lo) / 3);
  const none = bootstrapFmrInterval({ imagesPerPerson: [2, 2, 2], falseMatches: [] }, { replicates: 10, random: seededRandom(1) });
  t.same(none, { lo: 0, hi: zeroEventUpper(12), method: 'clopper-pearson-zero' });
});
