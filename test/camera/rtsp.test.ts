/**
 * A real RTSP camera (issue 11 item 18): GStreamer's RTSP server on loopback
 * (test/fixtures/rtsp-server.py, Debian's python3-gi + gir1.2-gst-rtsp-server-1.0) and the real
 * daemon with the `rtsp` template (gst-pipelines/rtsp.json), a real Mosquitto with mutual TLS.
 * Frames arrive; the server goes away for 20 s and returns on the same port; health says the
 * camera is down with the reason while it is gone, and streaming again within seconds of its
 * return. The resume time is measured (the daemon's own 'camera state' log line against the
 * moment the server listens again) and printed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { connectCentral } from '../../src/central/client';
import { ConfigSchema } from '../../src/config/schema';
import { packageRoot } from '../../src/paths';
import { collect, mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';
import { cli, makeUnitKeys, unitBrokerConfig } from '../helpers/daemon-unit';

const root = packageRoot();
const node = process.execPath;
// Debian's python: the python3 first on PATH may be another one without gi.
const PYTHON = '/usr/bin/python3';
const SERVER = path.join(root, 'test', 'fixtures', 'rtsp-server.py');

function rtspServerAvailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `no GStreamer RTSP server for ${PYTHON} (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0; scripts/install-system-deps does): ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`;
}

const skip = mosquittoAvailable() ?? rtspServerAvailable();

/** Start the RTSP server; resolves with its URL once it listens (and the time it did). */
function startServer(t: Test, port = 0): Promise<{ proc: ChildProcess; url: string; readyAt: number }> {
  const proc = spawn(PYTHON, [SERVER, '--port', String(port), '--width', '640', '--height', '360', '--fps', '15'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      const m = /READY (rtsp:\/\/\S+)/.exec(String(d));
      if (m) resolve({ proc, url: m[1], readyAt: Date.now() });
    });
    proc.on('exit', (code) => reject(new Error(`rtsp server exited (${code}) before it listened: ${err}`)));
  });
}

interface Line { time: string; msg: string; state?: string; [k: string]: unknown }

t.test('rtsp template against a real RTSP server: frames, a 20 s outage reported with the reason, resumed within seconds', { skip, timeout: 180_000 }, async (t) => {
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);

  const dir = tempDir('lfr-rtsp-');
  const keys = makeUnitKeys(dir);
  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const centralCert = broker.clientCert('central');
  const config = {
    ...unitBrokerConfig({ unitId: 'van-rtsp', dir, keys, broker }),
    // the shipped template, the default restart timings and the default providers (tensorrt, cuda,
    // cpu): what a unit in the field runs; here neither TensorRT nor CUDA is there
    camera: { template: 'rtsp', settings: { url: server.url } },
    logging: { level: 'info' },
  };
  const cfgFile = path.join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(config));
  const backoffMaxMs = ConfigSchema.parse(config).camera.backoff.maxSeconds * 1000;

  const central = await connectCentral({ broker: broker.url, ca: broker.caFile, cert: centralCert.cert, key: centralCert.key });
  t.teardown(() => central.end(true));
  const seen = collect(central);
  await central.subscribeAsync('lfr/v1/van-rtsp/health', { qos: 1 });
  const health = () => seen.filter((m) => m.topic === 'lfr/v1/van-rtsp/health').map((m) => m.json);

  const child = spawn(node, [cli, 'run', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const lines: Line[] = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try { lines.push(JSON.parse(buf.slice(0, i)) as Line); } catch { /* not a log line */ }
      buf = buf.slice(i + 1);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));

  // 1. frames arrive and go through the chain
  await waitFor(() => health().some((h) => h.camera?.state === 'streaming' && h.camera.fpsIn > 0 && h.camera.fpsProcessed > 0), 60_000, 'health: the RTSP camera streaming, frames processed');
  const before = health().filter((h) => h.camera?.state === 'streaming').at(-1);
  t.ok(before.camera.fpsIn >= 5, `frames arrive: fpsIn ${before.camera.fpsIn} (the server sends 15)`);
  t.equal(before.camera.reason, null, 'no reason while streaming');
  t.equal(before.provider, 'cpu');
  t.match(before.providerReason, /^tensorrt: [\w.-]+\.onnx: no TensorRT library \(libnvinfer\) found.*; cuda: /, `health says why not TensorRT or CUDA: ${before.providerReason}`);

  // 2. the server goes away
  server.proc.kill('SIGKILL');
  const goneAt = Date.now();
  await waitFor(() => health().some((h) => Date.parse(h.at) > goneAt && h.camera && h.camera.state !== 'streaming' && h.camera.reason), 20_000, 'health: the camera down, with the reason');
  const down = health().find((h) => Date.parse(h.at) > goneAt && h.camera && h.camera.state !== 'streaming' && h.camera.reason);
  const reportedAfterMs = Date.parse(down.at) - goneAt;
  t.match(down.camera, { state: /^(down|stalled|starting)$/, reason: /rtspsrc|end of stream|no frame/ }, `reported ${reportedAfterMs} ms after the server went: ${down.camera.state} (${down.camera.reason})`);
  t.ok(down.camera.reconnectsLastHour >= 1, 'the restart is counted');

  // 3. 20 s later it returns on the same port
  await new Promise((r) => setTimeout(r, Math.max(0, goneAt + 20_000 - Date.now())));
  const during = health().filter((h) => Date.parse(h.at) > goneAt + 1000);
  t.ok(during.length >= 10 && during.every((h) => h.camera?.state !== 'streaming'), `never streaming while the server was gone (${during.length} health messages)`);
  t.ok(during.every((h) => typeof h.camera?.reason === 'string' && h.camera.reason.length > 0), 'every one of them says why');
  const back = await startServer(t, port);
  t.equal(back.url, server.url, 'the server is back at the same URL');

  // 4. streaming again within seconds
  await waitFor(() => lines.some((l) => l.msg === 'camera state' && l.state === 'streaming' && Date.parse(l.time) > back.readyAt), 30_000, 'the camera streaming again');
  const resumed = lines.find((l) => l.msg === 'camera state' && l.state === 'streaming' && Date.parse(l.time) > back.readyAt)!;
  const resumeMs = Date.parse(resumed.time) - back.readyAt;
  t.comment(`RTSP resume: the camera streamed again ${resumeMs} ms after the server listened (restart backoff capped at ${backoffMaxMs} ms); the outage was reported ${reportedAfterMs} ms after the server went`);
  t.ok(resumeMs < 10_000, `resumed ${resumeMs} ms after the server returned: within seconds (the ${backoffMaxMs} ms backoff cap + connecting)`);
  await waitFor(() => health().some((h) => Date.parse(h.at) > Date.parse(resumed.time) && h.camera?.state === 'streaming' && h.camera.fpsIn > 0 && h.camera.reason === null), 10_000, 'health: streaming again, no reason');

  child.kill('SIGTERM');
  t.equal(await exited, 0, `the daemon exits cleanly (${stderr.slice(0, 300)})`);
});
