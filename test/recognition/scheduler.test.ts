import t from 'tap';
import { seededRandom } from '../../src/eval/bootstrap';
import { EmbeddingScheduler, frameBudget, SchedulerConfigSchema, unusedFrameMs, type Candidate } from '../../src/recognition/scheduler';

const FPS = 25;
const cand = (trackId: number, side = 80): Candidate => ({ trackId, side });

t.test('config: defaults, and clear errors for bad values', async (t) => {
  const d = SchedulerConfigSchema.parse({});
  t.equal(d.maxEmbeddingsPerFrame, 4);
  t.equal(d.maxPerTrackPerSecond, 8);
  t.throws(() => SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 0 }), /maxEmbeddingsPerFrame|>=1|too small/i);
  t.throws(() => SchedulerConfigSchema.parse({ maxPerTrackPerSecond: 0 }), /maxPerTrackPerSecond|too small|>0/i);
  t.throws(() => SchedulerConfigSchema.parse({ budget: 3 }), /budget|unrecognized/i);
});

t.test('the budget caps a frame; new tracks go first; the rest is counted as deferred', async (t) => {
  const s = new EmbeddingScheduler(SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 2, maxPerTrackPerSecond: 100 }));
  const p1 = s.plan([cand(1), cand(2)], 0);
  t.same(p1.picked, [0, 1]);
  // Frame 2: tracks 1 and 2 were analysed; 3 and 4 are new and go first whatever their size.
  const p2 = s.plan([cand(1, 200), cand(2, 200), cand(3, 40), cand(4, 40)], 1 / FPS);
  t.same(p2.picked.sort(), [2, 3]);
  t.equal(p2.deferredByBudget, 2);
  t.equal(p2.deferredByRate, 0);
  // Frame 3: the longest-waiting go first (1 and 2 waited two frames, 3 and 4 one).
  const p3 = s.plan([cand(1), cand(2), cand(3), cand(4)], 2 / FPS);
  t.same(p3.picked.sort(), [0, 1]);
});

t.test('at most maxPerTrackPerSecond analyses per track when the budget is short; spare slots are filled', async (t) => {
  // Short budget: two tracks share one slot; each is held to 5 per second, and the slot left over
  // (neither allowed by the rate) goes to the one waiting longest.
  const short = new EmbeddingScheduler(SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 1, maxPerTrackPerSecond: 5 }));
  const perTrack = new Map<number, number>();
  let byRate = 0;
  let byBudget = 0;
  for (let f = 0; f < 2 * FPS; f++) {
    const p = short.plan([cand(1), cand(2), cand(3)], f / FPS);
    t.equal(p.picked.length, 1);
    for (const i of p.picked) perTrack.set(i, (perTrack.get(i) ?? 0) + 1);
    byRate += p.deferredByRate;
    byBudget += p.deferredByBudget;
    t.equal(p.picked.length + p.deferredByRate + p.deferredByBudget, 3, 'every face counted once');
  }
  t.ok([...perTrack.values()].every((n) => n >= 14 && n <= 18), `the slot shared: ${[...perTrack.values()]}`);
  t.ok(byRate > 0 && byBudget > 0);
  // Room in the budget (a slow, non-realtime replay; a quiet scene): the rate does not bind, a
  // lone track is analysed in every frame (the cap used to leave 40 of 50 frames unanalysed).
  const room = new EmbeddingScheduler(SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 8, maxPerTrackPerSecond: 5 }));
  let analysed = 0;
  let deferred = 0;
  for (let f = 0; f < 2 * FPS; f++) {
    const p = room.plan([cand(1)], f / FPS);
    analysed += p.picked.length;
    deferred += p.deferredByRate + p.deferredByBudget;
  }
  t.equal(analysed, 2 * FPS);
  t.equal(deferred, 0);
  t.same(room.trackStats(1), { analysed: 2 * FPS, embedded: 0 });
});

