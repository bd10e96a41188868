import t from 'tap';
import { RecognitionChain, type FrameVision } from '../../src/recognition/chain';
import { SchedulerConfigSchema } from '../../src/recognition/scheduler';
import { DecisionConfigSchema, TrackerConfigSchema } from '../../src/recognition/config';
import { AlertDecider, releaseAlertCrop, type Alert } from '../../src/recognition/decision';
import { Matcher } from '../../src/recognition/matcher';
import { Tracker } from '../../src/recognition/tracker';
import type { Box, Face, FaceQuality, FrameAnalysis } from '../../src/vision/types';

const good: FaceQuality = { interOcularPx: 40, sharpness: 100, yawDeg: 0, pitchDeg: 0, detScore: 0.99, passed: true, reasons: [] };
function unit(k: number, tilt = 0): Float32Array {
  const e = new Float32Array(16);
  e[k] = 1;
  e[(k + 1) % 16] = tilt;
  const n = Math.hypot(1, tilt);
  return e.map((v) => v / n);
}
function face(box: Box, emb: Float32Array, fill: number): Face {
  return { box, detScore: 0.99, landmarks: [], fivePoints: [], quality: good, embedding: emb, aligned: { width: 2, height: 2, data: new Uint8Array(12).fill(fill) } };
}

// Every face analysed (no budget or rate limit reached) unless a test says otherwise.
const scheduler = SchedulerConfigSchema.parse({ maxPerTrackPerSecond: 100, maxFrameMs: 0 });
const times = (detectRun: number, landmarkRun: number, embedRun: number) =>
  ({ detectPre: 0, detectRun, detectPost: 0, landmarkPre: 0, landmarkRun, align: 0, quality: 0, embedPre: 0, embedRun, total: detectRun + landmarkRun + embedRun });

/**
 * The vision stage replaced by a scripted sequence of frames: detect() gives their boxes,
 * analyzeDetected() the scripted faces at the indices asked (recorded in `asked`).
 */
function scripted(frames: Face[][]): FrameVision & { given: Face[][]; asked: { indices: number[]; embed?: string }[] } {
  let i = -1;
  const given: Face[][] = [];
  const asked: { indices: number[]; embed?: string }[] = [];
  return {
    given,
    asked,
    detect: async (img) => {
      i++;
      const faces = frames[i] ?? [];
      return { width: img.width, height: img.height, faces: faces.map((f) => ({ box: f.box, detScore: f.detScore })), times: times(2, 0, 0) };
    },
    analyzeDetected: async (indices, opts) => {
      asked.push({ indices: [...indices], embed: opts?.embed });
      const faces = indices.map((k) => frames[i][k]);
      given.push(faces);
      return { width: 320, height: 240, faces, times: times(0, 0.5 * faces.length, 8 * faces.filter((f) => f.embedding.length).length) } satisfies FrameAnalysis;
    },
  };
}

t.test('a watched person walking past raises one alert with the best crop; nothing biometric outlives its use', async (t) => {
  // Subject "S" = basis 0. A passer-by = basis 5. The watched face's score rises 0.6 -> 0.9 -> 0.7.
  const sBox = (i: number): Box => [10 + i * 4, 10, 60 + i * 4, 60];
  const pBox: Box = [200, 10, 250, 60];
  const seq: Face[][] = [
    [face(sBox(0), unit(0, 1.33), 1), face(pBox, unit(5), 101)],
    [face(sBox(1), unit(0, 0.48), 2), face(pBox, unit(5), 102)],
    [face(sBox(2), unit(0, 1.02), 3)],
    [], [], [], [],
  ];
  const vision = scripted(seq);
  const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }]);
  const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), { threshold: 0.55, falseAlertRate: 0.001, watchlistSize: 1 });
  const alerts: Alert[] = [];
  const chain = new RecognitionChain({
    vision, tracker: new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 2 })), decider, scheduler, matcher: () => matcher,
    onAlert: (a) => alerts.push({ ...a, crop: a.crop && { ...a.crop, data: new Uint8Array(a.crop.data) } }) && releaseAlertCrop(a),
  });
  for (let i = 0; i < seq.length; i++) {
    await chain.processFrame({ seq: i + 1, capturedAt: 1000 + i * 40, image: { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) } });
  }
  t.equal(alerts.length, 1);
  t.match(alerts[0], { subject: { ref: 'S' }, framesOfEvidence: 3, firstSeen: 1000, lastSeen: 1080 });
  t.ok(Math.abs(alerts[0].score - 0.9) < 0.01, 'score of the best frame');
  t.same([...alerts[0].crop!.data], new Array(12).fill(2), 'the crop of the best frame');
  const all = vision.given.flat();
  t.ok(all.every((f) => f.embedding.every((v) => v === 0)), 'every embedding zeroed after use');
  t.ok(all.every((f) => f.aligned!.data.every((v) => v === 0)), 'every crop zeroed (kept ones when the track ended or the alert was sent)');
  t.equal(decider.trackCount, 0, 'ended tracks hold no evidence');
  t.match(chain.counts, { frames: 7, facesDetected: 5, facesAnalysed: 5, facesEmbedded: 5, facesNotEmbedded: 0, facesPassingQuality: 5, tracksStarted: 2, tracksEnded: 2, alerts: 1, modelMs: 7 * 2 + 5 * 8.5 });
});

