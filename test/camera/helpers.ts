import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A temp dir removed at the end of the test. */
export function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-camera-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Make an H.264 MP4 with GStreamer (videotestsrc -> x264enc -> mp4mux). */
export function makeMp4(file: string, opts: { frames: number; width?: number; height?: number; fps?: number; pattern?: string }): string {
  const { frames, width = 320, height = 240, fps = 30, pattern = 'smpte' } = opts;
  execFileSync('gst-launch-1.0', ['-q',
    'videotestsrc', `num-buffers=${frames}`, `pattern=${pattern}`, '!',
    `video/x-raw,width=${width},height=${height},framerate=${fps}/1`, '!',
    'x264enc', 'speed-preset=ultrafast', 'key-int-max=15', '!', 'mp4mux', '!', 'filesink', `location=${file}`], { stdio: 'pipe' });
  return file;
}

/**
 * The camera process compiled to JavaScript in a temp dir: a child under the test runner's
 * TypeScript loader takes ~1.4 s to start, a plain JS one ~0.3 s (tests with many restarts).
 */
export function compiledCameraProcess(t: { teardown: (fn: () => void) => void }): string {
  const ts = require('typescript') as typeof import('typescript');
  const { readFileSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  const dir = tempDir(t);
  const srcDir = path.resolve(__dirname, '../../src/camera');
  for (const name of ['camera-process', 'frame']) {
    const out = ts.transpileModule(readFileSync(path.join(srcDir, `${name}.ts`), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    writeFileSync(path.join(dir, `${name}.js`), out);
  }
  const nodeModules = path.resolve(__dirname, '../../node_modules');
  process.env.NODE_PATH = process.env.NODE_PATH ? `${nodeModules}${path.delimiter}${process.env.NODE_PATH}` : nodeModules;
  return path.join(dir, 'camera-process.js');
}
