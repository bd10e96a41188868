/** The camera check with real GStreamer: the test template yields a frame; a missing device fails fast. */
import t from 'tap';
import { CameraConfigSchema } from '../../src/camera/config';
import { createMemoryLogger } from '../../src/log';
import { checkCamera } from '../../src/selftest/camera';

t.test('the test template (videotestsrc) yields a frame', async (t) => {
  const cfg = CameraConfigSchema.parse({ template: 'test', settings: { width: 160, height: 120, fps: 15 } });
  const r = await checkCamera(cfg, createMemoryLogger('error'), 10_000);
  t.equal(r.ok, true, r.detail);
  t.match(r.detail, /^template test: 160x120 frame after [0-9.]+ s$/);
});

t.test('a USB camera that is not there fails at once, naming the device and what to check', async (t) => {
  const cfg = CameraConfigSchema.parse({ template: 'usb-v4l2', settings: { device: '/dev/video-lfr-none' } });
  const t0 = Date.now();
  const r = await checkCamera(cfg, createMemoryLogger('error'), 10_000);
  t.equal(r.ok, false);
  t.match(r.detail, /^template usb-v4l2: \/dev\/video-lfr-none does not exist \(camera unplugged, wrong device, or file moved\?\); check the camera is connected/);
  t.ok(Date.now() - t0 < 3000, 'no restarts, no waiting for the timeout');
});

t.test('a pipeline that fails in GStreamer is reported with its error', async (t) => {
  // A file that exists but is not a video: the pipeline starts, then errors.
  const cfg = CameraConfigSchema.parse({ template: 'file', settings: { location: __filename } });
  const r = await checkCamera(cfg, createMemoryLogger('error'), 5_000);
  t.equal(r.ok, false);
  t.match(r.detail, /^template file: .+; check the camera is connected/, r.detail);
});
