import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { runCli } from '../helpers/cli';
import { needsSharedData, sharedData } from '../helpers/data';

t.test('embed --json: faces with box, landmarks, quality and a unit-norm embedding', needsSharedData('people'), async (t) => {
  const r = await runCli(['embed', '--json', sharedData('people', 'joe-biden', 'biden1.jpg')]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 1);
  const [face] = lines[0].faces;
  t.equal(lines[0].faces.length, 1);
  t.equal(face.box.length, 4);
  t.equal(face.landmarks.length, 68);
  t.equal(face.fivePoints.length, 5);
  t.equal(face.quality.passed, true);
  t.equal(face.embedding.length, 512);
  const norm = Math.hypot(...face.embedding);
  t.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
});

t.test('a folder with a corrupt file, a non-image and an image with no face: reported, the run goes on', needsSharedData('people'), async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-embed-'));
  mkdirSync(path.join(dir, 'sub'));
  copyFileSync(sharedData('people', 'barack-obama', 'obama1.jpg'), path.join(dir, 'a-obama.jpg'));
  const good = await sharp(sharedData('people', 'joe-biden', 'biden1.jpg')).toBuffer();
  writeFileSync(path.join(dir, 'b-truncated.jpg'), good.subarray(0, 300));
  writeFileSync(path.join(dir, 'c-notes.txt'), 'not an image');
  const w = 200, h = 150;
  await sharp(Buffer.alloc(w * h * 3, 180), { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, 'sub', 'd-wall.png'));
  copyFileSync(sharedData('people', 'joe-biden', 'biden1.jpg'), path.join(dir, 'sub', 'e-biden.jpg'));

  const r = await runCli(['embed', '--json', dir]);
  t.equal(r.code, 1, 'exit 1 because some files failed');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(lines.map((l) => path.relative(dir, l.file)), ['a-obama.jpg', 'b-truncated.jpg', 'c-notes.txt', 'sub/d-wall.png', 'sub/e-biden.jpg']);
  t.equal(lines[0].faces.length, 1);
  t.match(lines[1].error, /b-truncated\.jpg: cannot decode image/);
  t.match(lines[2].error, /c-notes\.txt: cannot decode image \(.*unsupported image format/);
  t.same(lines[3].faces, [], 'no face in a plain wall');
  t.equal(lines[4].faces.length, 1, 'the run went on after the bad files');
  t.match(r.stderr, /b-truncated\.jpg: cannot decode image/);
  t.match(r.stderr, /2 of 5 file\(s\) could not be read/);
});

t.test('embed: human-readable output, and usage errors', needsSharedData('people'), async (t) => {
  const r = await runCli(['embed', sharedData('people', 'bbt-raj', 'raj1.png')]);
  t.equal(r.code, 0);
  t.match(r.stdout, /raj1\.png: 150x150, 1 face\(s\)/);
  t.match(r.stdout, /quality (ok|FAILED: )/);
  const none = await runCli(['embed']);
  t.equal(none.code, 2);
  t.match(none.stderr, /give at least one IMAGE or DIR/);
  const bad = await runCli(['embed', '--bogus', 'x']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /Unknown option '--bogus'/);
  const missing = await runCli(['embed', '/nonexistent/x.jpg']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /\/nonexistent\/x\.jpg: cannot decode image \(no such file\)/);
});
