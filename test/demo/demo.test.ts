/** The README's main job: the demo runs a whole deployment with nothing set up. */
import t from 'tap';
import { runDemo, cameraFor } from '../../src/demo/demo';

t.test('demo: in-process broker, bundle, daemon on the bundled clip, alerts, record and wipe', { timeout: 120_000 }, async (t) => {
  let out = '';
  let err = '';
  const code = await runDemo({ seconds: 11, keep: false, io: { stdout: (s) => (out += s), stderr: (s) => (err += s), env: { ...process.env, LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } } });
  t.equal(code, 0, err);
  t.match(out, /\[1\/6\] broker: in-process MQTT broker on mqtt:\/\/127\.0\.0\.1:\d+/);
  t.match(out, /central \| .* STATUS\s+online/);
  t.match(out, /central \| .* HEALTH\s+camera (starting|streaming)/);
  t.match(out, /central \| .* SESSION\s+active .* watchlist 2 threshold 0\.\d+ @ false-alert rate 0\.001/);
  t.match(out, /central \| .* ALERT\s+\S+ subject lin-manuel-miranda \(demo\)/, 'an alert for the person on stage');
  t.notMatch(out, /subject (?!lin-manuel-miranda|barack-obama)\S+ \(demo\)/, 'no alert for anyone else');
  t.match(out, /RECORD\s+session .* ended by command: faces \d+, tracks \d+, alerts [1-9]\d* .* wipe ok/);
  t.match(out, /\[6\/6\] session ended: .* wipe ok \(key zeroed: true/);
});

t.test('demo --source picks the camera template', async (t) => {
  t.same(cameraFor('rtsp://cam.local/stream'), { template: 'rtsp', url: 'rtsp://cam.local/stream' });
  t.same(cameraFor('/dev/video2'), { template: 'usb-v4l2', device: '/dev/video2' });
  t.match(cameraFor(undefined), { template: 'file', realtime: true });
  t.match(cameraFor('clip.mp4'), { template: 'file', realtime: true });
});
