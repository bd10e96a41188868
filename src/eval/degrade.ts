/**
 * Street-like degradation of a still photo (pure, seeded): the face is made as small as a street
 * camera sees it (area-averaged downscale to a target inter-ocular distance), blurred by motion and
 * focus, darkened, given sensor noise, and pasted into a larger camera frame, where the live
 * detector has to find it. Video compression is the one step that is not pure (libvips' JPEG
 * encoder through sharp): `degradeFrame` takes it as a function.
 *
 * Every step takes and returns packed 8-bit RGB (`RgbImage`); nothing is written anywhere. The
 * parameters of a copy come from `sampleDegradation` with a seeded PRNG, so a run is reproducible.
 */
import type { RgbImage } from '../vision/types';

export interface DegradeParams {
  /** Scale applied to the source photo (<= 1): target inter-ocular distance / the photo's. */
  scale: number;
  /** Length in pixels (after scaling) of a linear motion blur; 0: none. */
  motionBlurPx: number;
  /** Direction of the motion, degrees (0 = horizontal). */
  motionAngleDeg: number;
  /** Standard deviation in pixels (after scaling) of a Gaussian (focus) blur; 0: none. */
  gaussianSigma: number;
  /** Brightness gain (1 = unchanged; 0.3 = a dim street at night). */
  light: number;
  /** Standard deviation of additive Gaussian sensor noise in 8-bit levels, added after the light. */
  noiseSigma: number;
  /** JPEG quality of the frame (video compression stand-in), or null for none. */
  jpegQuality: number | null;
  /** Top-left corner of the scaled photo in the frame. */
  x: number;
  y: number;
}

export interface SampleOptions {
  /** Target inter-ocular distances are drawn log-uniformly from this range (pixels). */
  interOcularPx: [number, number];
  frameWidth: number;
  frameHeight: number;
}

/** A standard normal variate from a uniform PRNG (Box-Muller). */
export function gaussianNoise(rnd: () => number): number {
  const u = 1 - rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/**
 * One copy's degradation. `sourceIod` is the photo's measured inter-ocular distance; the scale
 * never enlarges (a target above the photo's distance keeps the photo's size). Roughly half the
 * copies get motion blur (up to a quarter of the inter-ocular distance), all some focus blur and
 * noise; a third are dim; JPEG quality 30-85.
 */
export function sampleDegradation(rnd: () => number, srcWidth: number, srcHeight: number, sourceIod: number, opts: SampleOptions): DegradeParams {
  const [lo, hi] = opts.interOcularPx;
  if (!(lo > 0 && hi >= lo)) throw new RangeError(`interOcularPx range must be 0 < lo <= hi, got [${lo}, ${hi}]`);
  if (!(sourceIod > 0)) throw new RangeError(`source inter-ocular distance must be > 0, got ${sourceIod}`);
  const target = Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo)));
  const scale = Math.min(1, target / sourceIod);
  const w = Math.max(1, Math.round(srcWidth * scale));
  const h = Math.max(1, Math.round(srcHeight * scale));
  if (w > opts.frameWidth || h > opts.frameHeight) {
    throw new RangeError(`the scaled photo (${w}x${h}) does not fit in the ${opts.frameWidth}x${opts.frameHeight} frame`);
  }
  const iod = sourceIod * scale;
  const motion = rnd() < 0.5 ? 1 + rnd() * Math.max(0, 0.25 * iod - 1) : 0;
  const dim = rnd() < 1 / 3;
  return {
    scale,
    motionBlurPx: motion,
    motionAngleDeg: rnd() * 180,
    gaussianSigma: rnd() * 1.2,
    light: dim ? 0.25 + rnd() * 0.35 : 0.7 + rnd() * 0.4,
    noiseSigma: (dim ? 4 : 1) + rnd() * 6,
    jpegQuality: Math.round(30 + rnd() * 55),
    x: Math.floor(rnd() * (opts.frameWidth - w + 1)),
    y: Math.floor(rnd() * (opts.frameHeight - h + 1)),
  };
}

function checkImage(img: RgbImage, what: string): void {
  if (!(img.width >= 1 && img.height >= 1) || img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`${what}: image data is ${img.data.length} bytes for ${img.width}x${img.height}x3`);
  }
}

/** Weights of an area-averaging (box) resample along one axis: each output pixel covers 1/scale input pixels. */
function areaAxis(srcLen: number, dstLen: number): { start: Int32Array; weights: Float32Array[] } {
  const ratio = srcLen / dstLen;
  const start = new Int32Array(dstLen);
  const weights: Float32Array[] = [];
  for (let d = 0; d < dstLen; d++) {
    const a = d * ratio;
    const b = Math.min(srcLen, (d + 1) * ratio);
    const i0 = Math.floor(a);
    const i1 = Math.min(srcLen, Math.ceil(b));
    const w = new Float32Array(i1 - i0);
    for (let i = i0; i < i1; i++) w[i - i0] = (Math.min(b, i + 1) - Math.max(a, i)) / (b - a);
    start[d] = i0;
    weights.push(w);
  }
  return { start, weights };
}

