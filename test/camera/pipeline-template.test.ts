import t from 'tap';
import { execFileSync } from 'node:child_process';
import { loadTemplate, PIPELINE_TEMPLATES, renderPipeline, renderTemplate, PipelineTemplateError, type PipelineTemplate } from '../../src/camera/pipeline-template';
import { parseLaunch } from '../../src/camera/jetson-elements';

t.test('every template loads and renders with its defaults plus required values', async (t) => {
  const required: Record<string, Record<string, string>> = {
    file: { location: '/tmp/x.mp4' }, rtsp: { url: 'rtsp://cam/stream' }, 'jetson-rtsp': { url: 'rtsp://cam/stream' },
  };
  for (const name of PIPELINE_TEMPLATES) {
    const r = renderPipeline(name, required[name] ?? {});
    t.match(r.launch, /! appsink name=sink drop=(true|false) max-buffers=1 sync=(true|false)$/, `${name} ends in a newest-frame appsink`);
    t.notMatch(r.launch, /\$\{/, `${name}: no placeholder left`);
    t.ok(parseLaunch(r.launch).length > 2);
  }
});

t.test('missing and unknown variables are errors naming the variable', async (t) => {
  t.throws(() => renderPipeline('file', {}), new PipelineTemplateError("pipeline 'file': missing variable 'location' (a file or device path)"));
  t.throws(() => renderPipeline('test', { widht: 640 }), { message: /unknown variable 'widht' \(known: pattern, width, height, fps, numBuffers\)/ });
  t.throws(() => renderPipeline('test', { width: 'wide' }), { message: /variable 'width' must be an integer 16\.\.7680, got "wide"/ });
  t.throws(() => renderPipeline('test', { width: 8 }), { message: /variable 'width' must be an integer/ });
  t.throws(() => renderPipeline('usb-v4l2', { input: 'h264' }), { message: /variable 'input' must be one of raw, mjpeg/ });
  t.throws(() => renderPipeline('rtsp', { url: 'http://cam/x' }), { message: /variable 'url' must be a rtsp\/rtsps URL/ });
  t.throws(() => renderPipeline('nope', {}), { message: /unknown pipeline template 'nope' \(known: jetson-csi, / });
});

t.test('a template placeholder that is not declared is an error naming it', async (t) => {
  const tpl: PipelineTemplate = { name: 'bad', description: '', live: true, variables: {}, template: 'videotestsrc pattern=${pattern} ! appsink name=sink' };
  t.throws(() => renderTemplate(tpl, {}), { message: "pipeline template 'bad': placeholder '${pattern}' is not a declared variable" });
});

t.test('string values are quoted: a path cannot add elements', async (t) => {
  const r = renderPipeline('file', { location: '/tmp/a b" ! fakesink ! x.mp4', realtime: false });
  t.match(r.launch, /^filesrc location="\/tmp\/a b\\" ! fakesink ! x\.mp4" ! decodebin/);
  t.same(r.requiredPaths, ['/tmp/a b" ! fakesink ! x.mp4']);
  t.equal(r.live, false);
});

t.test('file: realtime paces and drops, fast mode neither', async (t) => {
  t.match(renderPipeline('file', { location: '/v.mp4' }).launch, /drop=true max-buffers=1 sync=true$/);
  t.match(renderPipeline('file', { location: '/v.mp4', realtime: false }).launch, /drop=false max-buffers=1 sync=false$/);
  t.match(renderPipeline('file', { location: '/v.mp4', realtime: 'false' }).launch, /sync=false$/);
});

t.test('usb-v4l2: mjpeg decodes, raw does not; device is a required path', async (t) => {
  const m = renderPipeline('usb-v4l2', { device: '/dev/video2' });
  t.match(m.launch, /^v4l2src device="\/dev\/video2" ! image\/jpeg,width=1280,height=720,framerate=30\/1 ! jpegdec ! /);
  t.same(m.requiredPaths, ['/dev/video2']);
  t.match(renderPipeline('usb-v4l2', { input: 'raw' }).launch, /video\/x-raw,width=1280.* ! identity ! videoconvert/);
});

t.test('templates are loaded from data files', async (t) => {
  const tpl = loadTemplate('test');
  t.equal(tpl.live, true);
  t.ok(tpl.variables.width);
});

t.test('the non-Jetson elements all exist in this GStreamer', async (t) => {
  const required: Record<string, Record<string, string>> = { file: { location: '/x' }, rtsp: { url: 'rtsp://h/s' } };
  const seen = new Set<string>();
  for (const name of ['file', 'rtsp', 'usb-v4l2', 'test']) {
    for (const input of name === 'usb-v4l2' ? ['raw', 'mjpeg'] : [undefined]) {
      const s = { ...(required[name] ?? {}), ...(input ? { input } : {}) };
      for (const seg of parseLaunch(renderPipeline(name, s).launch)) if (seg.kind === 'element') seen.add(seg.name);
    }
  }
  for (const el of seen) {
    t.doesNotThrow(() => execFileSync('gst-inspect-1.0', ['--exists', el]), `${el} is installed`);
  }
});
