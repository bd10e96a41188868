/**
 * The camera process: one GStreamer pipeline per process, started by CameraSource (fork).
 *
 * Why a process: a stopped gstreamer-superficial pipeline is never freed (~1.3-3 MB per restart
 * measured), a restart of the same pipeline object does not work with decodebin (its dynamic pads
 * are linked once by gst_parse_launch: the second PLAYING fails "not-linked"), and a pull or bus
 * poll that never returns holds a libuv thread and makes `process.exit()` hang (libuv joins its
 * threads at exit). A process that is killed frees all of it. Repacking RGBA -> RGB also runs
 * here, on the other core.
 *
 * argv[2]: JSON {launch, mode}. mode 'latest': pull continuously, keep only the newest frame,
 * send it when the parent asks ('next'); frames replaced before being asked for are counted as
 * dropped. mode 'lossless': pull one frame per request (the appsink then holds the decoder back).
 * Output: fd 4 (see frame.ts). Input: IPC messages {t:'next'} | {t:'stop'}.
 */
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeMessage, toPackedRgb, type CameraMessage, type CameraRequest } from './frame';

interface Args { launch: string; mode: 'latest' | 'lossless' }

interface GstAppSink { pull(cb: (buf: Buffer | null, caps: Record<string, unknown>) => void): void }
interface GstPipeline {
  play(): void;
  stop(): void;
  findChild(name: string): GstAppSink | undefined;
  pollBus(cb: (msg: Record<string, unknown>) => void): void;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const out = new Socket({ fd: 4, readable: false, writable: true });
const nowMs = () => performance.timeOrigin + performance.now();

/** Leave without running exit hooks: a pending pull/bus poll would make exit() wait forever. */
function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function send(msg: CameraMessage, payload?: Uint8Array): void {
  for (const b of encodeMessage(msg, payload)) out.write(b);
}

let pipeline: GstPipeline | undefined;
let stopping = false;
function stopAndDie(): never {
  stopping = true;
  try {
    pipeline?.stop();
  } finally {
    die();
  }
}

process.on('disconnect', () => stopAndDie());
process.on('message', (req: CameraRequest) => {
  if (req.t === 'stop') stopAndDie();
  if (req.t === 'next') {
    wanted++;
    if (args.mode === 'lossless') pullOne();
    else flush();
  }
});
out.on('error', () => stopAndDie());

let wanted = 0;
let pulled = 0;
let dropped = 0;
let lastPullAt = 0;
let latest: { msg: CameraMessage & { t: 'frame' }; data: Uint8Array } | undefined;
let ended = false;
let pulling = false;

function flush(): void {
  if (wanted > 0 && latest) {
    wanted--;
    const { msg, data } = latest;
    latest = undefined;
    send(msg, data);
  }
  if (wanted > 0 && ended) send({ t: 'eos' });
}

let sink: GstAppSink;
function onSample(buf: Buffer | null, caps: Record<string, unknown>): void {
  pulling = false;
  if (stopping) return;
  if (!buf) {
    ended = true;
    if (args.mode === 'latest') flush();
    if (latest) {
      latest = undefined; // nobody asked for it before the end
      dropped++;
    }
    send({ t: 'stats', pulled, dropped, lastPullAt });
    send({ t: 'eos' });
    return;
  }
  const width = Number(caps.width);
  const height = Number(caps.height);
  const format = String(caps.format);
  let data: Uint8Array;
  try {
    data = toPackedRgb(buf, width, height, format);
  } catch (err) {
    send({ t: 'error', message: (err as Error).message });
    return;
  }
  pulled++;
  const now = nowMs();
  const [num, den] = String(caps.framerate ?? '0/1').split('/').map(Number);
  const fps = num > 0 && den > 0 ? num / den : 0;
  lastPullAt = now;
  if (latest) dropped++;
  latest = { msg: { t: 'frame', seq: pulled, dropped, capturedAt: lastPullAt, fps, width, height, bytes: data.byteLength }, data };
  flush();
  if (args.mode === 'latest') pullOne();
}

function pullOne(): void {
  if (pulling || ended || stopping) return;
  pulling = true;
  sink.pull(onSample);
}

try {
  const gst = require('gstreamer-superficial') as { Pipeline: new (launch: string) => GstPipeline };
  pipeline = new gst.Pipeline(args.launch);
  const found = pipeline.findChild('sink');
  if (!found) throw new Error("the pipeline has no element named 'sink' (end it in 'appsink name=sink ...')");
  sink = found;
  pipeline.pollBus((msg) => {
    if (stopping) return;
    if (msg.type === 'error') {
      send({ t: 'error', message: String(msg.message ?? 'unknown error'), element: msg._src_element_name as string | undefined });
    }
  });
  pipeline.play();
  if (args.mode === 'latest') pullOne();
  setInterval(() => send({ t: 'stats', pulled, dropped, lastPullAt }), 500).unref();
} catch (err) {
  send({ t: 'error', message: `cannot build the pipeline: ${(err as Error).message}` });
}