t.test('without a watchlist faces are tracked and counted, never matched', async (t) => {
  const vision = scripted([[face([0, 0, 50, 50], unit(0), 9)]]);
  const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 1 }), { threshold: 0.1, falseAlertRate: 0.001, watchlistSize: 1 });
  const chain = new RecognitionChain({ vision, tracker: new Tracker(TrackerConfigSchema.parse({})), decider, scheduler, matcher: () => undefined, onAlert: () => t.fail('no alert') });
  await chain.processFrame({ seq: 1, capturedAt: 0, image: { width: 1, height: 1, data: new Uint8Array(3) } });
  t.match(chain.counts, { facesDetected: 1, tracksStarted: 1, alerts: 0 });
  chain.endAll();
  t.equal(decider.trackCount, 0);
});

t.test('quality-failing faces: the chain asks for them not to be embedded, tracks them by overlap, never matches them', async (t) => {
  const poor: FaceQuality = { ...good, interOcularPx: 8, passed: false, reasons: ['face-too-small'] };
  const box = (i: number): Box => [10 + i * 4, 10, 60 + i * 4, 60];
  const bare = (i: number): Face => ({ ...face(box(i), new Float32Array(0), 7), quality: poor });
  const frames: Face[][] = [[bare(0)], [bare(1)], [face(box(2), unit(0), 3)], [face(box(3), unit(0), 4)], [bare(4)], [face(box(5), unit(0), 5)]];
  const vision = scripted(frames);
  const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }]);
  const top1 = matcher.top1.bind(matcher);
  let matched = 0;
  matcher.top1 = (q) => {
    t.equal(q.length, 16, 'only embedded faces are matched');
    matched++;
    return top1(q);
  };
  const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), { threshold: 0.5, falseAlertRate: 0.001, watchlistSize: 1 });
  const alerts: Alert[] = [];
  const tracker = new Tracker(TrackerConfigSchema.parse({}));
  const chain = new RecognitionChain({ vision, tracker, decider, scheduler, matcher: () => matcher, onAlert: (a) => alerts.push(a) && releaseAlertCrop(a) });
  for (let k = 0; k < frames.length; k++) {
    await chain.processFrame({ seq: k + 1, capturedAt: k * 40, image: { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) } });
  }
  t.ok(vision.asked.every((a) => a.embed === 'quality-passing'), 'embed: quality-passing asked for every frame');
  t.equal(matched, 3, 'the three quality-passing faces were matched');
  t.match(chain.counts, { facesDetected: 6, facesPassingQuality: 3, facesEmbedded: 3, facesNotEmbedded: 3, notEmbedded: { budget: 0, rate: 0, quality: 3 }, tracksStarted: 1 }, 'one track through failing and passing faces');
  t.equal(alerts.length, 1, 'the evidence of the three passing frames alerts');
  t.match(alerts[0], { subject: { ref: 'S' }, framesOfEvidence: 3 });
  chain.endAll();
});

