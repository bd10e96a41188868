/** Detection zones and masks: the pure geometry, the config's refusals, and the real detector on a real photo. */
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { FaceAnalyzer } from '../../src/vision/analyzer';
import { ZonesConfigSchema } from '../../src/vision/config';
import { decodeImageFile } from '../../src/vision/image';
import type { Point, RgbImage } from '../../src/vision/types';
import { frameZones, keptByZones, pointInPolygon } from '../../src/vision/zones';

t.test('pointInPolygon: convex, concave, outside', async (t) => {
  const sq: Point[] = [[0, 0], [10, 0], [10, 10], [0, 10]];
  t.ok(pointInPolygon([5, 5], sq));
  t.notOk(pointInPolygon([15, 5], sq));
  const L: Point[] = [[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]];
  t.ok(pointInPolygon([2, 8], L), 'in the L');
  t.notOk(pointInPolygon([8, 8], L), 'in the notch of the L');
});

t.test('frameZones scales normalised zones; keptByZones uses the box centre; cropToZones gives the bounding box', async (t) => {
  const spec = ZonesConfigSchema.parse({ include: [[[0.25, 0.5], [0.75, 0.5], [0.75, 1], [0.25, 1]]], exclude: [[[0.5, 0.5], [0.75, 0.5], [0.75, 0.75], [0.5, 0.75]]], cropToZones: true });
  const z = frameZones(spec, 1280, 720);
  t.same(z.include[0], [[320, 360], [960, 360], [960, 720], [320, 720]]);
  t.same(z.roi, { x: 320, y: 360, w: 640, h: 360 });
  t.ok(keptByZones([400, 500, 440, 540], z), 'centre inside the zone');
  t.notOk(keptByZones([100, 500, 140, 540], z), 'centre left of the zone');
  t.notOk(keptByZones([700, 400, 740, 440], z), 'centre inside the mask');
  t.ok(keptByZones([300, 500, 400, 540], z), 'a box reaching out of the zone with its centre inside is kept');
  const px = frameZones(ZonesConfigSchema.parse({ units: 'pixels', exclude: [[[0, 0], [100, 0], [100, 100]]] }), 1280, 720);
  t.same(px.roi, { x: 0, y: 0, w: 1280, h: 720 }, 'no include zone: the whole frame');
  t.ok(keptByZones([500, 500, 540, 540], px));
  t.notOk(keptByZones([70, 10, 90, 30], px), 'masked (pixels)');
});

t.test('zones config: refused with the key path', async (t) => {
  t.throws(() => loadConfig({ env: { LFR_EDGE__VISION__ZONES: '{"include":[[[0,0],[1,0]]]}' } }), /vision\.zones\.include\.0: a zone polygon needs at least 3 points/);
  t.throws(() => loadConfig({ env: { LFR_EDGE__VISION__ZONES: '{"include":[[[0,0],[640,0],[640,360]]]}' } }), /vision\.zones\.include\.0: normalised zone points must be within 0\.\.1/);
  t.throws(() => loadConfig({ env: { LFR_EDGE__VISION__ZONES: '{"cropToZones":true}' } }), /vision\.zones\.cropToZones: cropToZones needs at least one include zone/);
  t.doesNotThrow(() => loadConfig({ env: { LFR_EDGE__VISION__ZONES: '{"units":"pixels","include":[[[0,0],[640,0],[640,360]]]}' } }));
});

/** Two copies of a photo side by side (two faces, left and right). */
function pair(img: RgbImage): RgbImage {
  const W = img.width * 2;
  const data = new Uint8Array(W * img.height * 3);
  for (let y = 0; y < img.height; y++) {
    const row = img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
    data.set(row, y * W * 3);
    data.set(row, (y * W + img.width) * 3);
  }
  return { width: W, height: img.height, data };
}

t.test('the live detector drops faces outside the zones or in a mask; stills ignore zones', async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const img = pair(await decodeImageFile(path.join(packageRoot(), 'assets', 'selftest', 'face.jpg')));
  const models = verifyModels(cfg.models);
  const open = async (zones: unknown) => FaceAnalyzer.create({ ...cfg.vision, zones: ZonesConfigSchema.parse(zones) }, models, createMemoryLogger());
  const plain = await open({});
  const both = await plain.detect(img);
  await plain.close();
  t.equal(both.faces.length, 2, 'two faces without zones');
  const left = (b: number[]) => (b[0] + b[2]) / 2 < img.width / 2;

  const right = await open({ include: [[[0.5, 0], [1, 0], [1, 1], [0.5, 1]]] });
  const r = await right.detect(img);
  t.equal(r.faces.length, 1, 'include zone on the right half: one face');
  t.notOk(left(r.faces[0].box), 'the right one');
  t.equal((await right.analyze(img)).faces.length, 2, 'stills (analyze) ignore the zones');
  await right.close();

  const masked = await open({ exclude: [[[0.5, 0], [1, 0], [1, 1], [0.5, 1]]] });
  const m = await masked.detect(img);
  t.equal(m.faces.length, 1, 'mask on the right half: one face');
  t.ok(left(m.faces[0].box), 'the left one');
  await masked.close();

  const cropped = await open({ include: [[[0.5, 0], [1, 0], [1, 1], [0.5, 1]]], cropToZones: true });
  const c = await cropped.detect(img);
  t.equal(c.faces.length, 1, 'cropToZones: the face in the zone is found');
  const ref = both.faces.find((f) => !left(f.box))!;
  t.ok(Math.abs(c.faces[0].box[0] - ref.box[0]) < 8 && Math.abs(c.faces[0].box[1] - ref.box[1]) < 8, `in frame coordinates (${c.faces[0].box.map(Math.round)} vs ${ref.box.map(Math.round)})`);
  await cropped.close();
});
