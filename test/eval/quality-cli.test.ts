/**
 * `lfr-edge eval quality` end to end through the compiled CLI on a small deterministic subset of
 * ../shared/data/lfw-dev (8 people with several photos, 4 with one): real photos degraded, found
 * by the real live detector (YuNet) in 1280x720 frames, embedded by the real model; the per-band
 * report, the chart and a calibration the unit reads with per-band thresholds. Errors the user can
 * make are refused with what was wrong. The full-data figures are run by hand (docs/accuracy.md).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readCalibrationFile, thresholdFor } from '../../src/recognition/calibration';

const DATA = path.resolve(__dirname, '../../../shared/data/lfw-dev');
const CLI = path.resolve(__dirname, '../../dist/src/cli.js');
const SHIPPED = path.resolve(__dirname, '../../models/calibration.json');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'eval', ...args], { encoding: 'utf8', timeout: 280_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(path.join(DATA, 'images'))) {
  t.skip(`lfw-dev data not found at ${DATA}: eval quality needs ../shared/data beside the repo`);
} else if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: build first with 'npx tsc -p .' (npm test does)`);
} else if (!existsSync(SHIPPED)) {
  t.fail(`${SHIPPED} is missing: run 'node scripts/install-models.js'`);
} else {
  run();
}

function run() {
  const dir = t.testdir({});
  const images = path.join(dir, 'images');
  const people = readdirSync(path.join(DATA, 'images')).sort();
  const count = (p: string) => readdirSync(path.join(DATA, 'images', p)).length;
  for (const p of [...people.filter((p) => count(p) >= 2).slice(0, 8), ...people.filter((p) => count(p) === 1).slice(0, 4)]) {
    mkdirSync(path.join(images, p), { recursive: true });
    for (const f of readdirSync(path.join(DATA, 'images', p)).sort().slice(0, 2)) copyFileSync(path.join(DATA, 'images', p, f), path.join(images, p, f));
  }

  t.test('per-band report, chart and a calibration with per-band thresholds', async (t) => {
    const calOut = path.join(dir, 'out', 'calibration.json');
    const plot = path.join(dir, 'bands.svg');
    const r = cli(['quality', '--images', images, '--mated', '6', '--non-mated', '3', '--copies', '3', '--detector', 'yunet-n', '--bands', '14,28',
      '--calibration-in', SHIPPED, '--calibration-out', calOut, '--plot', plot, '--json', '--workers', '1']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /enrolling clean photos: \d+\/6/, 'progress on stderr');
    t.match(r.stderr, /degrading 9 probe photos x 3 copies \(live detector yunet-n, 1280x720 frames\)/);
    const out = JSON.parse(r.stdout);
    t.equal(out.mated, 6);
    t.equal(out.copiesMade, 27);
    t.same(out.bands.map((b: { name: string }) => b.name), ['iod-0-14', 'iod-14-28', 'iod-28-up']);
    t.same(out.detection.map((d: { name: string }) => d.name), ['iod-0-14', 'iod-14-28', 'iod-28-up']);
    t.equal(out.detection.reduce((a: number, d: { copies: number }) => a + d.copies, 0), 27, 'every copy counted by its target size');
    const faces = out.bands.reduce((a: number, b: { faces: number }) => a + b.faces, 0);
    t.equal(faces, out.facesMeasured);
    t.ok(faces >= 14, `the live detector found most degraded faces (${faces}/27)`);
    const genuine = out.bands.reduce((a: number, b: { genuine: number }) => a + b.genuine, 0);
    t.ok(genuine > 0 && genuine <= 18, `genuine scores from mated probes only (${genuine})`);
    for (const b of out.bands) {
      if (b.faces === 0) continue;
      t.equal(b.impostor, b.faces * 6 - b.genuine, `${b.name}: each face against every enrolled photo but its mate`);
      t.ok(b.unit['1e-3'].threshold > 0.2, `${b.name}: the unit's band threshold ${b.unit['1e-3'].threshold}`);
    }
    t.ok(out.withoutBands, 'figures at the threshold without bands, beside');
    t.ok('minInterOcularPx' in out.gates && typeof out.gates.rule === 'string');
    const big = out.bands.find((b: { name: string }) => b.name === 'iod-28-up');
    if (big.genuine > 0) t.ok(big.genuineMedian > 0.3, `large faces still match their mate (median ${big.genuineMedian})`);
    // the calibration: the unit reads it and gives a threshold per band, never below the overall one
    const cal = readCalibrationFile(calOut);
    const shipped = readCalibrationFile(SHIPPED);
    t.equal(cal.v, 2);
    t.same(cal.quality!.bands.map((b) => b.name), ['iod-0-14', 'iod-14-28', 'iod-28-up']);
    t.equal(cal.impostor.count, shipped.impostor.count, 'the clean distribution is kept');
    t.same(Object.keys(cal.groups ?? {}), Object.keys(shipped.groups ?? {}), 'and its groups');
    const req = { falseAlertRate: 1e-3, watchlistSize: 10 };
    const overall = thresholdFor(cal, req).threshold;
    for (const b of cal.quality!.bands) {
      const d = thresholdFor(cal, { ...req, band: b.name });
      t.equal(d.band, b.name);
      t.ok(d.threshold >= overall, `${b.name}: ${d.threshold} >= ${overall}`);
      t.equal(cal.quality!.impostor[b.name].count, out.bands.find((x: { name: string }) => x.name === b.name).impostor);
    }
    t.match(readFileSync(plot, 'utf8'), /<svg[^]*true accept rate per inter-ocular band/);
  });

  t.test('errors say what is wrong', async (t) => {
    const e1 = cli(['quality', '--images', images, '--calibration-out', path.join(dir, 'x.json')]);
    t.equal(e1.code, 2);
    t.match(e1.stderr, /--calibration-out needs --calibration-in/);
    const e2 = cli(['quality', '--images', images, '--mated', '50']);
    t.equal(e2.code, 1);
    t.match(e2.stderr, /--mated 50 needs that many people with at least 2 images; there are 8/);
    const e3 = cli(['quality', '--images', images, '--frame', '1280by720']);
    t.equal(e3.code, 2);
    t.match(e3.stderr, /--frame must be WIDTHxHEIGHT/);
    const e4 = cli(['verify', '--images', images, '--copies', '3']);
    t.equal(e4.code, 2);
    t.match(e4.stderr, /--copies: only for 'eval quality'/);
    const e5 = cli(['quality', '--images', images, '--bands', '20,10']);
    t.equal(e5.code, 2);
    t.match(e5.stderr, /--bands must be increasing, got 20,10/);
    const e6 = cli(['quality', '--images', images, '--calibration-in', path.join(dir, 'nope.json')]);
    t.equal(e6.code, 1);
    t.match(e6.stderr, /cannot read calibration .*nope\.json/);
    const e7 = cli(['quality', '--images', path.join(dir, 'missing')]);
    t.equal(e7.code, 1);
    t.match(e7.stderr, /--images .*missing: no such folder/);
  });
}
