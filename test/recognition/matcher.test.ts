import t from 'tap';
import { Matcher, type MatcherSubject } from '../../src/recognition/matcher';

function unit(values: number[]): Float32Array {
  const v = Float32Array.from(values);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function randomUnit(dim: number, seed: number): Float32Array {
  let a = seed;
  const rand = () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  return unit(Array.from({ length: dim }, rand));
}

function naiveScores(subjects: MatcherSubject[], q: Float32Array): number[] {
  return subjects.map((s) => s.embedding.reduce((acc, x, i) => acc + x * q[i], 0));
}

for (const kernel of ['wasm', 'js'] as const) {
  t.test(`${kernel} kernel: top-1 equals the naive argmax, including odd dimensions`, async (t) => {
    for (const dim of [512, 37, 3]) {
      const subjects = Array.from({ length: 300 }, (_, i) => ({ ref: `r${i}`, category: i % 2 ? 'a' : 'b', embedding: randomUnit(dim, i + 1) }));
      const m = new Matcher(subjects, { kernel });
      t.equal(m.size, 300);
      t.equal(m.dimension, dim);
      for (let k = 0; k < 20; k++) {
        const q = randomUnit(dim, 1000 + k);
        const naive = naiveScores(subjects, q);
        const bestRow = naive.indexOf(Math.max(...naive));
        const got = m.top1(q)!;
        t.equal(got.index, bestRow, `dim ${dim} query ${k}: same best row`);
        t.equal(got.ref, `r${bestRow}`);
        t.equal(got.category, subjects[bestRow].category);
        t.ok(Math.abs(got.score - naive[bestRow]) < 1e-5, 'same score to float rounding');
      }
    }
  });

  t.test(`${kernel} kernel: an enrolled embedding finds itself with score 1`, async (t) => {
    const subjects = Array.from({ length: 50 }, (_, i) => ({ ref: `r${i}`, category: 'c', embedding: randomUnit(512, i + 7) }));
    const m = new Matcher(subjects, { kernel });
    const got = m.top1(subjects[17].embedding)!;
    t.equal(got.ref, 'r17');
    t.ok(Math.abs(got.score - 1) < 1e-5);
  });
}

t.test('several photos of one subject: fused into one row, their normalised mean; top-k lists distinct subjects', async (t) => {
  const subjects: MatcherSubject[] = [
    { ref: 'alice', category: 'wanted', embedding: unit([1, 0, 0, 0]) },
    { ref: 'bob', category: 'missing', embedding: unit([0, 1, 0, 0]) },
    { ref: 'alice', category: 'wanted', embedding: unit([0, 0, 0, 1]) },
    { ref: 'carol', category: 'wanted', embedding: unit([0, 0, 1, 0]) },
  ];
  const m = new Matcher(subjects);
  t.equal(m.subjects, 3);
  t.equal(m.size, 3, 'one row per subject');
  const alice = m.top1(unit([1, 0, 0, 1]))!;
  t.equal(alice.ref, 'alice');
  t.equal(alice.index, 0, 'rows in order of first appearance');
  t.ok(Math.abs(alice.score - 1) < 1e-6, 'the template is the mean of the two photos, normalised');
  t.ok(Math.abs(m.top1(unit([1, 0, 0, 0]))!.score - Math.SQRT1_2) < 1e-6, 'one photo alone scores cos 45 degrees against it');
  t.same(subjects[0].embedding, unit([1, 0, 0, 0]), "the caller's embeddings are not changed");
  const q = unit([0.95, 0.3, 0.1, 0.2]);
  const k = m.topK(q, 3);
  t.same(k.map((r) => r.ref), ['alice', 'bob', 'carol'], 'each subject once, best first');
  t.same(m.topK(q, 10).length, 3, 'k larger than the watchlist gives every subject');
  t.same(m.topK(q, 1).map((r) => r.ref), ['alice']);
});

t.test('empty watchlist, clear() and bad input', async (t) => {
  const empty = new Matcher([]);
  t.equal(empty.top1(new Float32Array(0)), undefined);
  t.same(empty.topK(new Float32Array(0), 3), []);

  const subjects = Array.from({ length: 10 }, (_, i) => ({ ref: `r${i}`, category: 'c', embedding: randomUnit(512, i + 3) }));
  const m = new Matcher(subjects);
  t.throws(() => m.top1(new Float32Array(128)), /query has 128 dimensions, the watchlist has 512/);
  t.throws(() => m.topK(subjects[0].embedding, 0), /k must be a positive integer/);
  t.throws(
    () => new Matcher([subjects[0], { ref: 'x', category: 'c', embedding: new Float32Array(10) }]),
    /entry 1 \(x\) has 10 dimensions, the first has 512/,
  );
  m.clear();
  t.equal(m.size, 0);
  t.equal(m.top1(subjects[0].embedding), undefined, 'a cleared matcher matches nothing');
});

t.test('clear() zeroes the memory that held the matrix', async (t) => {
  const emb = randomUnit(512, 99);
  const m = new Matcher([{ ref: 'r', category: 'c', embedding: emb }], { kernel: 'wasm' });
  // reach the kernel memory the same way the matcher does, to check it is zero afterwards
  const mem = (m as unknown as { kernel: { memory: { buffer: ArrayBuffer } } }).kernel.memory.buffer;
  const needle = Buffer.from(emb.buffer, emb.byteOffset, emb.byteLength);
  t.ok(Buffer.from(mem).includes(needle), 'the embedding is in the matrix before clear');
  m.clear();
  t.notOk(Buffer.from(mem).includes(needle), 'and gone after');
  t.ok(new Uint8Array(mem).every((b) => b === 0), 'all of the kernel memory is zero');
});