t.test('a tight budget: every track is embedded within the bound, the rest are counted as not embedded, the watched one still alerts', async (t) => {
  // Six people standing in a row (six tracks), one embedding per frame; person 0 is on the watchlist.
  const n = 6;
  const frames: Face[][] = Array.from({ length: 12 }, (_, f) =>
    Array.from({ length: n }, (_, p) => face([p * 100 + f, 10, p * 100 + f + 50, 60], unit(p, 0.05 * (f % 3)), p)));
  const vision = scripted(frames);
  const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }]);
  const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 2 }), { threshold: 0.9, falseAlertRate: 0.001, watchlistSize: 1 });
  const alerts: Alert[] = [];
  const tight = SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 1, maxPerTrackPerSecond: 100, maxWaitFrames: 4 });
  const chain = new RecognitionChain({ vision, tracker: new Tracker(TrackerConfigSchema.parse({})), decider, scheduler: tight, matcher: () => matcher, threshold: () => 0.9, onAlert: (a) => alerts.push(a) && releaseAlertCrop(a) });
  const embeddedAt = new Map<number, number[]>();
  for (let f = 0; f < frames.length; f++) {
    await chain.processFrame({ seq: f + 1, capturedAt: f * 40, fps: 25, image: { width: 640, height: 240, data: new Uint8Array(3) } });
    const last = vision.asked[vision.asked.length - 1];
    t.equal(last.indices.length, 1, `frame ${f}: one face analysed`);
    embeddedAt.set(last.indices[0], [...(embeddedAt.get(last.indices[0]) ?? []), f]);
  }
  t.same([...embeddedAt.keys()].sort(), [0, 1, 2, 3, 4, 5], 'every track was embedded');
  t.ok([...embeddedAt.values()].every((fs) => fs[0] < n), 'each within the first six frames (new tracks first)');
  t.equal(alerts.length, 1, 'the watched person alerts from two embeddings');
  t.match(alerts[0], { subject: { ref: 'S' }, framesOfEvidence: 2 });
  t.ok(alerts[0].framesSeen > 2, `framesSeen counts the tracker's frames, not only the analysed ones (${alerts[0].framesSeen})`);
  const c = chain.counts;
  t.match(c, { facesDetected: 72, facesAnalysed: 12, facesEmbedded: 12, facesNotEmbedded: 60, notEmbedded: { budget: 60, rate: 0, quality: 0 }, tracksStarted: 6 });
  chain.endAll();
  const hist = chain.counts.embeddingsPerEndedTrack;
  t.equal(hist.reduce((a, b) => a + b, 0), 6, 'six tracks ended');
  t.equal(hist.reduce((a, b, k) => a + b * k, 0), 12, 'twelve embeddings in all');
});

t.test('per-track rate: a lone face with room in the budget is embedded in every frame; with a short budget each track is held to maxPerTrackPerSecond', async (t) => {
  const decider = () => new AlertDecider(DecisionConfigSchema.parse({}), { threshold: 0.9, falseAlertRate: 0.001, watchlistSize: 1 });
  const frame = (f: number) => ({ seq: f + 1, capturedAt: f, fps: 25, image: { width: 320, height: 240, data: new Uint8Array(3) } });
  // 50 frames at 25 fps = 2 s of video, processed as fast as possible (capture times 1 ms apart).
  const lone = new RecognitionChain({
    vision: scripted(Array.from({ length: 50 }, (_, f) => [face([f, 10, f + 50, 60], unit(3), 1)])), tracker: new Tracker(TrackerConfigSchema.parse({})), decider: decider(),
    scheduler: SchedulerConfigSchema.parse({ maxPerTrackPerSecond: 5, maxFrameMs: 0 }), matcher: () => undefined, onAlert: () => t.fail('no alert'),
  });
  for (let f = 0; f < 50; f++) await lone.processFrame(frame(f));
  t.match(lone.counts, { facesDetected: 50, facesEmbedded: 50, facesNotEmbedded: 0, notEmbedded: { budget: 0, rate: 0, quality: 0 }, tracksStarted: 1 }, 'the rate cap does not throw spare capacity away');
  // Three faces, one embedding per frame: the rate shares the budget (each track about a third).
  const three = new RecognitionChain({
    vision: scripted(Array.from({ length: 50 }, (_, f) => [0, 1, 2].map((k) => face([f + 200 * k, 10, f + 200 * k + 50, 60], unit(k), 1)))), tracker: new Tracker(TrackerConfigSchema.parse({})), decider: decider(),
    scheduler: SchedulerConfigSchema.parse({ maxEmbeddingsPerFrame: 1, maxPerTrackPerSecond: 5, maxFrameMs: 0 }), matcher: () => undefined, onAlert: () => t.fail('no alert'),
  });
  for (let f = 0; f < 50; f++) await three.processFrame(frame(f));
  const c = three.counts;
  t.match(c, { facesDetected: 150, facesEmbedded: 50, facesNotEmbedded: 100, tracksStarted: 3 });
  t.equal(c.notEmbedded.budget + c.notEmbedded.rate, 100, 'every face not embedded counted with its reason');
  t.ok(c.notEmbedded.rate > 0 && c.notEmbedded.budget > 0, `both reasons seen: ${JSON.stringify(c.notEmbedded)}`);
  three.endAll();
  t.same(c.embeddingsPerEndedTrack.slice(0, 1), [0]);
  const per = three.counts.embeddingsPerEndedTrack.flatMap((n, k) => Array<number>(n).fill(k));
  t.ok(per.length === 3 && per.every((k) => k >= 15 && k <= 19), `each track embedded about 50/3 times: ${per}`);
});

