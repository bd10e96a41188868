/**
 * The Jetson-only GStreamer elements (L4T / JetPack 5-6 multimedia API), their properties and pad
 * caps, written down from NVIDIA's Accelerated GStreamer guide and `gst-inspect-1.0` on a Jetson.
 * The Jetson templates cannot run off a Jetson; `checkJetsonLaunch()` checks a rendered launch line
 * against this table instead: every property exists with a valid value, and every caps filter next
 * to a Jetson element is one that element can produce or accept (memory:NVMM vs system memory,
 * formats). Pure.
 */

export type PropertySpec =
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'string' }
  | { type: 'float'; min: number; max: number };

export interface PadCaps {
  /** Media type, e.g. video/x-raw, video/x-h264. */
  media: string;
  /** Caps feature, e.g. memory:NVMM; undefined = system memory. */
  feature?: string;
  formats?: string[];
}

export interface JetsonElement {
  properties: Record<string, PropertySpec>;
  sink: PadCaps[];
  src: PadCaps[];
}

const COMMON: Record<string, PropertySpec> = { name: { type: 'string' } };
const NVMM = 'memory:NVMM';
const NVVIDCONV_FORMATS = ['I420', 'I420_10LE', 'P010_10LE', 'I420_12LE', 'UYVY', 'YUY2', 'YVYU', 'NV12', 'NV16', 'NV24', 'GRAY8', 'BGRx', 'RGBA', 'Y42B'];

export const JETSON_ELEMENTS: Record<string, JetsonElement> = {
  nvarguscamerasrc: {
    properties: {
      ...COMMON,
      'sensor-id': { type: 'int', min: 0, max: 255 },
      'sensor-mode': { type: 'int', min: -1, max: 255 },
      'num-buffers': { type: 'int', min: -1, max: 2147483647 },
      'do-timestamp': { type: 'bool' },
      silent: { type: 'bool' },
      timeout: { type: 'int', min: 0, max: 2147483647 },
      wbmode: { type: 'int', min: 0, max: 9 },
      saturation: { type: 'float', min: 0, max: 2 },
      exposuretimerange: { type: 'string' },
      gainrange: { type: 'string' },
      ispdigitalgainrange: { type: 'string' },
      'tnr-mode': { type: 'int', min: 0, max: 2 },
      'tnr-strength': { type: 'float', min: -1, max: 1 },
      'ee-mode': { type: 'int', min: 0, max: 2 },
      'ee-strength': { type: 'float', min: -1, max: 1 },
      aeantibanding: { type: 'int', min: 0, max: 3 },
      exposurecompensation: { type: 'float', min: -2, max: 2 },
      aelock: { type: 'bool' },
      awblock: { type: 'bool' },
      'bufapi-version': { type: 'bool' },
    },
    sink: [],
    src: [{ media: 'video/x-raw', feature: NVMM, formats: ['NV12', 'P010_10LE'] }],
  },
  nvvidconv: {
    properties: {
      ...COMMON,
      'flip-method': { type: 'int', min: 0, max: 7 },
      'interpolation-method': { type: 'int', min: 0, max: 6 },
      'output-buffers': { type: 'int', min: 1, max: 2147483647 },
      left: { type: 'int', min: 0, max: 2147483647 },
      right: { type: 'int', min: 0, max: 2147483647 },
      top: { type: 'int', min: 0, max: 2147483647 },
      bottom: { type: 'int', min: 0, max: 2147483647 },
      'bl-output': { type: 'bool' },
      silent: { type: 'bool' },
      qos: { type: 'bool' },
    },
    sink: [
      { media: 'video/x-raw', feature: NVMM, formats: NVVIDCONV_FORMATS },
      { media: 'video/x-raw', formats: NVVIDCONV_FORMATS },
    ],
    src: [
      { media: 'video/x-raw', feature: NVMM, formats: NVVIDCONV_FORMATS },
      { media: 'video/x-raw', formats: NVVIDCONV_FORMATS },
    ],
  },
  nvv4l2decoder: {
    properties: {
      ...COMMON,
      device: { type: 'string' },
      'enable-max-performance': { type: 'bool' },
      'disable-dpb': { type: 'bool' },
      'skip-frames': { type: 'int', min: 0, max: 2 },
      'drop-frame-interval': { type: 'int', min: 0, max: 30 },
      'num-extra-surfaces': { type: 'int', min: 0, max: 24 },
      'enable-frame-type-reporting': { type: 'bool' },
      'enable-error-check': { type: 'bool' },
      mjpeg: { type: 'bool' },
      'capture-io-mode': { type: 'int', min: 0, max: 4 },
      'output-io-mode': { type: 'int', min: 0, max: 4 },
      'bufapi-version': { type: 'bool' },
    },
    sink: [
      { media: 'video/x-h264' }, { media: 'video/x-h265' }, { media: 'video/x-vp8' },
      { media: 'video/x-vp9' }, { media: 'video/mpeg' }, { media: 'image/jpeg' },
    ],
    src: [{ media: 'video/x-raw', feature: NVMM, formats: ['NV12', 'P010_10LE'] }],
  },
};