t.test('decided tracks (alerted, or confidently below the threshold) come last; a grown face reopens a below-threshold track', async (t) => {
  const cfg = SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 1, maxPerTrackPerSecond: 100, decidedAfter: 2, decidedMargin: 0.1, maxWaitFrames: 50 });
  const s = new EmbeddingScheduler(cfg);
  const threshold = 0.5;
  // Track 1 alerts, track 2 stays far below, track 3 stays just below (open).
  for (let f = 0; f < 6; f++) {
    const p = s.plan([cand(1), cand(2), cand(3)], f / FPS, threshold);
    for (const i of p.picked) {
      const id = [1, 2, 3][i];
      s.record(id, { embedded: true, top1Score: id === 1 ? 0.7 : id === 2 ? 0.1 : 0.45, alerted: id === 1 });
    }
  }
  t.equal(s.priorityOf(1, 80, threshold), 'decided');
  t.equal(s.priorityOf(2, 80, threshold), 'decided');
  t.equal(s.priorityOf(3, 80, threshold), 'open');
  t.equal(s.priorityOf(2, 80 * 1.3, threshold), 'open', 'the face grew: worth another look');
  t.equal(s.priorityOf(1, 80 * 1.3, threshold), 'decided', 'an alerted track stays decided');
  t.equal(s.priorityOf(2, 80, undefined), 'open', 'without a watchlist nothing is decided by score');
  // Over the next frames the open track gets the budget.
  const picks: number[] = [];
  for (let f = 6; f < 10; f++) picks.push(...s.plan([cand(1), cand(2), cand(3)], f / FPS, threshold).picked);
  t.same(picks, [2, 2, 2, 2]);
});

t.test('never starves a track: many tracks, a small budget, random arrivals (property, seeded)', async (t) => {
  const rnd = seededRandom(10);
  for (let run = 0; run < 40; run++) {
    const cfg = SchedulerConfigSchema.parse({
      maxEmbeddingsPerFrame: 1 + Math.floor(rnd() * 4),
      maxPerTrackPerSecond: 1 + rnd() * 12,
      maxWaitFrames: 1 + Math.floor(rnd() * 12),
      decidedAfter: 1 + Math.floor(rnd() * 4),
    });
    const s = new EmbeddingScheduler(cfg);
    const threshold = 0.5;
    const maxTracks = 5 + Math.floor(rnd() * 40);
    const rateFrames = Math.ceil(FPS / cfg.maxPerTrackPerSecond);
    // A track seen in every frame is analysed at least once in this many consecutive frames.
    const bound = Math.max(cfg.maxWaitFrames, rateFrames) + Math.ceil(maxTracks / cfg.maxEmbeddingsPerFrame);
    const live = new Map<number, { waited: number; score: number }>();
    let nextId = 1;
    let worst = 0;
    let overBudget = 0;
    const lastAt = new Map<number, number>();
    let rateViolations = 0;
    let miscounted = 0;
    for (let f = 0; f < 600; f++) {
      // Arrivals and departures; some tracks alert, some are far below, some stay open.
      if (live.size < maxTracks && rnd() < 0.5) live.set(nextId++, { waited: 0, score: rnd() });
      for (const id of [...live.keys()]) if (rnd() < 0.01) { live.delete(id); s.endTrack(id); }
      const ids = [...live.keys()];
      const cands = ids.map((id) => cand(id, 40 + rnd() * 80));
      const atSec = f / FPS;
      const p = s.plan(cands, atSec, threshold);
      if (p.picked.length > cfg.maxEmbeddingsPerFrame) overBudget++;
      if (p.picked.length + p.deferredByBudget + p.deferredByRate !== cands.length) miscounted++;
      const picked = new Set(p.picked.map((i) => ids[i]));
      for (const id of ids) {
        const tr = live.get(id)!;
        if (picked.has(id)) {
          const last = lastAt.get(id);
          // The rate binds only when the budget is short (faces left out by it).
          if (last !== undefined && atSec - last < 1 / cfg.maxPerTrackPerSecond - 1e-3 && p.deferredByBudget > 0) rateViolations++;
          lastAt.set(id, atSec);
          tr.waited = 0;
          s.record(id, { embedded: rnd() < 0.8, top1Score: tr.score, alerted: tr.score > 0.9 });
        } else {
          tr.waited++;
          worst = Math.max(worst, tr.waited);
        }
      }
    }
    if (worst >= bound || overBudget || rateViolations || miscounted) {
      t.fail(`run ${run}: worst wait ${worst} frames (bound ${bound}), over budget ${overBudget}, rate violations ${rateViolations}, frames miscounted ${miscounted}`, { cfg, maxTracks });
    }
  }
  t.pass('every track was analysed within the bound in every run, within budget and rate');
});

