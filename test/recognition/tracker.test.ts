import t from 'tap';
import { Tracker, iou } from '../../src/recognition/tracker';
import { TrackerConfigSchema } from '../../src/recognition/config';
import type { Box } from '../../src/vision/types';

const cfg = TrackerConfigSchema.parse({ maxUnseenFrames: 3 });

/** A unit vector near basis vector `k` (dimension 8), tilted by `noise` towards basis k+1. */
function emb(k: number, noise = 0): Float32Array {
  const e = new Float32Array(8);
  e[k % 8] = 1;
  e[(k + 1) % 8] = noise;
  const n = Math.hypot(1, noise);
  return e.map((v) => v / n);
}
const face = (box: Box, person: number, noise = 0) => ({ box, embedding: emb(person, noise) });
const moved = (b: Box, dx: number): Box => [b[0] + dx, b[1], b[2] + dx, b[3]];

t.test('iou', async (t) => {
  t.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  t.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  t.equal(iou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150);
});

t.test('two people walking past keep their tracks; a new person starts a new one', async (t) => {
  const tr = new Tracker(cfg);
  let a: Box = [0, 0, 50, 50];
  let b: Box = [200, 0, 250, 50];
  const first = tr.update([face(a, 0), face(b, 1)], 0);
  t.same(first.trackIds, [1, 2]);
  t.same(first.started, [1, 2]);
  for (let i = 1; i <= 20; i++) {
    a = moved(a, 5);
    b = moved(b, -5);
    const u = tr.update([face(b, 1, 0.1), face(a, 0, 0.1)], i * 40);
    t.same(u.trackIds, [2, 1], `frame ${i}`);
  }
  const u = tr.update([face(a, 0), face(b, 1), face([400, 400, 450, 450], 2)], 1000);
  t.same(u.trackIds, [1, 2, 3]);
  t.same(u.started, [3]);
});

t.test('crossing paths: embedding continuity stops an identity swap', async (t) => {
  const tr = new Tracker(cfg);
  tr.update([face([0, 0, 50, 50], 0), face([60, 0, 110, 50], 1)], 0);
  // Boxes swap places in one frame (people crossing): IoU says swap, embeddings say no.
  const u = tr.update([face([55, 0, 105, 50], 0), face([5, 0, 55, 50], 1)], 40);
  t.same(u.trackIds, [1, 2]);
});

t.test('overlap without embedding continuity is a different person', async (t) => {
  const tr = new Tracker(cfg);
  tr.update([face([0, 0, 50, 50], 0)], 0);
  const u = tr.update([face([0, 0, 50, 50], 4)], 40);
  t.same(u.trackIds, [2]);
});

t.test('a face missed for a few frames continues its track; after N unseen frames the track ends and its embedding is zeroed', async (t) => {
  const tr = new Tracker(cfg);
  tr.update([face([0, 0, 50, 50], 0)], 0);
  const held = tr.active[0].embedding;
  for (let i = 1; i <= 3; i++) t.same(tr.update([], i).ended, [], `unseen ${i}`);
  // Seen again far away (no overlap) but the same face: re-acquired.
  t.same(tr.update([face([300, 300, 350, 350], 0)], 4).trackIds, [1]);
  for (let i = 5; i <= 7; i++) tr.update([], i);
  const u = tr.update([], 8);
  t.same(u.ended, [{ id: 1, firstSeen: 0, lastSeen: 4, hits: 2 }]);
  t.equal(tr.active.length, 0);
  t.ok(held.every((v) => v === 0), 'the ended track\'s embedding is zeroed');
});

t.test('endAll drops every track', async (t) => {
  const tr = new Tracker(cfg);
  tr.update([face([0, 0, 10, 10], 0), face([50, 50, 60, 60], 1)], 0);
  t.equal(tr.endAll().length, 2);
  t.equal(tr.active.length, 0);
});

