import t from 'tap';
import { CameraConfigSchema, cameraSourceTimings } from '../../src/camera/config';
import { ConfigSchema } from '../../src/config/schema';

t.test('defaults: the test source', async (t) => {
  const c = ConfigSchema.parse({});
  t.match(c.camera, { template: 'test', settings: {}, stallTimeoutSeconds: 5 });
  t.match(c.recognition, { tracker: { maxUnseenFrames: 15 }, decision: { rule: 'min-frames', minFrames: 3, cooldownSeconds: 60 } });
  t.same(cameraSourceTimings(c.camera), { stallTimeoutMs: 5000, startTimeoutMs: 15000, stopTimeoutMs: 2000, backoff: { initialMs: 500, maxMs: 4000, factor: 2 } });
});

t.test('template settings are checked at load, naming the variable', async (t) => {
  const r = CameraConfigSchema.safeParse({ template: 'file', settings: {} });
  t.equal(r.success, false);
  t.same(r.error!.issues.map((i) => [i.path.join('.'), i.message]), [['settings', "pipeline 'file': missing variable 'location' (a file or device path)"]]);
  const u = CameraConfigSchema.safeParse({ template: 'usb-v4l2', settings: { devcie: '/dev/video1' } });
  t.match(u.error!.issues[0].message, /unknown variable 'devcie'/);
  t.equal(CameraConfigSchema.safeParse({ template: 'jetson-csi', settings: { sensorId: 1 } }).success, true);
  t.equal(CameraConfigSchema.safeParse({ template: 'gopro' }).success, false);
});