/** Downscale by area averaging (what a sensor's larger pixels do; no aliasing). scale in (0, 1]. */
export function downscale(img: RgbImage, scale: number): RgbImage {
  checkImage(img, 'downscale');
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`downscale: scale must be in (0, 1], got ${scale}`);
  const W = Math.max(1, Math.round(img.width * scale));
  const H = Math.max(1, Math.round(img.height * scale));
  if (W === img.width && H === img.height) return { width: W, height: H, data: img.data.slice() };
  const xs = areaAxis(img.width, W);
  const ys = areaAxis(img.height, H);
  // Horizontal pass into floats, then vertical.
  const tmp = new Float32Array(W * img.height * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < W; x++) {
      const w = xs.weights[x];
      let r = 0, g = 0, b = 0;
      for (let k = 0, p = (y * img.width + xs.start[x]) * 3; k < w.length; k++, p += 3) {
        r += w[k] * img.data[p];
        g += w[k] * img.data[p + 1];
        b += w[k] * img.data[p + 2];
      }
      const o = (y * W + x) * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const w = ys.weights[y];
    for (let x = 0; x < W; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0, p = ((ys.start[y]) * W + x) * 3; k < w.length; k++, p += W * 3) {
        r += w[k] * tmp[p];
        g += w[k] * tmp[p + 1];
        b += w[k] * tmp[p + 2];
      }
      const o = (y * W + x) * 3;
      out[o] = clamp8(r);
      out[o + 1] = clamp8(g);
      out[o + 2] = clamp8(b);
    }
  }
  return { width: W, height: H, data: out };
}

const clamp8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Convolve with a list of (dx, dy, weight) taps, edges clamped. */
function convolve(img: RgbImage, taps: { dx: number; dy: number; w: number }[]): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let r = 0, g = 0, b = 0;
      for (const t of taps) {
        const sx = Math.min(W - 1, Math.max(0, x + t.dx));
        const sy = Math.min(H - 1, Math.max(0, y + t.dy));
        const p = (sy * W + sx) * 3;
        r += t.w * data[p];
        g += t.w * data[p + 1];
        b += t.w * data[p + 2];
      }
      const o = (y * W + x) * 3;
      out[o] = clamp8(r);
      out[o + 1] = clamp8(g);
      out[o + 2] = clamp8(b);
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * Linear motion blur: the mean along a segment of `lengthPx` pixels in direction `angleDeg`,
 * sampled every pixel with bilinear taps merged onto the integer grid. lengthPx < 1: a copy.
 */
export function motionBlur(img: RgbImage, lengthPx: number, angleDeg: number): RgbImage {
  checkImage(img, 'motionBlur');
  if (!(lengthPx >= 0) || !Number.isFinite(lengthPx)) throw new RangeError(`motionBlur: length must be >= 0 pixels, got ${lengthPx}`);
  if (lengthPx < 1) return { ...img, data: img.data.slice() };
  const n = Math.max(2, Math.ceil(lengthPx) + 1);
  const c = Math.cos((angleDeg * Math.PI) / 180);
  const s = Math.sin((angleDeg * Math.PI) / 180);
  const acc = new Map<string, { dx: number; dy: number; w: number }>();
  for (let i = 0; i < n; i++) {
    const t = (i / (n - 1) - 0.5) * lengthPx;
    const fx = t * c, fy = t * s;
    const x0 = Math.floor(fx), y0 = Math.floor(fy);
    const ax = fx - x0, ay = fy - y0;
    for (const [dx, dy, w] of [[x0, y0, (1 - ax) * (1 - ay)], [x0 + 1, y0, ax * (1 - ay)], [x0, y0 + 1, (1 - ax) * ay], [x0 + 1, y0 + 1, ax * ay]] as const) {
      if (w <= 0) continue;
      const k = `${dx},${dy}`;
      const tap = acc.get(k) ?? { dx, dy, w: 0 };
      tap.w += w / n;
      acc.set(k, tap);
    }
  }
  return convolve(img, [...acc.values()]);
}