t.test('an identity swap under the same box is split off into a new track once embedded', async (t) => {
  const box: Box = [10, 10, 60, 60];
  const frames: Face[][] = [[face(box, unit(0), 1)], [face(box, unit(0), 2)], [face(box, unit(7), 3)]];
  const vision = scripted(frames);
  const decider = new AlertDecider(DecisionConfigSchema.parse({}), { threshold: 0.9, falseAlertRate: 0.001, watchlistSize: 1 });
  const chain = new RecognitionChain({ vision, tracker: new Tracker(TrackerConfigSchema.parse({})), decider, scheduler, matcher: () => undefined, onAlert: () => t.fail('no alert') });
  for (let f = 0; f < 3; f++) await chain.processFrame({ seq: f + 1, capturedAt: f * 40, fps: 25, image: { width: 320, height: 240, data: new Uint8Array(3) } });
  t.equal(chain.counts.tracksStarted, 2, 'the third face is someone else: a second track');
  chain.endAll();
  t.equal(chain.counts.tracksEnded, 2);
});

t.test("crops: 'none' asks vision for no crop at all (crops cannot be sent); a context crop is used when asked", async (t) => {
  for (const crops of ['none', { context: { marginFraction: 0.5, maxSidePx: 300 } }] as const) {
    const asked: unknown[] = [];
    const seq: Face[][] = [0, 1, 2].map((i) => [{ ...face([10 + i, 10, 60 + i, 60], unit(0), 3), aligned: undefined, ...(crops === 'none' ? {} : { context: { width: 4, height: 4, data: new Uint8Array(48).fill(9) } }) }]);
    const inner = scripted(seq);
    const vision: FrameVision = { detect: (img, o) => inner.detect(img, o), analyzeDetected: (idx, opts) => (asked.push(opts), inner.analyzeDetected(idx, opts)) };
    const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }]);
    const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), { threshold: 0.55, falseAlertRate: 0.001, watchlistSize: 1 });
    const alerts: Alert[] = [];
    const chain = new RecognitionChain({ vision, tracker: new Tracker(TrackerConfigSchema.parse({})), decider, scheduler, matcher: () => matcher, onAlert: (a) => alerts.push(a), crops });
    for (let i = 0; i < 3; i++) await chain.processFrame({ seq: i + 1, capturedAt: 1000 + i * 40, image: { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) } });
    t.equal(alerts.length, 1);
    if (crops === 'none') {
      t.ok(asked.every((o) => (o as { withAligned?: boolean; withContext?: unknown }).withAligned === false && (o as { withContext?: unknown }).withContext === undefined), 'no crop requested');
      t.equal(alerts[0].crop, undefined, 'and the alert has none');
    } else {
      t.match(asked[0], { withAligned: false, withContext: { marginFraction: 0.5, maxSidePx: 300 } });
      t.equal(alerts[0].crop?.width, 4, 'the context crop is the alert crop');
    }
  }
});

t.test('a fragment (the same person found far from the predicted box after a gap) is merged into the lost track: one track, evidence kept', async (t) => {
  const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }]);
  const decider = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), { threshold: 0.55, falseAlertRate: 0.001, watchlistSize: 1 });
  const alerts: Alert[] = [];
  // Two frames of S, two frames with nobody, then S 400 px away (no box association) for one frame.
  const seq: Face[][] = [[face([10, 10, 60, 60], unit(0), 1)], [face([14, 10, 64, 60], unit(0), 2)], [], [], [face([420, 10, 470, 60], unit(0), 3)]];
  const chain = new RecognitionChain({
    vision: scripted(seq), tracker: new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 5 })), decider, scheduler, matcher: () => matcher,
    onAlert: (a) => { alerts.push(a); releaseAlertCrop(a); },
  });
  for (let f = 0; f < seq.length; f++) await chain.processFrame({ seq: f + 1, capturedAt: f * 40, fps: 25, image: { width: 640, height: 480, data: new Uint8Array(3) } });
  t.equal(alerts.length, 1, 'three frames of evidence on one track: the alert (the fragment alone had one)');
  t.equal(alerts[0].trackId, 1);
  t.match(chain.counts, { tracksStarted: 1, tracksMerged: 0, facesEmbedded: 3 });
  const off = new RecognitionChain({
    vision: scripted([[face([10, 10, 60, 60], unit(0), 1)], [face([14, 10, 64, 60], unit(0), 2)], [], [], [face([420, 10, 470, 60], unit(0), 3)]]),
    tracker: new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 5, minMerge: 1.01 })), decider: new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), { threshold: 0.55, falseAlertRate: 0.001, watchlistSize: 1 }),
    scheduler, matcher: () => matcher, onAlert: () => t.fail('without merging the evidence is split: no alert'),
  });
  for (let f = 0; f < 5; f++) await off.processFrame({ seq: f + 1, capturedAt: f * 40, fps: 25, image: { width: 640, height: 480, data: new Uint8Array(3) } });
  t.equal(off.counts.tracksStarted, 2, 'minMerge above 1: two tracks');
});

