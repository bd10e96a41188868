/** `lfr-edge watchlist build` on real photos (the vision pipeline for real), and its pure parts. */
import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli';
import type { CommandIO } from '../../src/commands/common';
import { verifyModels } from '../../src/models/manifest';
import { ModelsConfigSchema } from '../../src/models/config';
import type { Face, FaceQuality } from '../../src/vision/types';
import { verifyAndOpenBundle } from '../../src/watchlist/bundle';
import { judgeEnrolmentPhoto, listSubjectPhotos, parseDuration } from '../../src/watchlist/bundle-photos';
import { generateAuthorityKeys, generateUnitKeys, loadPublicKey, loadUnitKeys } from '../../src/watchlist/keys';
import { needsSharedData, sharedData } from '../helpers/data';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {} };
  return { code: await main(argv, io), out, err };
}

const goodQuality: FaceQuality = { interOcularPx: 60, sharpness: 500, yawDeg: 3, pitchDeg: 2, detScore: 0.99, passed: true, reasons: [] };
function face(box: [number, number, number, number], quality: Partial<FaceQuality> = {}): Face {
  return { box, detScore: 0.99, landmarks: [], fivePoints: [], quality: { ...goodQuality, ...quality }, embedding: new Float32Array(4) };
}

t.test('judging an enrolment photo', async (t) => {
  t.same(judgeEnrolmentPhoto([]), { ok: false, reason: 'no face found' });
  const main = face([100, 100, 250, 250]);
  t.equal((judgeEnrolmentPhoto([main]) as { face: Face }).face, main);
  t.same(judgeEnrolmentPhoto([main, face([400, 100, 500, 200])]), { ok: false, reason: '2 faces found; use a photo (or a crop) showing the subject alone' }, 'a second face 2/3 the size');
  t.equal(judgeEnrolmentPhoto([face([400, 100, 440, 140]), main]).ok, true, 'a background face under 1/3 of the largest is ignored');
  t.equal(judgeEnrolmentPhoto([main, face([110, 90, 190, 170])]).ok, true, 'a box mostly inside the face is the same face');
  t.equal(judgeEnrolmentPhoto([main, face([220, 100, 320, 200])]).ok, false, 'a third overlapping, cheek to cheek cheek to cheek: a second person');
  t.equal(judgeEnrolmentPhoto([main, face([400, 100, 500, 200]), face([600, 100, 680, 180])]).ok ? 0 : 3, 3);
  t.same(judgeEnrolmentPhoto([face([0, 0, 50, 50], { passed: false, reasons: ['face-too-small', 'blurry'], interOcularPx: 12, sharpness: 4.2 })]), {
    ok: false,
    reason: 'face fails the quality gate (face-too-small, blurry): inter-ocular 12 px, sharpness 4, yaw 3°, pitch 2°, detector 0.99',
  });
});

t.test('durations', async (t) => {
  t.equal(parseDuration('6h'), 6 * 3600e3);
  t.equal(parseDuration('90m'), 90 * 60e3);
  t.equal(parseDuration('1h30m'), 90 * 60e3);
  t.equal(parseDuration('45s'), 45e3);
  for (const bad of ['', '6', 'h', '6 hours', '-1h', '1.5h']) t.equal(parseDuration(bad), undefined, bad);
});

t.test('finding subject photos', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-photos-'));
  t.throws(() => listSubjectPhotos(path.join(dir, 'none'), false), /photo folder .*none does not exist or is not a folder/);
  t.throws(() => listSubjectPhotos(dir, false), /has no subject folders/);
  mkdirSync(path.join(dir, 'CASE-1'));
  writeFileSync(path.join(dir, 'CASE-1', 'b.JPG'), '');
  writeFileSync(path.join(dir, 'CASE-1', 'a.png'), '');
  writeFileSync(path.join(dir, 'CASE-1', 'notes.docx'), '');
  writeFileSync(path.join(dir, 'CASE-1', 'name.txt'), 'Jane Example\nalias\n');
  t.same(listSubjectPhotos(dir, false), [{ ref: 'CASE-1', photos: [path.join(dir, 'CASE-1', 'a.png'), path.join(dir, 'CASE-1', 'b.JPG')], ignored: ['notes.docx'] }]);
  t.equal(listSubjectPhotos(dir, true)[0].name, 'Jane Example');
  writeFileSync(path.join(dir, 'stray.jpg'), '');
  t.throws(() => listSubjectPhotos(dir, false), /must hold one folder per subject .*found file\(s\) stray\.jpg/);
});

let modelsOk = true;
try {
  verifyModels(ModelsConfigSchema.parse({}));
} catch {
  modelsOk = false;
}

