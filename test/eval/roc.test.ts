import t from 'tap';
import { distributionOf, DistributionBuilder, TopScores } from '../../src/eval/distribution';
import { bestThreshold, lfwFolds, rateKey, rocCurve, sortedDesc, tarAtFars, tenFoldAccuracy } from '../../src/eval/roc';
import { seededRandom } from '../../src/eval/bootstrap';

t.test('rateKey writes rates the way the JSON keys do', async (t) => {
  t.equal(rateKey(1e-2), '1e-2');
  t.equal(rateKey(0.001), '1e-3');
  t.equal(rateKey(1e-5), '1e-5');
  t.equal(rateKey(2e-4), '2e-4');
});

t.test('TAR at FAR on known scores: thresholds sit just above the allowed false accepts', async (t) => {
  // 1000 impostors 0.000 .. 0.999; genuine 0.0005 .. 0.9995 step 0.001
  const imp = Array.from({ length: 1000 }, (_, i) => i / 1000);
  const gen = sortedDesc(Array.from({ length: 1000 }, (_, i) => i / 1000 + 0.0005));
  const { points, notReported } = tarAtFars(gen, distributionOf(imp), [1e-2, 1e-3, 1e-4]);
  t.equal(points.length, 2);
  const p2 = points[0];
  t.equal(p2.falseAccepts, 10);
  // 10 impostors allowed (0.990 .. 0.999): threshold just above 0.989
  t.ok(p2.threshold > 0.989 && p2.threshold < 0.98900001, `threshold ${p2.threshold}`);
  t.equal(p2.tar, 11 / 1000, 'genuine 0.9895 .. 0.9995 pass');
  t.ok(points[1].threshold > 0.998 && points[1].threshold < 0.9981);
  t.equal(notReported.length, 1);
  t.equal(notReported[0].far, 1e-4);
  t.match(notReported[0].reason, /needs at least 10000 impostor pairs.*there are 1000/);
});

