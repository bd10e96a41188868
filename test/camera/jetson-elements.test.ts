import t from 'tap';
import { checkJetsonLaunch, JETSON_ELEMENTS, parseLaunch } from '../../src/camera/jetson-elements';
import { renderPipeline } from '../../src/camera/pipeline-template';

t.test('rendered Jetson templates match the Jetson element table', async (t) => {
  const csi = renderPipeline('jetson-csi', { sensorId: 1, width: 1920, height: 1080, fps: 30, flipMethod: 2 });
  t.same(checkJetsonLaunch(csi.launch), []);
  t.match(csi.launch, /nvarguscamerasrc sensor-id=1 sensor-mode=-1 ! video\/x-raw\(memory:NVMM\),width=1920,height=1080,framerate=30\/1,format=NV12 ! nvvidconv flip-method=2 ! video\/x-raw,format=RGBA ! appsink/);
  for (const codec of ['h264', 'h265']) {
    const r = renderPipeline('jetson-rtsp', { url: 'rtsp://10.0.0.2:554/stream1', codec });
    t.same(checkJetsonLaunch(r.launch), [], codec);
    t.match(r.launch, new RegExp(`rtph${codec.slice(1)}depay ! ${codec}parse ! nvv4l2decoder`));
  }
});

t.test('every Jetson element the templates use is in the table', async (t) => {
  const used = new Set<string>();
  for (const r of [renderPipeline('jetson-csi', {}), renderPipeline('jetson-rtsp', { url: 'rtsp://h/s' })]) {
    for (const s of parseLaunch(r.launch)) if (s.kind === 'element' && s.name.startsWith('nv')) used.add(s.name);
  }
  t.same([...used].sort(), ['nvarguscamerasrc', 'nvv4l2decoder', 'nvvidconv']);
  for (const el of used) t.ok(JETSON_ELEMENTS[el], el);
});

t.test('the check catches wrong properties, values and caps', async (t) => {
  t.same(checkJetsonLaunch('nvarguscamerasrc sensorid=0 ! video/x-raw(memory:NVMM),format=NV12 ! nvvidconv ! video/x-raw,format=RGBA ! appsink name=sink'),
    ["nvarguscamerasrc: no property 'sensorid'"]);
  t.same(checkJetsonLaunch('nvarguscamerasrc sensor-id=300 ! video/x-raw(memory:NVMM),format=NV12 ! nvvidconv ! video/x-raw,format=RGBA ! appsink name=sink'),
    ['nvarguscamerasrc: sensor-id=300 is not an integer 0..255']);
  t.same(checkJetsonLaunch('nvarguscamerasrc ! video/x-raw,format=NV12 ! nvvidconv ! video/x-raw,format=RGBA ! appsink name=sink'),
    ['nvarguscamerasrc cannot output video/x-raw,format=NV12']);
  t.same(checkJetsonLaunch('nvarguscamerasrc ! video/x-raw(memory:NVMM),format=NV12 ! nvvidconv ! video/x-raw,format=RGB ! appsink name=sink'),
    ['nvvidconv cannot output video/x-raw,format=RGB']);
  t.same(checkJetsonLaunch('nvarguscamerasrc ! video/x-raw(memory:NVMM),format=NV12 ! nvvidconv ! video/x-raw(memory:NVMM),format=RGBA ! appsink name=sink'),
    ['appsink needs system memory, not memory:NVMM: video/x-raw(memory:NVMM),format=RGBA']);
  t.same(checkJetsonLaunch('rtspsrc location="rtsp://h/s" ! rtph264depay ! h264parse ! nvv4l2decoder enable-max-performance=maybe ! nvvidconv ! video/x-raw,format=BGRx ! appsink name=sink'),
    ['nvv4l2decoder: enable-max-performance=maybe is not a boolean']);
});