t.test('build from real photos: refusals reported, --skip-bad, names, and the unit opens the result', { ...needsSharedData('people'), ...(modelsOk ? {} : { skip: 'models not installed' }) }, async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'lfr-build-'));
  const photos = path.join(root, 'photos');
  const put = (ref: string, ...files: string[]) => {
    mkdirSync(path.join(photos, ref), { recursive: true });
    for (const f of files) copyFileSync(sharedData(f), path.join(photos, ref, path.basename(f)));
  };
  put('CASE-OBAMA', 'people/barack-obama/obama1.jpg', 'people/barack-obama/obama2.jpg', 'people/barack-obama/obama3.jpg');
  put('CASE-LEONARD', 'people/bbt-leonard/leonard1.png', 'people/bbt-leonard/leonard5.png'); // leonard5: no face found
  put('CASE-GROUP', 'group/bbt1.jpg'); // several faces
  writeFileSync(path.join(photos, 'CASE-OBAMA', 'name.txt'), 'Barack Obama\n');
  generateUnitKeys(path.join(root, 'unit'));
  generateAuthorityKeys(path.join(root, 'auth'));
  const out = path.join(root, 'w.lfwl');
  const args = ['watchlist', 'build', '--photos', photos, '--unit-pub', path.join(root, 'unit', 'unit-x25519.pub'), '--authority-key', path.join(root, 'auth', 'authority-ed25519.key'), '--out', out, '--session-id', 'op-test', '--expires-in', '2h', '--category', 'wanted'];

  let r = await run(...args);
  t.equal(r.code, 1, 'refused photos stop the build');
  t.match(r.err, /\[3\/6\] CASE-LEONARD\/leonard5\.png: REFUSED: no face found/);
  t.match(r.err, /\[1\/6\] CASE-GROUP\/bbt1\.jpg: REFUSED: \d+ faces found/);
  t.match(r.err, /\[4\/6\] CASE-OBAMA\/obama1\.jpg: ok \(inter-ocular \d+ px/);
  t.match(r.err, /2 photo\(s\) refused, 1 subject\(s\) without a usable photo \(listed above\).*--skip-bad.*No bundle written/);
  t.notOk(existsSync(out));

  r = await run(...args, '--skip-bad', '--names');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /wrote .*w\.lfwl: bundle \S+, session op-test, 2 subject\(s\) from 4 photo\(s\) \(one flip-averaged template each\) \(1 subject\(s\) and 2 photo\(s\) skipped\), for unit key [0-9a-f]{32}, expires \S+, WITH NAMES/);
  t.match(r.err, /CASE-GROUP: dropped, no usable photo/);

  const unitKeys = loadUnitKeys(path.join(root, 'unit'));
  const before = Date.now();
  const opened = verifyAndOpenBundle(readFileSync(out), {
    unitKeys,
    authorityPublic: loadPublicKey(path.join(root, 'auth', 'authority-ed25519.pub')),
    now: new Date(),
    embeddingModelSha256: verifyModels(ModelsConfigSchema.parse({})).embedderSha256,
    isBundleIdUsed: () => false,
    maxBytes: 1 << 20,
  });
  const h = opened.header;
  t.match(h, { sessionId: 'op-test', count: 2, dimension: 512, categories: ['wanted'] });
  t.ok(Math.abs(Date.parse(h.expiresAt) - Date.parse(h.createdAt) - 2 * 3600e3) < 1, 'expires in 2h');
  t.ok(Date.parse(h.createdAt) <= before);
  const [leonard, obama] = opened.subjects;
  t.match(leonard, { ref: 'CASE-LEONARD', category: 'wanted' });
  t.notOk('name' in leonard);
  t.match(obama, { ref: 'CASE-OBAMA', name: 'Barack Obama' });
  t.equal(obama.embeddings.length, 1, 'three photos enrolled as one template');
  t.equal(leonard.embeddings.length, 1);
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  t.ok(Math.abs(dot(obama.embeddings[0], obama.embeddings[0]) - 1) < 1e-4, 'the template is L2-normalised');
  t.ok(dot(obama.embeddings[0], leonard.embeddings[0]) < 0.3, `different people score low (${dot(obama.embeddings[0], leonard.embeddings[0]).toFixed(3)})`);

  r = await run(...args, '--skip-bad');
  t.equal(r.code, 1);
  t.match(r.err, /w\.lfwl already exists; remove it or choose another --out/);
  r = await run(...args.slice(0, -6), '--expires-in', '13h');
  t.equal(r.code, 2);
  t.match(r.err, /--expires-in 13h is longer than the 12h a session may last/);
  r = await run(...args.slice(0, -6), '--expires-in', 'soon');
  t.equal(r.code, 2);
  t.match(r.err, /--expires-in 'soon' is not a duration/);
  r = await run('watchlist', 'build', '--photos', photos, '--unit-pub', path.join(root, 'auth', 'authority-ed25519.pub'), '--authority-key', path.join(root, 'auth', 'authority-ed25519.key'), '--out', out + '2');
  t.equal(r.code, 1);
  t.match(r.err, /authority-ed25519\.pub holds a ed25519 key; expected x25519/);
});