/** Separable Gaussian blur, kernel radius ceil(3 sigma). sigma < 0.2: a copy. */
export function gaussianBlur(img: RgbImage, sigma: number): RgbImage {
  checkImage(img, 'gaussianBlur');
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussianBlur: sigma must be >= 0, got ${sigma}`);
  if (sigma < 0.2) return { ...img, data: img.data.slice() };
  const r = Math.ceil(3 * sigma);
  const k: number[] = [];
  for (let i = -r; i <= r; i++) k.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const h = convolve(img, k.map((w, i) => ({ dx: i - r, dy: 0, w: w / sum })));
  return convolve(h, k.map((w, i) => ({ dx: 0, dy: i - r, w: w / sum })));
}

/** Scale brightness (a dim scene: gain < 1), with a gentle gamma lift as a camera's auto-exposure gives. */
export function lowLight(img: RgbImage, gain: number): RgbImage {
  checkImage(img, 'lowLight');
  if (!(gain > 0) || !Number.isFinite(gain)) throw new RangeError(`lowLight: gain must be > 0, got ${gain}`);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = clamp8(255 * Math.pow(v / 255, 1.1) * gain);
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = lut[img.data[i]];
  return { width: img.width, height: img.height, data: out };
}

/**
 * Additive Gaussian noise, independent per sample (sensor noise), over the whole image or only
 * within `rect` [x1, y1, x2, y2) (clipped to the image).
 */
export function addNoise(img: RgbImage, sigma: number, rnd: () => number, rect?: [number, number, number, number]): RgbImage {
  checkImage(img, 'addNoise');
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`addNoise: sigma must be >= 0, got ${sigma}`);
  const out = img.data.slice();
  if (sigma === 0) return { width: img.width, height: img.height, data: out };
  const [x1, y1, x2, y2] = rect ? [Math.max(0, rect[0]), Math.max(0, rect[1]), Math.min(img.width, rect[2]), Math.min(img.height, rect[3])] : [0, 0, img.width, img.height];
  for (let y = y1; y < y2; y++) {
    for (let i = (y * img.width + x1) * 3, end = (y * img.width + x2) * 3; i < end; i++) out[i] = clamp8(img.data[i] + sigma * gaussianNoise(rnd));
  }
  return { width: img.width, height: img.height, data: out };
}

/** A frame of the given size filled with `background`, with `img` pasted at (x, y) (must fit). */
export function pasteInFrame(img: RgbImage, frameWidth: number, frameHeight: number, x: number, y: number, background: [number, number, number] = [112, 112, 112]): RgbImage {
  checkImage(img, 'pasteInFrame');
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + img.width > frameWidth || y + img.height > frameHeight) {
    throw new RangeError(`pasteInFrame: a ${img.width}x${img.height} image at (${x}, ${y}) does not fit in ${frameWidth}x${frameHeight}`);
  }
  const data = new Uint8Array(frameWidth * frameHeight * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = background[0];
    data[i + 1] = background[1];
    data[i + 2] = background[2];
  }
  for (let row = 0; row < img.height; row++) {
    data.set(img.data.subarray(row * img.width * 3, (row + 1) * img.width * 3), ((y + row) * frameWidth + x) * 3);
  }
  return { width: frameWidth, height: frameHeight, data };
}

/** The mean colour of an image's border pixels (a neutral background for its frame). */
export function borderMean(img: RgbImage): [number, number, number] {
  checkImage(img, 'borderMean');
  const s = [0, 0, 0];
  let n = 0;
  const add = (x: number, y: number) => {
    const p = (y * img.width + x) * 3;
    s[0] += img.data[p];
    s[1] += img.data[p + 1];
    s[2] += img.data[p + 2];
    n++;
  };
  for (let x = 0; x < img.width; x++) {
    add(x, 0);
    add(x, img.height - 1);
  }
  for (let y = 1; y < img.height - 1; y++) {
    add(0, y);
    add(img.width - 1, y);
  }
  return [Math.round(s[0] / n), Math.round(s[1] / n), Math.round(s[2] / n)];
}

export const NOISE_MARGIN_PX = 16;

export interface DegradedFrame {
  frame: RgbImage;
  /** Where the scaled photo sits in the frame (x1, y1, x2, y2). */
  photoBox: [number, number, number, number];
}

/**
 * The whole chain: downscale, motion blur, focus blur (at the scaled size, as the camera sees it),
 * paste into the frame (background: the photo's border colour), light, noise (over the photo and a
 * margin of NOISE_MARGIN_PX around it: the rest of the frame is flat background, noise there would
 * only cost time), then compression of the frame with `compress` (JPEG encode + decode) when
 * `jpegQuality` is set.
 */
export async function degradeFrame(
  photo: RgbImage,
  p: DegradeParams,
  frame: { width: number; height: number },
  rnd: () => number,
  compress?: (img: RgbImage, quality: number) => Promise<RgbImage>,
): Promise<DegradedFrame> {
  let img = downscale(photo, p.scale);
  img = motionBlur(img, p.motionBlurPx, p.motionAngleDeg);
  img = gaussianBlur(img, p.gaussianSigma);
  let f = pasteInFrame(img, frame.width, frame.height, p.x, p.y, borderMean(img));
  f = lowLight(f, p.light);
  const m = NOISE_MARGIN_PX;
  f = addNoise(f, p.noiseSigma, rnd, [p.x - m, p.y - m, p.x + img.width + m, p.y + img.height + m]);
  if (p.jpegQuality !== null) {
    if (!compress) throw new Error('degradeFrame: jpegQuality is set but no compress function was given');
    const c = await compress(f, p.jpegQuality);
    if (c.width !== f.width || c.height !== f.height) throw new Error(`degradeFrame: compression changed the frame size (${f.width}x${f.height} -> ${c.width}x${c.height})`);
    f = c;
  }
  return { frame: f, photoBox: [p.x, p.y, p.x + img.width, p.y + img.height] };
}
