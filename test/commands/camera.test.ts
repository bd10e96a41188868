import t from 'tap';
import { runCli } from '../helpers/cli';

t.test('camera render: the configured pipeline, a chosen template, and clear errors', async (t) => {
  const dflt = await runCli(['camera', 'render']);
  t.equal(dflt.code, 0, dflt.stderr);
  t.match(dflt.stdout, /^videotestsrc .*appsink name=sink drop=true max-buffers=1/);
  t.match(dflt.stdout, /# check it on the unit: gst-launch-1\.0 -v videotestsrc .* fakesink sync=false/);
  const usb = await runCli(['camera', 'render', '--template', 'usb-v4l2', '--set', 'device=/dev/video3', '--set', 'width=640', '--set', 'height=480']);
  t.equal(usb.code, 0, usb.stderr);
  t.match(usb.stdout, /v4l2src device="\/dev\/video3" ! image\/jpeg,width=640,height=480/);
  const csi = await runCli(['camera', 'render', '--template', 'jetson-csi']);
  t.match(csi.stdout, /nvarguscamerasrc sensor-id=0 .*nvvidconv/);
  const missing = await runCli(['camera', 'render', '--template', 'file']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^lfr-edge camera: pipeline 'file': missing variable 'location'/);
  t.notMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  const bogus = await runCli(['camera', 'render', '--template', 'usb-v4l2', '--set', 'bogus=1']);
  t.match(bogus.stderr, /unknown variable 'bogus' \(known: device, input, width, height, fps\)/);
  const bad = await runCli(['camera', 'render', '--set', 'novalue']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--set takes KEY=VALUE, got 'novalue'/);
  const sub = await runCli(['camera', 'frobnicate']);
  t.equal(sub.code, 2);
});
