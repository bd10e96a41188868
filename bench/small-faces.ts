/**
 * Small-face benchmark: which detector set-up finds faces 45-75 px high in a 1280x720 frame (a
 * street camera's faces), how fast, and how well the faces it finds are aligned for the embedder.
 *
 * Frames: lfw-dev photos (the first photo of the first `people` people, sorted) scaled so that the
 * reference face box is 45-75 px high (seeded), pasted 8 to a frame (a 4x2 grid, jittered) on a
 * grey background. The reference is the still pipeline on the full-size photo (UltraFace 320 +
 * 68-point five points, as the watchlist and the calibration are made): its box is the ground truth
 * and its embedding the enrolment. Per set-up (vision.detector + vision.detectorInputWidth):
 *   recall        share of pasted faces with a detection (its centre within half a box side of the
 *                 truth's, its side 0.5-2x the truth's);
 *   detect ms     detector stage per frame (pre + run + post);
 *   points ms     the five points' stage per found face (the landmark model, 0 with YuNet's own);
 *   cosine        mean cosine of the found face's embedding with the reference embedding of the same
 *                 photo (alignment and scale consistency: the score a watchlisted person could get);
 *   passQuality   share of found faces passing today's quality gate.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { verifyModels } from '../src/models/manifest';
import { FaceAnalyzer } from '../src/vision/analyzer';
import { cosine } from '../src/vision/embedder';
import { decodeImageFile } from '../src/vision/image';
import type { Box, RgbImage } from '../src/vision/types';
import { seededRandom } from '../src/eval/bootstrap';

export interface SmallFaceSetup {
  name: string;
  detector: string;
  inputWidth?: number;
}

export const SETUPS: SmallFaceSetup[] = [
  { name: 'UltraFace 320x240 + 68-point', detector: 'ultraface-320' },
  { name: 'YuNet 640 (own five points)', detector: 'yunet-n', inputWidth: 640 },
  { name: 'YuNet 640 + 68-point', detector: 'yunet-n-lm68', inputWidth: 640 },
  { name: 'YuNet 960 + 68-point', detector: 'yunet-n-lm68', inputWidth: 960 },
];

export interface SmallFaceResult {
  setup: string;
  faces: number;
  recallPct: number;
  detectMsPerFrame: number;
  pointsMsPerFace: number;
  meanCosine: number;
  passQualityPct: number;
}

interface Pasted {
  truth: Box;
  ref: Float32Array;
}

/** The project's seeded PRNG (mulberry32): the same frames on every run. */
const rng = seededRandom;