/** What the frame reader accepts at the appsink (system memory only). */
export const APPSINK_FORMATS = ['RGB', 'RGBA', 'RGBx', 'BGRx'];

export interface LaunchSegment {
  kind: 'element' | 'caps';
  text: string;
  /** element factory name, or caps media type */
  name: string;
  feature?: string;
  props: Record<string, string>;
}

/** Split a gst-launch line into elements and caps filters (no bins, no named-pad links). */
export function parseLaunch(launch: string): LaunchSegment[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < launch.length; i++) {
    const c = launch[i];
    if (c === '\\' && quoted) { cur += c + (launch[i + 1] ?? ''); i++; continue; }
    if (c === '"') quoted = !quoted;
    if (c === '!' && !quoted) { parts.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur.trim());
  return parts.map((text) => {
    const isCaps = /^[a-z]+\/[a-z0-9.+-]+/i.test(text);
    if (isCaps) {
      const m = /^([a-z]+\/[a-z0-9.+-]+)(?:\(([^)]*)\))?(.*)$/i.exec(text)!;
      const props: Record<string, string> = {};
      for (const kv of m[3].split(',').map((s) => s.trim()).filter(Boolean)) {
        const [k, ...v] = kv.split('=');
        props[k.trim()] = v.join('=').trim().replace(/^\([a-z]+\)/i, '');
      }
      return { kind: 'caps' as const, text, name: m[1], feature: m[2], props };
    }
    const tokens = text.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
    const props: Record<string, string> = {};
    for (const tok of tokens.slice(1)) {
      const eq = tok.indexOf('=');
      props[eq < 0 ? tok : tok.slice(0, eq)] = eq < 0 ? '' : tok.slice(eq + 1);
    }
    return { kind: 'element' as const, text, name: tokens[0] ?? '', props };
  });
}

function checkProperty(el: string, prop: string, spec: PropertySpec | undefined, raw: string): string | undefined {
  if (!spec) return `${el}: no property '${prop}'`;
  const value = raw.replace(/^"(.*)"$/, '$1');
  switch (spec.type) {
    case 'int': {
      const n = Number(value);
      if (!/^-?\d+$/.test(value) || n < spec.min || n > spec.max) return `${el}: ${prop}=${raw} is not an integer ${spec.min}..${spec.max}`;
      return undefined;
    }
    case 'float': {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n) || n < spec.min || n > spec.max) return `${el}: ${prop}=${raw} is not a number ${spec.min}..${spec.max}`;
      return undefined;
    }
    case 'bool':
      return /^(true|false|0|1)$/i.test(value) ? undefined : `${el}: ${prop}=${raw} is not a boolean`;
    case 'string':
      return undefined;
  }
}

function capsFits(caps: LaunchSegment, pads: PadCaps[]): boolean {
  const format = caps.props.format;
  return pads.some((p) => p.media === caps.name && (p.feature ?? undefined) === (caps.feature ?? undefined)
    && (!format || !p.formats || p.formats.includes(format)));
}

/** Problems found in a rendered Jetson launch line; empty when it is consistent with the table. */
export function checkJetsonLaunch(launch: string): string[] {
  const segs = parseLaunch(launch);
  const problems: string[] = [];
  segs.forEach((seg, i) => {
    if (seg.kind === 'element') {
      const el = JETSON_ELEMENTS[seg.name];
      if (!el) return;
      for (const [prop, raw] of Object.entries(seg.props)) {
        const p = checkProperty(seg.name, prop, el.properties[prop], raw);
        if (p) problems.push(p);
      }
      return;
    }
    const prev = segs[i - 1];
    const next = segs[i + 1];
    if (prev?.kind === 'element' && JETSON_ELEMENTS[prev.name] && !capsFits(seg, JETSON_ELEMENTS[prev.name].src)) {
      problems.push(`${prev.name} cannot output ${seg.text}`);
    }
    if (next?.kind === 'element' && JETSON_ELEMENTS[next.name] && !capsFits(seg, JETSON_ELEMENTS[next.name].sink)) {
      problems.push(`${next.name} cannot accept ${seg.text}`);
    }
    if (next?.kind === 'element' && next.name === 'appsink') {
      if (seg.feature) problems.push(`appsink needs system memory, not ${seg.feature}: ${seg.text}`);
      if (!APPSINK_FORMATS.includes(seg.props.format ?? '')) problems.push(`appsink format must be one of ${APPSINK_FORMATS.join(', ')}: ${seg.text}`);
    }
  });
  // Two Jetson elements linked directly (no caps filter between) must share a caps entry.
  segs.forEach((seg, i) => {
    const next = segs[i + 1];
    if (seg.kind !== 'element' || next?.kind !== 'element') return;
    const a = JETSON_ELEMENTS[seg.name];
    const b = JETSON_ELEMENTS[next.name];
    if (a && b && !a.src.some((s) => b.sink.some((k) => k.media === s.media && k.feature === s.feature))) {
      problems.push(`${seg.name} ! ${next.name}: no caps in common`);
    }
  });
  return problems;
}
