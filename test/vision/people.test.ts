/**
 * Real photos: two photos of one person score above the 1e-3 threshold, different people below;
 * a photo with no face yields no face; provider fallback is logged with its reason.
 */
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { checkCalibrationModel, fmrAt, readCalibrationFile, thresholdForFmr } from '../../src/recognition/calibration';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import { cosine } from '../../src/vision/embedder';
import { decodeImage, decodeImageFile } from '../../src/vision/image';
import { largestFace } from '../../src/vision/select';
import { needsSharedData, sharedData } from '../helpers/data';

/**
 * The cosine threshold at a 1:1 false-match rate of 1e-3, from the shipped calibration (its
 * overall impostor distribution), checked to be for the embedder installed.
 */
function threshold1e3(): number {
  const cal = readCalibrationFile(path.join(packageRoot(), 'models', 'calibration.json'));
  checkCalibrationModel(cal, verifyModels(loadConfig().models).embedderSha256, 'models/calibration.json');
  return thresholdForFmr(cal.impostor, 1e-3).threshold;
}

t.test('the threshold comes from the calibration, not a constant', async (t) => {
  const thr = threshold1e3();
  t.ok(thr > 0.2 && thr < 0.6, `cosine threshold ${thr.toFixed(4)} at FMR 1e-3`);
  const cal = readCalibrationFile(path.join(packageRoot(), 'models', 'calibration.json'));
  t.ok(fmrAt(cal.impostor, thr) <= 1e-3, 'its false-match rate on the calibration impostors is at most 1e-3');
});

t.test('same person above, different people below the 1e-3 threshold', needsSharedData('people'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const analyzer = await FaceAnalyzer.create(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => analyzer.close());
  const embed = async (rel: string) => {
    const img = await decodeImageFile(sharedData('people', rel));
    const f = largestFace((await analyzer.analyze(img)).faces);
    if (!f) throw new Error(`no face in ${rel}`);
    return f.embedding;
  };
  const thr = threshold1e3();
  const obama = await Promise.all(['barack-obama/obama1.jpg', 'barack-obama/obama2.jpg', 'barack-obama/obama3.jpg'].map(embed));
  const others = await Promise.all(['joe-biden/biden1.jpg', 'lin-manuel-miranda/lin-manuel-miranda.png', 'alex-lacamoire/alex-lacamoire.png'].map(embed));
  for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) {
    const s = cosine(obama[i], obama[j]);
    t.ok(s > thr, `obama${i + 1} vs obama${j + 1}: ${s.toFixed(3)} > ${thr.toFixed(3)}`);
  }
  for (const o of others) for (const b of obama) {
    const s = cosine(o, b);
    t.ok(s < thr, `different people: ${s.toFixed(3)} < ${thr.toFixed(3)}`);
  }
  const penny = await Promise.all([1, 2, 3].map((i) => embed(`bbt-penny/penny${i}.png`)));
  const raj = await embed('bbt-raj/raj1.png');
  t.ok(cosine(penny[0], penny[1]) > thr && cosine(penny[1], penny[2]) > thr, 'grey crops of one person match');
  t.ok(penny.every((p) => cosine(p, raj) < thr), 'grey crops of different people do not');
});

t.test('an image with no face gives no face; a group photo gives several', needsSharedData('group'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const analyzer = await FaceAnalyzer.create(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => analyzer.close());
  // A smooth colour gradient: no face.
  const w = 320, h = 240;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set([x % 256, y, 128], (y * w + x) * 3);
  const png = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  const none = await analyzer.analyze(await decodeImage(png, 'gradient.png'));
  t.equal(none.faces.length, 0, 'no face in a gradient');
  const group = await analyzer.analyze(await decodeImageFile(sharedData('group', 'bbt1.jpg')));
  t.ok(group.faces.length >= 3, `group photo: ${group.faces.length} faces`);
  t.ok(group.times.detectRun > 0 && group.times.embedRun > 0, 'stage times are measured');
});

t.test('provider fallback: unavailable providers are logged with the reason, the one in use is reported', async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["tensorrt","cuda","cpu"]' } });
  const logger = createMemoryLogger();
  const analyzer = await FaceAnalyzer.create(cfg.vision, verifyModels(cfg.models), logger);
  t.teardown(() => analyzer.close());
  t.equal(analyzer.provider, 'cpu');
  // tensorrt: no verified engine (no TensorRT here) -> skipped with the reason; cuda: unavailable
  t.match(logger.lines.filter((l) => l.msg === 'engine check failed: loading the plain model'), [{ provider: 'tensorrt', model: /\.onnx$/, reason: /^no TensorRT library/, loadingWith: 'cuda' }]);
  const fallbacks = logger.lines.filter((l) => l.msg === 'execution provider unavailable, falling back');
  t.same(fallbacks.map((l) => l.provider), ['cuda'], 'tried once, for the first model only');
  t.ok(fallbacks.every((l) => typeof l.reason === 'string' && (l.reason as string).length > 0), 'with a reason');
  t.same(analyzer.attempts.filter((a) => !a.ok).map((a) => a.provider), ['tensorrt', 'cuda'], 'both failures kept with their reasons');
  // One session per model in use (the live and still detectors, their landmark model, the embedder), all on cpu.
  const manifest = verifyModels(cfg.models).manifest.models as Record<string, { fivePoints?: string }>;
  const detectors = [cfg.vision.detector, cfg.vision.stillDetector];
  const models = new Set([...detectors, ...detectors.map((d) => manifest[d].fivePoints).filter((k): k is string => !!k), cfg.models.embedder]);
  t.same(analyzer.attempts.filter((a) => a.ok).map((a) => a.provider), [...models].map(() => 'cpu'), `one session per model: ${[...models].join(', ')}`);
});

t.test('no usable provider: a clear error naming the model and every reason', async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["tensorrt","cuda"]' } });
  await t.rejects(FaceAnalyzer.create(cfg.vision, verifyModels(cfg.models), createMemoryLogger()), /no execution provider could load .*\.onnx: tensorrt: .*\.onnx: no TensorRT library .*; cuda: /);
});