t.test('faces without an embedding (quality-failing, not embedded) are followed by box overlap alone', async (t) => {
  const tr = new Tracker(cfg);
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  // A track started by a face without an embedding continues on overlap...
  t.same(tr.update([bare([0, 0, 50, 50])], 0).trackIds, [1]);
  t.equal(tr.active[0].embedding.length, 0, 'no embedding yet');
  t.same(tr.update([bare([5, 0, 55, 50])], 40).trackIds, [1]);
  // ...and takes the first embedding that joins it (overlap alone: nothing to compare with yet).
  t.same(tr.update([face([10, 0, 60, 50], 0)], 80).trackIds, [1]);
  t.same([...tr.active[0].embedding], [...emb(0)], 'the first embedding is the track\'s');
  t.equal(tr.active[0].embeddedHits, 1);
  // A face without an embedding continues an embedded track on overlap and leaves its embedding as is.
  t.same(tr.update([bare([15, 0, 65, 50])], 120).trackIds, [1]);
  t.same([...tr.active[0].embedding], [...emb(0)]);
  t.match(tr.active[0], { hits: 4, embeddedHits: 1 });
  // Without overlap it cannot be re-acquired (nothing to compare): a new track.
  t.same(tr.update([bare([300, 300, 350, 350])], 160).trackIds, [2]);
  // The embedding continuity check still applies to embedded faces: another person at the same place is a new track.
  t.same(tr.update([face([20, 0, 70, 50], 4)], 200).trackIds, [3]);
});

t.test('the running mean is weighted by embedded frames only', async (t) => {
  const tr = new Tracker(cfg);
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  tr.update([face([0, 0, 50, 50], 0)], 0);
  for (let i = 1; i <= 5; i++) tr.update([bare([0, 0, 50, 50])], i * 40);
  tr.update([face([0, 0, 50, 50], 0, 1)], 240); // second embedded face: weight 1/2, as if the bare frames were not there
  const e = tr.active[0].embedding;
  const expect = [1 + 1 / Math.SQRT2, 1 / Math.SQRT2];
  const n = Math.hypot(expect[0], expect[1]);
  t.ok(Math.abs(e[0] - expect[0] / n) < 1e-6 && Math.abs(e[1] - expect[1] / n) < 1e-6, `mean of two: ${e[0]}, ${e[1]}`);
});

t.test('motion: a fast walker (box overlap below minIou between frames) keeps its track by its velocity, also across a dropped frame', async (t) => {
  const tr = new Tracker(cfg);
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  // 30 px per frame with a 50 px box: IoU with the last box is 20/80 = 0.25 < minIou 0.3.
  t.same(tr.update([bare([0, 0, 50, 50])], 0, 0).trackIds, [1]);
  // No velocity yet at the second frame: a first step small enough for plain overlap.
  t.same(tr.update([bare([10, 0, 60, 50])], 40, 0.04).trackIds, [1], 'first step (10 px) by overlap');
  let x = 10;
  for (let f = 2; f < 10; f++) {
    x += 30;
    const u = tr.update([bare([x, 0, x + 50, 50])], f * 40, f * 0.04);
    if (f >= 3) t.same(u.trackIds, [1], `frame ${f}: same track at 30 px/frame`);
  }
  // A dropped frame: 60 px in one update, predicted from the time elapsed.
  x += 60;
  t.same(tr.update([bare([x, 0, x + 50, 50])], 440, 0.44).trackIds, [1], 'across a dropped frame');
});

t.test('attachEmbedding: continuity updates the track; a face too unlike its track is split off and the track put back', async (t) => {
  const tr = new Tracker(cfg);
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  tr.update([bare([0, 0, 50, 50])], 0, 0);
  t.same(tr.attachEmbedding(1, emb(0)), { trackId: 1 });
  t.equal(tr.active[0].embeddedHits, 1);
  tr.update([bare([5, 0, 55, 50])], 40, 0.04);
  t.same(tr.attachEmbedding(1, emb(0, 0.1)), { trackId: 1 });
  t.equal(tr.active[0].embeddedHits, 2);
  tr.update([bare([10, 0, 60, 50])], 80, 0.08);
  t.same(tr.attachEmbedding(1, emb(4)), { trackId: 2, started: 2 }, 'another person: a new track');
  const [one, two] = tr.active;
  t.match(one, { id: 1, box: [5, 0, 55, 50], lastSeen: 40, hits: 2, unseenFrames: 1 }, 'track 1 as it was before the frame, unseen in it');
  t.match(two, { id: 2, box: [10, 0, 60, 50], hits: 1, embeddedHits: 1 });
  t.throws(() => tr.attachEmbedding(9, emb(0)), { message: 'tracker: no active track 9' });
});