t.test('an ended track is forgotten', async (t) => {
  const s = new EmbeddingScheduler(SchedulerConfigSchema.parse({}));
  s.plan([cand(1), cand(2)], 0);
  s.endTrack(1);
  t.equal(s.trackCount, 1);
  t.equal(s.trackStats(1), undefined);
  s.endAll();
  t.equal(s.trackCount, 0);
});

t.test('time budget: fewer faces when the measured times would not fit in maxFrameMs, never fewer than one', async (t) => {
  const cfg = SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 6, maxFrameMs: 40 });
  t.equal(frameBudget(cfg, undefined), 6, 'nothing measured yet: the count budget');
  t.equal(frameBudget(cfg, { detectMs: 10, perFaceMs: 5 }), 6, 'all six fit (10 + 6 x 5 = 40)');
  t.equal(frameBudget(cfg, { detectMs: 10, perFaceMs: 10 }), 3);
  t.equal(frameBudget(cfg, { detectMs: 45, perFaceMs: 10 }), 1, 'detect alone is over: still one');
  t.equal(frameBudget({ ...cfg, maxFrameMs: 0 }, { detectMs: 45, perFaceMs: 10 }), 6, 'maxFrameMs 0: the count budget alone');
  const s = new EmbeddingScheduler(cfg);
  const p = s.plan([cand(1), cand(2), cand(3), cand(4)], 0, undefined, frameBudget(cfg, { detectMs: 10, perFaceMs: 12 }));
  t.equal(p.picked.length, 2);
  t.equal(p.deferredByBudget, 2, 'the faces the time budget left out are counted as budget');
});

t.test('time budget held on average: the time a frame leaves unused goes to the next (at most one face of it)', async (t) => {
  const cfg = SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 6, maxFrameMs: 40 });
  const m = { detectMs: 18, perFaceMs: 14 }; // room for (40 - 18) / 14 = 1.57 faces a frame
  t.equal(frameBudget(cfg, m), 1, 'without the carry: always one face');
  // 100 frames: the carry makes it 1 or 2 a frame, 1.57 on average, and the mean frame time stays within 40 ms.
  let carry = 0;
  const faces: number[] = [];
  for (let f = 0; f < 100; f++) {
    const n = frameBudget(cfg, m, carry);
    faces.push(n);
    carry = unusedFrameMs(cfg, m, n, carry);
    t.ok(carry >= 0 && carry <= m.perFaceMs, `carry ${carry} within [0, one face]`);
  }
  t.same([...new Set(faces)].sort(), [1, 2], 'frames analyse one or two faces');
  const mean = faces.reduce((a, b) => a + b, 0) / faces.length;
  t.ok(Math.abs(mean - 22 / 14) < 0.02, `mean ${mean} faces a frame = the room the budget has (1.571)`);
  const meanFrameMs = m.detectMs + mean * m.perFaceMs;
  t.ok(meanFrameMs <= 40 + 0.01, `mean frame time ${meanFrameMs.toFixed(2)} ms within the 40 ms budget`);
  // An idle stretch cannot bank a burst: the carry is capped at one face's time.
  t.equal(unusedFrameMs(cfg, m, 0, 0), 14, 'a frame with no face to analyse leaves one face of time, not 22 ms');
  t.equal(frameBudget(cfg, m, 14), 2, '...which lets the next frame take one more face, not more');
  // A frame over its budget (detect alone over, or the at-least-one rule) leaves nothing, and no debt.
  t.equal(unusedFrameMs(cfg, { detectMs: 45, perFaceMs: 10 }, 1, 5), 0);
  t.equal(unusedFrameMs({ maxFrameMs: 0 }, m, 1, 3), 0, 'maxFrameMs 0: no time budget, no carry');
  t.equal(unusedFrameMs(cfg, undefined, 1), 0, 'nothing measured yet: no carry');
});
