import t from 'tap';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { needsSharedData, sharedData } from '../helpers/data';
import { packageRoot } from '../../src/paths';

const WATCHED = ['barack-obama', 'lin-manuel-miranda'];
/** The committed clip (the same file as ../shared/data/video/hamilton-clip.mp4). */
const VIDEO = path.join(packageRoot(), 'assets', 'demo', 'hamilton-clip.mp4');
const DEMO_WATCHLIST = path.join(packageRoot(), 'assets', 'demo', 'watchlist');

function watchlistDir(t: { teardown: (fn: () => void) => void }, people: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const p of people) cpSync(sharedData('people', p), path.join(dir, p), { recursive: true });
  return dir;
}

function lines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('hamilton clip: Lin-Manuel Miranda and Barack Obama are alerted, nobody else', needsSharedData('people'), async (t) => {
  const dir = watchlistDir(t, WATCHED);
  const truth = path.join(dir, '..', `${path.basename(dir)}-truth.json`);
  writeFileSync(truth, JSON.stringify({ present: WATCHED }));
  t.teardown(() => rmSync(truth, { force: true }));
  const r = await runCli(['replay', VIDEO, '--watchlist-photos', dir, '--json', '--ground-truth', truth]);
  t.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  const alerts = out.filter((l) => l.type === 'alert');
  const summary = out[out.length - 1];
  t.same([...new Set(alerts.map((a) => a.subject))].sort(), WATCHED, 'at least one alert each, no other subject');
  for (const a of alerts) {
    t.ok((a.score as number) >= (a.threshold as number));
    t.ok((a.frames as number) >= 3, 'track-level evidence');
    t.equal(a.watchlistSize, 2);
    t.ok((a.cropBytes as number) > 0, 'the alert carried a crop');
  }
  t.match(summary, {
    type: 'summary', frames: 275, framesProcessed: 275, framesDropped: 0, alerts: alerts.length,
    thresholdSource: /calibration\.json$/, falseAlertRate: 0.001, watchlistSize: 2, frameBudgetMs: null, realtime: false,
    latencyMs: { p50: Number, p95: Number }, processedFps: Number, cpuMsPerFrame: Number,
    groundTruth: { trueAlerts: alerts.length, falseAlerts: 0, missed: [] },
  });
  for (const a of alerts) t.ok((a.videoTimeSec as number) >= 0 && (a.videoTimeSec as number) <= 9.2, 'alert placed within the 9.2 s clip');
  const first = (who: string) => Math.min(...alerts.filter((a) => a.subject === who).map((a) => a.videoTimeSec as number));
  t.ok(first('lin-manuel-miranda') < first('barack-obama'), 'on stage first, then the audience');
  t.ok((summary.facesDetected as number) > 100);
  t.ok((summary.tracks as number) >= 2);
});

t.test('hamilton clip with a watchlist of the other people: no alert', needsSharedData('people'), async (t) => {
  const others = ['alex-lacamoire', 'joe-biden', 'bbt-amy', 'bbt-bernadette', 'bbt-howard', 'bbt-leonard', 'bbt-penny', 'bbt-raj', 'bbt-sheldon', 'bbt-stuart'];
  const dir = watchlistDir(t, others);
  const r = await runCli(['replay', VIDEO, '--watchlist-photos', dir, '--json']);
  t.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  t.same(out.filter((l) => l.type === 'alert'), []);
  t.match(out[out.length - 1], { type: 'summary', alerts: 0, watchlistSize: 10 });
});

// Committed assets only (the demo's clip and watchlist): runs on a fresh clone without ../shared.
t.test('user errors are clear', async (t) => {
  const empty = mkdtempSync(path.join(tmpdir(), 'lfr-replay-empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  let r = await runCli(['replay', '/nonexistent/video.mp4', '--watchlist-photos', empty]);
  t.equal(r.code, 1);
  t.match(r.stderr, 'lfr-edge replay: video /nonexistent/video.mp4 does not exist');
  r = await runCli(['replay', VIDEO]);
  t.equal(r.code, 2);
  t.match(r.stderr, 'missing required option --watchlist-photos');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '7']);
  t.equal(r.code, 2);
  t.match(r.stderr, '--threshold must be a cosine score between -1 and 1, got 7');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', path.join(empty, 'nope'), '--threshold', '0.5']);
  t.equal(r.code, 1);
  t.match(r.stderr, `--watchlist-photos ${path.join(empty, 'nope')} is not a directory (expected DIR/<subject>/*.jpg|png)`);
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--calibration', '/nonexistent/cal.json']);
  t.equal(r.code, 1);
  t.match(r.stderr, "no calibration at /nonexistent/cal.json: give --threshold, or run 'lfr-edge eval' to make one");
  const badTruth = path.join(empty, 'truth.json');
  writeFileSync(badTruth, '{"present": "everyone"}');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5', '--ground-truth', badTruth]);
  t.equal(r.code, 1);
  t.match(r.stderr, `ground truth ${badTruth}: expected {"present": ["subject", ...]}`);
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5', '--also-shows', badTruth]);
  t.equal(r.code, 2);
  t.match(r.stderr, '--also-shows goes with --ground-truth');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5', '--ground-truth', badTruth, '--also-shows', '/nonexistent/also.txt']);
  t.equal(r.code, 1);
  t.match(r.stderr, 'cannot read --also-shows /nonexistent/also.txt: ');
  const badAlso = path.join(empty, 'also.txt');
  writeFileSync(badAlso, 'just-a-name\n');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5', '--ground-truth', badTruth, '--also-shows', badAlso]);
  t.equal(r.code, 1);
  t.match(r.stderr, `${badAlso}:1: expected 'Person/photo.jpg Other_Person ...', got 'just-a-name'`);
  const presentTruth = path.join(empty, 'present.json');
  writeFileSync(presentTruth, '{"present": ["a"]}');
  writeFileSync(badAlso, 'M/M_0002.jpg A\n');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5', '--ground-truth', presentTruth, '--also-shows', badAlso]);
  t.equal(r.code, 1);
  t.match(r.stderr, 'an "also shows" list needs a generator\'s truth.json');
  const notVideo = path.join(empty, 'notes.mp4');
  writeFileSync(notVideo, 'not a video');
  r = await runCli(['replay', notVideo, '--watchlist-photos', DEMO_WATCHLIST, '--threshold', '0.5']);
  t.equal(r.code, 1);
  t.match(r.stderr, `lfr-edge replay: cannot play ${notVideo}: `);
  mkdirSync(path.join(empty, 'nobody'));
  writeFileSync(path.join(empty, 'nobody', 'x.png'), 'not a png');
  r = await runCli(['replay', VIDEO, '--watchlist-photos', empty, '--threshold', '0.5']);
  t.equal(r.code, 1);
  t.match(r.stderr, /x\.png.*; skipped/);
  t.match(r.stderr, `no usable photo for subject nobody; not on the watchlist`);
  t.match(r.stderr, `no face found in any photo under ${empty}`);
});
