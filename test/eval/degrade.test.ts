/**
 * Street-like degradation (src/eval/degrade.ts): each step on synthetic images with known answers
 * (means kept, sharpness lost, noise of the asked size, brightness scaled), the seeded sampler,
 * the clear errors, and the whole chain on a real photo with libvips' JPEG.
 */
import t from 'tap';
import path from 'node:path';
import { seededRandom } from '../../src/eval/bootstrap';
import {
  addNoise, borderMean, degradeFrame, downscale, gaussianBlur, lowLight, motionBlur, pasteInFrame, sampleDegradation,
} from '../../src/eval/degrade';
import { decodeImage, decodeImageFile, encodeJpeg } from '../../src/vision/image';
import { laplacianVariance } from '../../src/vision/quality';
import type { RgbImage } from '../../src/vision/types';

const checker = (w: number, h: number, cell = 4): RgbImage => {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(((x / cell) ^ (y / cell)) & 1 ? 220 : 30, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { width: w, height: h, data };
};
const mean = (img: RgbImage) => img.data.reduce((a, b) => a + b, 0) / img.data.length;
const flat = (w: number, h: number, v: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });

t.test('downscale: area averaging keeps the mean, makes the size, averages a checkerboard to grey', async (t) => {
  const img = checker(64, 48);
  const half = downscale(img, 0.5);
  t.same([half.width, half.height], [32, 24]);
  t.ok(Math.abs(mean(half) - mean(img)) < 1, `mean kept (${mean(half).toFixed(1)} vs ${mean(img).toFixed(1)})`);
  const tiny = downscale(img, 1 / 8); // 8x8 cells of 4 px: every output pixel covers 8x8 input = 2x2 cells
  t.ok(tiny.data.every((v) => Math.abs(v - 125) <= 1), 'each output pixel is the cell average (no aliasing)');
  t.same(downscale(img, 1).data, img.data, 'scale 1: a copy');
  t.throws(() => downscale(img, 0), /scale must be in \(0, 1\], got 0/);
  t.throws(() => downscale(img, 1.5), /scale must be in \(0, 1\], got 1.5/);
  t.throws(() => downscale({ width: 4, height: 4, data: new Uint8Array(5) }, 0.5), /downscale: image data is 5 bytes for 4x4x3/);
});

t.test('motion and Gaussian blur keep the mean and lose sharpness; a flat image stays flat', async (t) => {
  const img = checker(48, 48);
  const sharp0 = laplacianVariance(img);
  const m = motionBlur(img, 6, 30);
  const g = gaussianBlur(img, 1.2);
  for (const [name, b] of [['motion', m], ['gaussian', g]] as const) {
    t.ok(Math.abs(mean(b) - mean(img)) < 2, `${name}: mean kept`);
    t.ok(laplacianVariance(b) < sharp0 / 3, `${name}: sharpness ${laplacianVariance(b).toFixed(0)} < ${sharp0.toFixed(0)} / 3`);
  }
  t.ok(laplacianVariance(motionBlur(img, 12, 0)) < laplacianVariance(m), 'longer motion: blurrier');
  t.same(motionBlur(flat(10, 10, 77), 5, 45).data, flat(10, 10, 77).data, 'flat stays flat (weights sum to 1)');
  t.same(gaussianBlur(flat(10, 10, 77), 2).data, flat(10, 10, 77).data);
  t.same(motionBlur(img, 0.5, 0).data, img.data, 'below one pixel: a copy');
  t.throws(() => motionBlur(img, -1, 0), /motionBlur: length must be >= 0 pixels, got -1/);
  t.throws(() => gaussianBlur(img, NaN), /gaussianBlur: sigma must be >= 0, got NaN/);
});

t.test('noise has the asked standard deviation and is seeded; light scales brightness', async (t) => {
  const img = flat(100, 100, 128);
  const n = addNoise(img, 6, seededRandom(1));
  const mu = mean(n);
  const sd = Math.sqrt(n.data.reduce((a, v) => a + (v - mu) ** 2, 0) / n.data.length);
  t.ok(Math.abs(mu - 128) < 0.5 && Math.abs(sd - 6) < 0.3, `mean ${mu.toFixed(2)}, sd ${sd.toFixed(2)}`);
  t.same(addNoise(img, 6, seededRandom(1)).data, n.data, 'same seed, same noise');
  const part = addNoise(img, 6, seededRandom(2), [10, 10, 20, 20]);
  t.equal(part.data[0], 128, 'outside the rect: untouched');
  t.not(part.data.subarray((15 * 100 + 10) * 3, (15 * 100 + 20) * 3).every((v) => v === 128), true, 'inside: noisy');
  const dim = lowLight(img, 0.4);
  t.ok(mean(dim) < 0.4 * 128 + 1 && mean(dim) > 0.3 * 128, `dim mean ${mean(dim)}`);
  t.throws(() => lowLight(img, 0), /lowLight: gain must be > 0, got 0/);
  t.throws(() => addNoise(img, -2, seededRandom(1)), /addNoise: sigma must be >= 0, got -2/);
});

