/**
 * `lfr-edge calibrate` end to end on a small deterministic labelled subset of ../shared/data/lfw-dev
 * (5 people each of three labelled origins, up to 3 images each): the calibration file the unit
 * reads (per group, the installed embedder's sha256, the unit's own thresholds), and the HTML
 * report opened in headless Chromium (Debian's, through playwright-core): charts and tables render;
 * a screenshot is taken. Error paths a user can hit come first (no data needed).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { verifyModels } from '../../src/models/manifest';
import { readCalibrationFile, thresholdFor } from '../../src/recognition/calibration';
import { runCli } from '../helpers/cli';
import { needsSharedData, sharedData } from '../helpers/data';

const CHROMIUM = '/usr/bin/chromium';

t.test('usage and user errors are clear', async (t) => {
  const dir = t.testdir({ people: { a: {} }, 'demo.csv': 'image,sex\nnobody/x.jpg,F\n' });
  let r = await runCli(['calibrate', '--images', dir, '--report', path.join(dir, 'r.html')]);
  t.equal(r.code, 2);
  t.match(r.stderr, /missing required option --out/);
  r = await runCli(['calibrate', '--images', path.join(dir, 'nope'), '--out', path.join(dir, 'c.json'), '--report', path.join(dir, 'r.html')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /--images must be a folder with one sub-folder per person/);
  r = await runCli(['calibrate', '--images', dir, '--out', path.join(dir, 'c.json'), '--report', path.join(dir, 'r.html'), '--watchlist-sizes', '10,x']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--watchlist-sizes must be an integer >= 1, got 'x'/);
  r = await runCli(['calibrate', '--images', dir, '--out', path.join(dir, 'c.json'), '--report', path.join(dir, 'r.html'), '--demographics', path.join(dir, 'missing.csv')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot read demographics file .*missing\.csv: no such file/);
  r = await runCli(['calibrate', '--images', dir, '--out', path.join(dir, 'c.json'), '--report', path.join(dir, 'r.html'), '--copies', '3']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--copies only with --quality-bands/);
  r = await runCli(['calibrate', '--images', dir, '--out', path.join(dir, 'c.json'), '--report', path.join(dir, 'r.html'), '--quality-bands', '--bands', '20,10']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--bands must be increasing, got 20,10/);
});

t.test('calibrate on labelled faces: the unit\'s calibration and a report that renders', needsSharedData('lfw-dev', 'images'), async (t) => {
  const DATA = sharedData('lfw-dev');
  const dir = t.testdir({});
  const images = path.join(dir, 'images');
  const rows = readFileSync(path.join(DATA, 'demographics.csv'), 'utf8').trim().split('\n');
  const byRace = new Map<string, Set<string>>();
  for (const line of rows.slice(1)) {
    const [img, , race] = line.split(',');
    if (!race) continue;
    const person = img.split('/')[0];
    if (!byRace.has(race)) byRace.set(race, new Set());
    byRace.get(race)!.add(person);
  }
  const chosen: string[] = [];
  for (const race of ['african', 'caucasian', 'eastasian']) {
    for (const person of [...byRace.get(race)!].sort().slice(0, 5)) {
      mkdirSync(path.join(images, person), { recursive: true });
      for (const f of readdirSync(path.join(DATA, 'images', person)).sort().slice(0, 3)) {
        copyFileSync(path.join(DATA, 'images', person, f), path.join(images, person, f));
        chosen.push(`${person}/${f}`);
      }
    }
  }
  const csv = path.join(dir, 'demographics.csv');
  writeFileSync(csv, [rows[0], ...rows.slice(1).filter((l) => chosen.includes(l.split(',')[0]))].join('\n') + '\n');

  const out = path.join(dir, 'calibration.json');
  const report = path.join(dir, 'report', 'calibration.html');
  const r = await runCli(['calibrate', '--images', images, '--demographics', csv, '--out', out, '--report', report, '--json', '--workers', '1', '--bootstrap', '200', '--watchlist-sizes', '1,100',
    '--quality-bands', '--copies', '2', '--detector', 'yunet-n']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /embedding images: \d+\/\d+/, 'progress on stderr');
  t.match(r.stderr, /scoring pairs/);
  const summary = JSON.parse(r.stdout);

  // The file the unit reads: same format, the installed embedder, per group.
  const cal = readCalibrationFile(out);
  const models = verifyModels(loadConfig({ env: {} }).models);
  t.equal(cal.model.embedderSha256, models.embedderSha256, 'keyed to the installed embedder');
  t.equal(cal.source.command, 'calibrate');
  t.equal(cal.impostor.count, summary.impostorPairs, 'every impostor pair');
  for (const g of ['race=african', 'race=caucasian', 'race=eastasian']) t.ok(cal.groups?.[g], `group ${g} in the calibration`);
  t.equal(summary.images, chosen.length);
  // The thresholds shown are the unit's own choice from this file.
  t.equal(summary.operating.length, 2);
  for (const op of summary.operating) {
    const d = thresholdFor(cal, { falseAlertRate: 1e-3, watchlistSize: op.watchlistSize });
    t.equal(op.threshold, d.threshold, `watchlist ${op.watchlistSize}: the session's threshold`);
    t.equal(op.decidingGroup, d.decidingGroup);
    const g = op.fmrByGroup['race=african'];
    t.ok(g.impostorPairs > 0 && g.interval[0] <= g.fmr && g.fmr <= g.interval[1], 'per-group FMR inside its interval');
  }

  // Quality bands: the degraded copies' distributions, a threshold per band that the unit computes.
  t.match(r.stderr, /degrading \d+ probe photos x 2 copies \(live detector yunet-n/);
  t.same(cal.quality?.bands.map((b) => b.name), ['iod-0-10', 'iod-10-14', 'iod-14-20', 'iod-20-28', 'iod-28-40', 'iod-40-up']);
  t.equal(cal.quality?.source?.command, 'calibrate');
  t.equal(summary.qualityBands.length, 6);
  const measuredFaces = summary.qualityBands.reduce((a: number, b: { faces: number }) => a + b.faces, 0);
  t.ok(measuredFaces >= 15, `degraded faces measured (${measuredFaces})`);
  for (const b of summary.qualityBands) {
    t.equal(cal.quality!.impostor[b.name].count, b.impostor, `${b.name}: the band's impostors are in the file`);
    for (const p of b.perSize) {
      const d = thresholdFor(cal, { falseAlertRate: 1e-3, watchlistSize: p.watchlistSize, band: b.name });
      t.equal(p.threshold, d.threshold, `${b.name}, watchlist ${p.watchlistSize}: the unit's band threshold`);
      t.ok(p.threshold >= thresholdFor(cal, { falseAlertRate: 1e-3, watchlistSize: p.watchlistSize }).threshold, 'never below the overall one');
    }
  }

  const html = readFileSync(report, 'utf8');
  t.notMatch(html, /not measured \(--quality-bands\)/, 'no "bands not measured" note');
  t.notMatch(html, /<script|src="http|href="http/, 'self-contained: no script, nothing fetched');
  t.match(html, models.embedderSha256);

  if (!existsSync(CHROMIUM)) {
    t.skip(`Chromium not found at ${CHROMIUM} (apt-get install chromium): the report was not opened in a browser`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`file://${report}`);
  t.equal(await page.textContent('#model-sha256'), models.embedderSha256, 'the model sha256 is shown');
  for (const fig of ['#roc', '#fmr-per-group']) {
    const box = await page.locator(`${fig} svg`).boundingBox();
    t.ok(box && box.width > 400 && box.height > 300, `${fig} chart is drawn (${box?.width}x${box?.height})`);
    const drawn = await page.locator(`${fig} svg path`).evaluateAll((ps) => ps.filter((p) => (p as SVGPathElement).getTotalLength() > 50).length);
    t.ok(drawn >= 1, `${fig}: ${drawn} curve(s) with length`);
  }
  const curves = await page.locator('#fmr-per-group svg path').count();
  t.ok(curves >= 4, `per-group chart: everyone + 3 origins + sexes (${curves} curves)`);
  t.equal(await page.locator('#thresholds tbody tr').count(), 2, 'one threshold row per watchlist size');
  const groupRows = await page.locator('#groups-1 tbody tr').allTextContents();
  t.ok(groupRows.some((x) => x.startsWith('everyone')) && groupRows.some((x) => x.startsWith('race=african')), 'per-group table with everyone and each group');
  t.match(groupRows.find((x) => x.startsWith('race=african'))!, /\[\d/, 'with an interval');
  t.ok((await page.locator('#makeup tbody tr').count()) >= 3, 'data set make-up table');
  t.equal(await page.locator('#quality-bands tbody tr').count(), 6, 'one row per quality band');
  t.match((await page.locator('#quality-bands tbody tr').first().textContent()) ?? '', /iod-0-10 \[0, 10\)/);
  const qbox = await page.locator('#quality-chart svg').boundingBox();
  t.ok(qbox && qbox.width > 400 && qbox.height > 300, `quality chart drawn (${qbox?.width}x${qbox?.height})`);
  const shot = path.join(dir, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.ok(statSync(shot).size > 20_000, `screenshot taken (${statSync(shot).size} bytes)`);
});
