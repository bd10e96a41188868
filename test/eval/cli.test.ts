/**
 * `lfr-edge eval` end to end on a small deterministic subset of ../shared/data/lfw-dev (20 people),
 * through the compiled CLI (dist/src/cli.js: `npx tsc -p .` first). The full-data figures are run
 * by hand for docs/accuracy.md and docs/fairness.md.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readCalibrationFile, thresholdFor } from '../../src/recognition/calibration';

const DATA = path.resolve(__dirname, '../../../shared/data/lfw-dev');
const CLI = path.resolve(__dirname, '../../dist/src/cli.js');

if (!existsSync(path.join(DATA, 'images'))) {
  t.skip(`lfw-dev data not found at ${DATA}: the eval CLI tests need ../shared/data beside the repo`);
} else if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: build first with 'npx tsc -p .' (npm test does)`);
} else {
  run();
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'eval', ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function run() {
  const dir = t.testdir({});
  const images = path.join(dir, 'images');
  // 12 people with >= 2 images (first 3 each) and 8 with one, the first in name order: deterministic.
  const people = readdirSync(path.join(DATA, 'images')).sort();
  const count = (p: string) => readdirSync(path.join(DATA, 'images', p)).length;
  const several = people.filter((p) => count(p) >= 2).slice(0, 12);
  const single = people.filter((p) => count(p) === 1).slice(0, 8);
  const chosen: string[] = [];
  for (const p of [...several, ...single]) {
    mkdirSync(path.join(images, p), { recursive: true });
    for (const f of readdirSync(path.join(DATA, 'images', p)).sort().slice(0, 3)) {
      copyFileSync(path.join(DATA, 'images', p, f), path.join(images, p, f));
      chosen.push(`${p}/${f}`);
    }
  }
  const demo = readFileSync(path.join(DATA, 'demographics.csv'), 'utf8').split('\n');
  const csv = path.join(dir, 'demographics.csv');
  writeFileSync(csv, [demo[0], ...demo.slice(1).filter((l) => chosen.includes(l.split(',')[0]))].join('\n') + '\n');
  const pairsFile = path.join(dir, 'pairs.txt');
  const nums = (p: string) => readdirSync(path.join(images, p)).sort().map((f) => Number(/_(\d+)\.jpg$/.exec(f)![1]));
  const matched = several.slice(0, 6).map((p) => `${p}\t${nums(p)[0]}\t${nums(p)[1]}`);
  const mismatched = several.slice(0, 6).map((p, i) => `${p}\t${nums(p)[0]}\t${single[i]}\t${nums(single[i])[0]}`);
  writeFileSync(pairsFile, `6\n${matched.join('\n')}\n${mismatched.join('\n')}\n`);

  t.test('verify --pairs: LFW pairs file, JSON keys, 10-fold accuracy, chart', async (t) => {
    const plot = path.join(dir, 'roc.svg');
    const r = cli(['verify', '--images', images, '--pairs', pairsFile, '--json', '--plot', plot, '--workers', '1']);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const k of ['pairs', 'accuracy', 'tar', 'thresholds', 'detectionFailures']) t.ok(k in out, `key ${k}`);
    t.same(Object.keys(out.tar), ['1e-2', '1e-3', '1e-4']);
    t.equal(out.pairs, 12);
    t.ok(out.accuracy >= 0.9, `accuracy ${out.accuracy}`);
    t.equal(out.tar['1e-2'], null, '6 impostor pairs cannot resolve FAR 1e-2');
    t.match(out.notReported[0].reason, /needs at least 100 impostor pairs/);
    t.equal(out.detectionFailures, 0);
    t.match(r.stderr, /embedding images: \d+\/\d+/, 'progress on stderr');
    t.match(readFileSync(plot, 'utf8'), /<svg[^]*Verification ROC/);
  });

  t.test('verify over all pairs: a corrupt file and a faceless image are reported, the run goes on; calibration written', async (t) => {
    const p = several[0];
    writeFileSync(path.join(images, p, 'notes.txt'), 'not an image');
    await sharp({ create: { width: 250, height: 250, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toFile(path.join(images, p, `${p}_9999.jpg`));
    const cal = path.join(dir, 'cal', 'calibration.json');
    const r = cli(['verify', '--images', images, '--json', '--calibration-out', cal]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, new RegExp(`${p}/notes\\.txt: cannot decode image`), 'the unreadable file is named');
    const out = JSON.parse(r.stdout);
    t.equal(out.mode, 'all-pairs');
    t.equal(out.unreadable, 1);
    t.equal(out.detectionFailures, 1, 'the grey image has no face');
    t.ok(out.detectionFailurePairs.impostor > 0);
    t.same(Object.keys(out.tar), ['1e-2', '1e-3', '1e-4', '1e-5']);
    const mates = readdirSync(path.join(images, p)).filter((f) => f.endsWith('.jpg')).length - 1;
    t.equal(out.detectionFailurePairs.genuine, mates, `the faceless image misses its ${mates} genuine pairs (score -1)`);
    t.ok(out.tar['1e-2'] > 0.6, `TAR at 1e-2 ${out.tar['1e-2']}`);
    t.equal(out.tar['1e-4'], null);
    const c = readCalibrationFile(cal);
    t.equal(c.impostor.count, out.impostorPairs - out.detectionFailurePairs.impostor, 'pairs without a face are left out of the calibration');
    t.equal(c.model.embedderSha256.length, 64);
    t.ok(thresholdFor(c, { falseAlertRate: 0.05, watchlistSize: 1 }).threshold > 0);
  });

  t.test('identify: open-set keys and a plausible rank-1', async (t) => {
    const r = cli(['identify', '--images', images, '--json', '--workers', '1']);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const k of ['enrolled', 'mated', 'nonMated', 'tpir', 'thresholds', 'rank1']) t.ok(k in out, `key ${k}`);
    t.equal(out.enrolled, 12);
    t.equal(out.nonMated, 8);
    t.ok(out.rank1 >= 0.9, `rank-1 ${out.rank1}`);
    t.same(Object.keys(out.tpir), [], 'FPIR 1e-2 needs 100 non-mated searches; 8 is not enough');
    t.equal(out.notReported.length, 2);
  });

  t.test('identify --enrol all: the same searches, first-photo enrolment (plain, flip-averaged) beside all-photo templates', async (t) => {
    const r = cli(['identify', '--images', images, '--enrol', 'all', '--json', '--workers', '1']);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.equal(out.enrol, 'all');
    t.same(Object.keys(out.enrolments), ['first', 'firstFlipAveraged', 'allPhotos']);
    for (const e of Object.values(out.enrolments) as { enrolled: number; mated: number; nonMated: number; rank1: number }[]) {
      t.match(e, { enrolled: 12, mated: out.mated, nonMated: 8 }, 'one protocol: the same people and searches');
      t.ok(e.rank1 >= 0.9, `rank-1 ${e.rank1}`);
    }
    t.equal(out.rank1, out.enrolments.allPhotos.rank1, 'the top level is the chosen enrolment');
    t.ok(Array.isArray(out.fused) && out.fused.length === 10, 'fused track templates measured: K 1, 2, 3, 5, 8, uniform and quality');
    t.match(out.fused.find((f: { frames: number; weighting: string }) => f.frames === 5 && f.weighting === 'quality'), { people: 12, impostorPairs: 12 * 11 });
    t.same(out.fusedConfigured, { frames: 5, weighting: 'quality' });
    const text = cli(['identify', '--images', images, '--enrol', 'all', '--workers', '1']);
    t.match(text.stdout, /enrolment: first photo\n[^]*enrolment: first photo, flip-averaged\n[^]*enrolment: all photos, flip-averaged\n/);
    const bad = cli(['identify', '--images', images, '--enrol', 'best']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--enrol must be 'first' or 'all', got 'best'/);
    const noIn = cli(['identify', '--images', images, '--enrol', 'all', '--calibration-out', path.join(dir, 'f.json')]);
    t.equal(noIn.code, 2);
    t.match(noIn.stderr, /--calibration-out needs --calibration-in FILE/);
    const notAll = cli(['identify', '--images', images, '--calibration-in', 'x', '--calibration-out', path.join(dir, 'f.json')]);
    t.equal(notAll.code, 2);
    t.match(notAll.stderr, /--calibration-out needs --enrol all/);
  });

  t.test('identify --enrol all --calibration-out: the fused section added to the calibration, the rest kept', async (t) => {
    const base = path.join(dir, 'cal', 'calibration.json'); // written by the verify test above
    const out = path.join(dir, 'cal', 'with-fused.json');
    const r = cli(['identify', '--images', images, '--enrol', 'all', '--calibration-in', base, '--calibration-out', out, '--workers', '1']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /calibration written to .*with-fused\.json \(fused: 132 impostor template pairs, K 5, quality\)/);
    const before = readCalibrationFile(base);
    const c = readCalibrationFile(out);
    t.equal(c.v, 2);
    t.same(c.impostor, before.impostor, 'single-face data kept');
    t.match(c.fused, { frames: 5, weighting: 'quality', impostor: { count: 132 } });
    const d = thresholdFor(c, { falseAlertRate: 0.5, watchlistSize: 1, fused: true });
    t.ok(d.threshold >= thresholdFor(c, { falseAlertRate: 0.5, watchlistSize: 1 }).threshold, 'the fused threshold is never below the single-face one');
  });

  t.test('fairness: per-group report, calibration with groups, chart', async (t) => {
    const plot = path.join(dir, 'fmr.svg');
    const cal = path.join(dir, 'fair-cal.json');
    const r = cli(['fairness', '--images', images, '--demographics', csv, '--far', '1e-1,1e-2', '--bootstrap', '200', '--json', '--plot', plot, '--calibration-out', cal]);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.same(Object.keys(out.thresholds), ['1e-1', '1e-2']);
    t.ok(out.groups.length >= 2);
    const g = out.groups.find((x: { key: string }) => x.key === 'sex=M');
    for (const k of ['attribute', 'value', 'people', 'images', 'impostorPairs', 'falseMatches', 'fmr', 'fmrInterval', 'ratioToLowest', 'detectionFailureRate']) t.ok(k in g, `group key ${k}`);
    t.ok('1e-1' in out.worstGroupThreshold);
    const c = readCalibrationFile(cal);
    t.ok(c.groups && 'sex=M' in c.groups);
    t.match(readFileSync(plot, 'utf8'), /sex=M/);
    const text = cli(['fairness', '--images', images, '--demographics', csv, '--threshold', '0.3', '--bootstrap', '50', '--workers', '1']);
    t.equal(text.code, 0, text.stderr);
    t.match(text.stdout, /at threshold 0\.3000 \(0\.3\)/);
  });

  t.test('errors: usage (exit 2) and bad input files (exit 1) say what is wrong', async (t) => {
    let r = cli(['verify']);
    t.equal(r.code, 2);
    t.match(r.stderr, /missing required option --images/);
    r = cli(['compare', '--images', images]);
    t.equal(r.code, 2);
    t.match(r.stderr, /unknown subcommand 'compare'/);
    r = cli(['fairness', '--images', images, '--demographics', csv, '--far', '0']);
    t.equal(r.code, 2);
    t.match(r.stderr, /--far: '0' is not a number in \(0, 1\]/);
    r = cli(['fairness', '--images', images, '--demographics', csv, '--far', '1e-3', '--threshold', '0.3']);
    t.equal(r.code, 2);
    t.match(r.stderr, /give --far or --threshold, not both/);
    const bad = path.join(dir, 'bad-pairs.txt');
    writeFileSync(bad, 'A\t1\t2\nB 1\n');
    r = cli(['verify', '--images', images, '--pairs', bad]);
    t.equal(r.code, 1);
    t.match(r.stderr, /bad-pairs\.txt:2: expected 'name n1 n2'/);
    r = cli(['verify', '--images', images, '--pairs', path.join(dir, 'nope.txt')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /cannot read pairs file .*nope\.txt/);
    const badCsv = path.join(dir, 'bad.csv');
    writeFileSync(badCsv, 'file,sex\nx,F\n');
    r = cli(['fairness', '--images', images, '--demographics', badCsv]);
    t.equal(r.code, 1);
    t.match(r.stderr, /bad\.csv:1: the header has no 'image' column/);
    r = cli(['identify', '--images', path.join(dir, 'missing-dir')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /cannot read image folder .*missing-dir/);
  });
}