t.test('paste: the photo lands at its place on its background; a photo that does not fit is refused', async (t) => {
  const photo = flat(4, 3, 200);
  const f = pasteInFrame(photo, 10, 8, 5, 2, [1, 2, 3]);
  t.same([...f.data.subarray(0, 3)], [1, 2, 3]);
  t.same([...f.data.subarray((2 * 10 + 5) * 3, (2 * 10 + 5) * 3 + 3)], [200, 200, 200]);
  t.same([...f.data.subarray((4 * 10 + 8) * 3, (4 * 10 + 8) * 3 + 3)], [200, 200, 200]);
  t.same([...f.data.subarray((5 * 10 + 8) * 3, (5 * 10 + 8) * 3 + 3)], [1, 2, 3], 'row below the photo');
  t.throws(() => pasteInFrame(photo, 10, 8, 7, 2), /a 4x3 image at \(7, 2\) does not fit in 10x8/);
  t.same(borderMean(pasteInFrame(photo, 10, 8, 5, 2, [9, 9, 9])), [9, 9, 9]);
});

t.test('sampleDegradation: seeded, in range, never enlarges, refuses what cannot be', async (t) => {
  const opts = { interOcularPx: [8, 48] as [number, number], frameWidth: 1280, frameHeight: 720 };
  const a = Array.from({ length: 200 }, ((r) => () => sampleDegradation(r, 250, 250, 45, opts))(seededRandom(5)));
  const b = Array.from({ length: 200 }, ((r) => () => sampleDegradation(r, 250, 250, 45, opts))(seededRandom(5)));
  t.same(a, b, 'same seed, same copies');
  for (const p of a) {
    if (!(p.scale > 0 && p.scale <= 1 && 45 * p.scale >= 8 - 1e-9)) t.fail(`scale ${p.scale}`);
    if (p.jpegQuality === null || p.jpegQuality < 30 || p.jpegQuality > 85) t.fail(`jpeg ${p.jpegQuality}`);
    if (p.x < 0 || p.y < 0 || p.x + Math.round(250 * p.scale) > 1280 || p.y + Math.round(250 * p.scale) > 720) t.fail(`position ${p.x},${p.y}`);
  }
  t.ok(a.some((p) => p.scale === 1) && a.some((p) => 45 * p.scale < 10), 'both ends of the size range are drawn');
  t.ok(a.some((p) => p.motionBlurPx > 0) && a.some((p) => p.motionBlurPx === 0), 'some copies move, some do not');
  t.ok(a.some((p) => p.light < 0.6) && a.some((p) => p.light > 0.7), 'dim and normal light');
  t.throws(() => sampleDegradation(seededRandom(1), 250, 250, 0, opts), /source inter-ocular distance must be > 0, got 0/);
  t.throws(() => sampleDegradation(seededRandom(1), 250, 250, 45, { ...opts, interOcularPx: [20, 10] }), /0 < lo <= hi, got \[20, 10\]/);
  t.throws(() => sampleDegradation(seededRandom(1), 2000, 2000, 45, { ...opts, interOcularPx: [45, 45] }), /the scaled photo \(2000x2000\) does not fit in the 1280x720 frame/);
});

t.test('the whole chain on a real photo, with libvips JPEG: the photo is where it says, smaller and blurrier', async (t) => {
  const photo = await decodeImageFile(path.resolve(__dirname, '../../assets/selftest/face.jpg'));
  const p = { scale: 0.4, motionBlurPx: 3, motionAngleDeg: 10, gaussianSigma: 0.8, light: 0.5, noiseSigma: 4, jpegQuality: 50, x: 100, y: 60 };
  const compress = async (img: RgbImage, q: number) => decodeImage(await encodeJpeg(img, q), 'frame');
  const { frame, photoBox } = await degradeFrame(photo, p, { width: 640, height: 360 }, seededRandom(3), compress);
  t.same([frame.width, frame.height], [640, 360]);
  t.same(photoBox, [100, 60, 100 + Math.round(photo.width * 0.4), 60 + Math.round(photo.height * 0.4)]);
  const again = await degradeFrame(photo, p, { width: 640, height: 360 }, seededRandom(3), compress);
  t.same(again.frame.data, frame.data, 'reproducible');
  await t.rejects(degradeFrame(photo, p, { width: 640, height: 360 }, seededRandom(3)), /jpegQuality is set but no compress function was given/);
  const noJpeg = await degradeFrame(photo, { ...p, jpegQuality: null }, { width: 640, height: 360 }, seededRandom(3));
  t.ok(mean(noJpeg.frame) < mean(pasteInFrame(downscale(photo, 0.4), 640, 360, 100, 60, borderMean(downscale(photo, 0.4)))), 'darker than the plain paste');
});