t.test('a threshold never lets more impostors through than the FAR allows, ties included', async (t) => {
  const imp = [0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
  const d = distributionOf(imp);
  const { points } = tarAtFars(sortedDesc([0.6, 0.4]), d, [0.2, 0.1]);
  for (const p of points) {
    const fa = imp.filter((s) => s >= p.threshold).length;
    t.ok(fa <= p.far * imp.length, `FAR ${p.far}: ${fa} false accepts`);
  }
  t.ok(points[0].threshold > 0.5 && points[0].threshold < 0.51, 'ties at 0.5 cannot be split: threshold goes above them');
});

t.test('streaming top-k and histogram give the same thresholds as the full list', async (t) => {
  const rnd = seededRandom(7);
  const scores = Array.from({ length: 50000 }, () => Math.tanh(rnd() * 2 - 1.2));
  const full = distributionOf(scores);
  const b = new DistributionBuilder(600);
  scores.forEach((s) => b.add(s));
  const streamed = b.build();
  t.same(streamed.tail, full.tail.slice(0, 600));
  t.same(streamed.histogram.counts, full.histogram.counts);
  const gen = sortedDesc(scores.map((s) => s + 0.3));
  const a = tarAtFars(gen, full, [1e-2, 1e-3, 1e-4]);
  const c = tarAtFars(gen, streamed, [1e-2, 1e-3, 1e-4]);
  t.same(c.points, a.points, 'exact while k < tail length');
  // At 1e-1 (5000 allowed > 600 tail) the histogram answers: never more false accepts than allowed.
  const h = tarAtFars(gen, streamed, [1e-1]).points[0];
  t.equal(h.exact, false);
  t.ok(scores.filter((s) => s >= h.threshold).length <= 5000);
  t.ok(scores.filter((s) => s >= h.threshold - 0.001).length > 5000, 'and it is the lowest bin edge that works');
});

t.test('TopScores keeps payloads and everything above a floor', async (t) => {
  const top = new TopScores(3);
  [0.1, 0.9, 0.3, 0.8, 0.2, 0.95, 0.5].forEach((s, i) => top.push(s, i, i * 10));
  const r = top.result();
  t.same(Array.from(r.scores), [0.95, 0.9, 0.8]);
  t.same(Array.from(r.a), [5, 1, 3]);
  t.same(Array.from(r.b), [50, 10, 30]);
  const floor = new TopScores(Infinity, 0.5);
  for (let i = 0; i < 5000; i++) floor.push((i % 100) / 100, i, 0);
  t.equal(floor.result().scores.length, 2500);
  t.equal(floor.result().scores[2499], 0.5);
});

t.test('ROC curve runs from 1/impostors to 1 and TAR never decreases with FAR', async (t) => {
  const rnd = seededRandom(3);
  const imp = distributionOf(Array.from({ length: 2000 }, () => rnd() * 0.6 - 0.2));
  const gen = sortedDesc(Array.from({ length: 500 }, () => 0.3 + rnd() * 0.6));
  const roc = rocCurve(gen, imp);
  t.ok(roc.length > 10);
  t.equal(roc[0].far, 1 / 2000);
  t.equal(roc[roc.length - 1].far, 1);
  t.equal(roc[roc.length - 1].tar, 1);
  for (let i = 1; i < roc.length; i++) t.ok(roc[i].tar >= roc[i - 1].tar && roc[i].far >= roc[i - 1].far);
});

t.test('LFW folds: in file order, matched and mismatched cut separately, balanced', async (t) => {
  // pairsDevTrain layout: all matched first
  const same = [...Array(20).fill(true), ...Array(20).fill(false)];
  const fold = lfwFolds(same, 10);
  t.same(Array.from(fold.slice(0, 4)), [0, 0, 1, 1]);
  t.same(Array.from(fold.slice(20, 24)), [0, 0, 1, 1]);
  for (let f = 0; f < 10; f++) {
    const members = same.filter((_, i) => fold[i] === f);
    t.equal(members.length, 4);
    t.equal(members.filter((x) => x).length, 2);
  }
  // standard pairs.txt layout: 10 sets of (n matched, n mismatched) -> fold = set
  const std: boolean[] = [];
  for (let s = 0; s < 10; s++) std.push(...Array(3).fill(true), ...Array(3).fill(false));
  const f2 = lfwFolds(std, 10);
  std.forEach((_, i) => t.equal(f2[i], Math.floor(i / 6)));
});

t.test('best threshold maximises accuracy on the training pairs', async (t) => {
  const scores = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.35];
  const same = [false, false, false, true, true, true, true];
  const r = bestThreshold(scores, same, [0, 1, 2, 3, 4, 5, 6]);
  t.equal(r.accuracy, 1);
  t.ok(r.threshold > 0.3 && r.threshold <= 0.35);
  const r2 = bestThreshold([0.5, 0.5, 0.5], [true, false, true], [0, 1, 2]);
  t.equal(r2.accuracy, 2 / 3, 'tied scores cannot be split');
});

t.test('10-fold accuracy: separable -> 100%; known overlap -> the expected error', async (t) => {
  const n = 300;
  const scores: number[] = [];
  const same: boolean[] = [];
  for (let i = 0; i < n; i++) (scores.push(0.5 + (i % 50) / 100), same.push(true));
  for (let i = 0; i < n; i++) (scores.push(-0.2 + (i % 50) / 100), same.push(false));
  const sep = tenFoldAccuracy(scores, same);
  t.equal(sep.folds.length, 10);
  t.equal(sep.accuracy, 1);
  t.equal(sep.std, 0);
  // one genuine pair in every fold scores far below everything: each fold has exactly one error
  const s2 = scores.slice();
  for (let f = 0; f < 10; f++) s2[f * 30] = -0.9;
  const r = tenFoldAccuracy(s2, same);
  t.ok(Math.abs(r.accuracy - 59 / 60) < 1e-12, `accuracy ${r.accuracy}`);
  t.ok(r.std < 1e-12);
  t.throws(() => tenFoldAccuracy([1], [true, false]), /differ in length/);
});