t.test("rule 'template': noisy frames each below the threshold, their template above it; templates end with their track", async (t) => {
  // Every frame of S is S plus noise in its own direction: single-frame score 1/sqrt(1+1.44) = 0.64,
  // below the threshold 0.7; the mean of 3 frames 1/sqrt(1+3*1.44/9) = 0.82.
  const noisy = (f: number) => {
    const e = new Float32Array(16);
    e[0] = 1;
    e[1 + f] = 1.2;
    return e.map((v) => v / Math.hypot(1, 1.2));
  };
  const sBox = (i: number): Box => [10 + i * 3, 10, 60 + i * 3, 60];
  const pBox: Box = [200, 10, 250, 60];
  const seq = (): Face[][] => [
    [face(sBox(0), noisy(0), 1), face(pBox, unit(9), 101)],
    [face(sBox(1), noisy(1), 2), face(pBox, unit(9, 0.2), 102)],
    [face(sBox(2), noisy(2), 3)],
    [face(sBox(3), noisy(3), 4)],
    [], [], [],
  ];
  const run = async (rule: 'min-frames' | 'template') => {
    const vision = scripted(seq());
    const matcher = new Matcher([{ ref: 'S', category: 'wanted', embedding: unit(0) }, { ref: 'Q', category: 'wanted', embedding: unit(12) }]);
    const dcfg = DecisionConfigSchema.parse({ rule, minFrames: 2, template: { frames: 5, minFrames: 2 } });
    const decider = new AlertDecider(dcfg, { threshold: 0.7, fusedThreshold: 0.75, falseAlertRate: 0.001, watchlistSize: 2 });
    const alerts: Alert[] = [];
    const chain = new RecognitionChain({
      vision, tracker: new Tracker(TrackerConfigSchema.parse({ maxUnseenFrames: 2 })), decider, scheduler, matcher: () => matcher,
      onAlert: (a) => { alerts.push({ ...a }); releaseAlertCrop(a); },
      ...(rule === 'template' ? { template: dcfg.template } : {}),
    });
    const counts: number[] = [];
    for (let i = 0; i < 7; i++) {
      await chain.processFrame({ seq: i + 1, capturedAt: 1000 + i * 40, image: { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) } });
      counts.push(chain.templateCount);
    }
    return { alerts, counts, vision };
  };
  const single = await run('min-frames');
  t.equal(single.alerts.length, 0, 'per-frame rule: no frame reaches 0.7');
  t.same(single.counts, [0, 0, 0, 0, 0, 0, 0], 'no template is kept under a per-frame rule');
  const fused = await run('template');
  t.equal(fused.alerts.length, 1, 'the fused template reaches the fused threshold');
  t.match(fused.alerts[0], { subject: { ref: 'S' }, fused: true, rule: 'template', threshold: 0.75 });
  t.ok(fused.alerts[0].templateFrames === 2 || fused.alerts[0].templateFrames === 3, `decided on ${fused.alerts[0].templateFrames} fused frames`);
  t.ok(fused.alerts[0].score >= 0.75 && fused.alerts[0].score < 0.83, `fused score ${fused.alerts[0].score.toFixed(3)}`);
  t.ok(fused.alerts[0].bestScore < 0.7, 'no single frame was above the threshold');
  t.equal(fused.counts[0], 2, 'one template per embedded track (S and the passer-by)');
  t.equal(fused.counts[fused.counts.length - 1], 0, 'templates are dropped when their track ends');
  t.ok(fused.vision.given.flat().every((f) => f.embedding.every((v) => v === 0)), 'the frames\' embeddings are zeroed (the template holds copies, cleared at track end)');
});