t.test('small fast faces: no overlap with the last box before the track has a velocity, still the same track when near and alike in size', async (t) => {
  const tr = new Tracker(cfg);
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  // A 48 px face moving 30 px a frame: IoU with the last box 18/78 = 0.23 < minIou, no velocity yet.
  t.same(tr.update([bare([0, 0, 48, 48])], 0, 0).trackIds, [1]);
  t.same(tr.update([bare([30, 0, 78, 48])], 40, 0.04).trackIds, [1], 'second frame: near (0.63 sides), same size');
  t.same(tr.update([bare([60, 0, 108, 48])], 80, 0.08).trackIds, [1]);
  // Far (3 sides away) or of another size: a new track.
  t.same(tr.update([bare([240, 0, 288, 48])], 120, 0.12).trackIds, [2], 'too far: another face');
  t.same(tr.update([bare([150, 0, 270, 120])], 160, 0.16).trackIds, [3], 'another size (2.5x): another face');
  // Overlap still wins over nearness.
  const tr2 = new Tracker(cfg);
  tr2.update([bare([0, 0, 48, 48]), bare([200, 0, 248, 48])], 0, 0);
  t.same(tr2.update([bare([5, 0, 53, 48]), bare([235, 0, 283, 48])], 40, 0.04).trackIds, [1, 2]);
  // maxCentreShift 0: overlap only (the old behaviour), the fast face starts a new track.
  const off = new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 3, maxCentreShift: 0 }));
  off.update([bare([0, 0, 48, 48])], 0, 0);
  t.same(off.update([bare([30, 0, 78, 48])], 40, 0.04).trackIds, [2]);
});

t.test('fragments: a new track whose first embedding matches a track lost recently is merged into it', async (t) => {
  const tr = new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 5 }));
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  tr.update([bare([0, 0, 50, 50]), bare([600, 0, 650, 50])], 0, 0);
  tr.attachEmbedding(1, emb(0));
  tr.attachEmbedding(2, emb(2));
  tr.update([bare([10, 0, 60, 50]), bare([600, 0, 650, 50])], 40, 0.04);
  tr.attachEmbedding(1, emb(0, 0.1));
  // Person 0 is missed for two frames, then found far from where the box predicted (occluded, blurred, the detector lost it).
  tr.update([bare([600, 0, 650, 50])], 80, 0.08);
  tr.update([bare([600, 0, 650, 50])], 120, 0.12);
  const u = tr.update([bare([300, 100, 350, 150]), bare([600, 0, 650, 50])], 160, 0.16);
  t.same(u.trackIds, [3, 2], 'no box association: a new track first');
  t.same(u.started, [3]);
  t.same(tr.attachEmbedding(2, emb(2)), { trackId: 2 }, 'a track seen in this frame is never a merge target');
  t.same(tr.attachEmbedding(3, emb(0, 0.2)), { trackId: 1, merged: 3 }, 'its embedding matches lost track 1: merged');
  const one = tr.active.find((x) => x.id === 1)!;
  t.match(one, { box: [300, 100, 350, 150], hits: 3, unseenFrames: 0, lastSeen: 160, embeddedHits: 3 });
  t.equal(tr.active.length, 2, 'the fragment is gone');
  t.notOk(tr.active.some((x) => x.id === 3));
  // Another person (unlike every lost track) keeps its new track.
  tr.update([bare([300, 100, 350, 150]), bare([600, 0, 650, 50]), bare([900, 300, 950, 350])], 200, 0.2);
  t.same(tr.attachEmbedding(4, emb(5)), { trackId: 4 });
  // minMerge above 1: never merged.
  const never = new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 5, minMerge: 1.01 }));
  never.update([bare([0, 0, 50, 50])], 0, 0);
  never.attachEmbedding(1, emb(0));
  never.update([], 40, 0.04);
  never.update([bare([300, 100, 350, 150])], 80, 0.08);
  t.same(never.attachEmbedding(2, emb(0)), { trackId: 2 });
});

t.test('a face split off its track (identity swap) continues a matching lost track instead of starting one', async (t) => {
  const tr = new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 5 }));
  const bare = (box: Box) => ({ box, embedding: new Float32Array(0) });
  tr.update([bare([0, 0, 50, 50]), bare([100, 0, 150, 50])], 0, 0);
  tr.attachEmbedding(1, emb(0));
  tr.attachEmbedding(2, emb(3));
  // Person 3 is not seen; person 0's box is taken by person 3 walking into it.
  tr.update([bare([0, 0, 50, 50])], 40, 0.04);
  t.same(tr.attachEmbedding(1, emb(3)), { trackId: 2 }, 'split off track 1 and continues lost track 2');
  t.match(tr.active.find((x) => x.id === 2), { box: [0, 0, 50, 50], hits: 2, unseenFrames: 0 });
  t.match(tr.active.find((x) => x.id === 1), { hits: 1, unseenFrames: 1 }, 'track 1 put back, unseen in this frame');
});