async function scaled(img: RgbImage, w: number, h: number): Promise<RgbImage> {
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export async function benchSmallFaces(sharedData: string, log: (s: string) => void, people = 160): Promise<SmallFaceResult[]> {
  const cfg = loadConfig({ env: { ...process.env, LFR_EDGE__VISION__PROVIDERS: process.env.LFR_EDGE__VISION__PROVIDERS ?? '["cpu"]' } });
  const models = verifyModels(cfg.models);
  const logger = createLogger({ level: 'warn', write: (l) => process.stderr.write(l + '\n') });
  const lfw = path.join(sharedData, 'lfw-dev', 'images');
  const files = readdirSync(lfw).sort().slice(0, people).map((p) => path.join(lfw, p, readdirSync(path.join(lfw, p)).sort()[0]));

  // The reference: the still pipeline on the full-size photo.
  const ref = await FaceAnalyzer.create({ ...cfg.vision, stillDetector: 'ultraface-320' }, models, logger);
  const photos: { img: RgbImage; box: Box; emb: Float32Array }[] = [];
  for (const f of files) {
    const img = await decodeImageFile(f);
    const res = await ref.analyze(img, { detector: 'stills' });
    if (res.faces.length !== 1) continue;
    photos.push({ img, box: res.faces[0].box, emb: new Float32Array(res.faces[0].embedding) });
  }
  await ref.close();

  // The frames: 8 faces each, 45-75 px high.
  const W = 1280, H = 720, COLS = 4, ROWS = 2;
  const rand = rng(45);
  const frames: { img: RgbImage; faces: Pasted[] }[] = [];
  for (let i = 0; i < photos.length; i += COLS * ROWS) {
    const data = new Uint8Array(W * H * 3);
    for (let p = 0; p < data.length; p += 3) {
      data[p] = 80; data[p + 1] = 85; data[p + 2] = 90;
    }
    const faces: Pasted[] = [];
    for (let k = 0; k < COLS * ROWS && i + k < photos.length; k++) {
      const ph = photos[i + k];
      const side = ph.box[3] - ph.box[1];
      const target = 45 + 30 * rand();
      const s = target / side;
      const im = await scaled(ph.img, Math.max(1, Math.round(ph.img.width * s)), Math.max(1, Math.round(ph.img.height * s)));
      const cellW = W / COLS, cellH = H / ROWS;
      const x0 = Math.round((k % COLS) * cellW + (cellW - im.width) * rand());
      const y0 = Math.round(Math.floor(k / COLS) * cellH + (cellH - im.height) * rand());
      for (let y = 0; y < im.height; y++) data.set(im.data.subarray(y * im.width * 3, (y + 1) * im.width * 3), ((y0 + y) * W + x0) * 3);
      const sx = im.width / ph.img.width, sy = im.height / ph.img.height;
      faces.push({ truth: [x0 + ph.box[0] * sx, y0 + ph.box[1] * sy, x0 + ph.box[2] * sx, y0 + ph.box[3] * sy], ref: ph.emb });
    }
    frames.push({ img: { width: W, height: H, data }, faces });
  }
  const total = frames.reduce((a, f) => a + f.faces.length, 0);
  log(`small faces: ${total} lfw-dev faces 45-75 px high in ${frames.length} frames of ${W}x${H}, reference UltraFace 320 + 68-point on the full-size photo (${files.length - photos.length} photos without exactly one reference face left out)`);

  const results: SmallFaceResult[] = [];
  for (const setup of SETUPS) {
    const analyzer = await FaceAnalyzer.create({ ...cfg.vision, detector: setup.detector, stillDetector: setup.detector, detectorInputWidth: setup.inputWidth }, models, logger);
    for (const f of frames.slice(0, 2)) await analyzer.detect(f.img); // warm-up
    let found = 0, detectMs = 0, pointsMs = 0, cos = 0, pass = 0;
    for (const f of frames) {
      const det = await analyzer.detect(f.img);
      detectMs += det.times.detectPre + det.times.detectRun + det.times.detectPost;
      const match: number[] = [];
      const refs: Float32Array[] = [];
      for (const p of f.faces) {
        const ts = p.truth[3] - p.truth[1];
        const tcx = (p.truth[0] + p.truth[2]) / 2, tcy = (p.truth[1] + p.truth[3]) / 2;
        const i = det.faces.findIndex((d) => {
          const ds = d.box[3] - d.box[1];
          const dx = (d.box[0] + d.box[2]) / 2 - tcx, dy = (d.box[1] + d.box[3]) / 2 - tcy;
          return ds >= 0.5 * ts && ds <= 2 * ts && Math.hypot(dx, dy) <= 0.5 * ts;
        });
        if (i >= 0 && !match.includes(i)) {
          match.push(i);
          refs.push(p.ref);
        }
      }
      found += match.length;
      if (match.length === 0) continue;
      const res = await analyzer.analyzeDetected(match, { embed: 'all' });
      pointsMs += res.times.landmarkPre + res.times.landmarkRun;
      res.faces.forEach((face, k) => {
        cos += cosine(face.embedding, refs[k]);
        if (face.quality.passed) pass++;
      });
    }
    await analyzer.close();
    const r = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
    const out: SmallFaceResult = {
      setup: setup.name,
      faces: total,
      recallPct: r((100 * found) / total),
      detectMsPerFrame: r(detectMs / frames.length, 2),
      pointsMsPerFace: r(pointsMs / Math.max(1, found), 2),
      meanCosine: r(cos / Math.max(1, found), 3),
      passQualityPct: r((100 * pass) / Math.max(1, found)),
    };
    results.push(out);
    log(`  ${setup.name}: recall ${out.recallPct}% (${found}/${total}), detect ${out.detectMsPerFrame} ms/frame, five points ${out.pointsMsPerFace} ms/face, cosine to the reference ${out.meanCosine}, passing the quality gate ${out.passQualityPct}%`);
  }
  return results;
}
