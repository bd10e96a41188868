/**
 * AnalyzeOptions.embed 'quality-passing' (the live chain's mode): faces failing the quality gate
 * are not embedded; everything else is as with 'all' (the default: eval, embed, watchlist photos).
 * Run through the worker, so the option's way to the analyzer is covered too.
 */
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { verifyModels } from '../../src/models/manifest';
import { decodeImageFile } from '../../src/vision/image';
import { VisionWorker } from '../../src/vision/worker-client';
import { needsSharedData, sharedData } from '../helpers/data';

t.test("embed 'quality-passing' skips the embedder for quality-failing faces only", needsSharedData('group'), async (t) => {
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });
  const img = await decodeImageFile(sharedData('group', 'bbt1.jpg'));
  // Make the gate fail about half of the group's faces: the median inter-ocular distance as the minimum.
  const probe = await VisionWorker.start(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  const sizes = (await probe.analyze(img)).faces.map((f) => f.quality.interOcularPx).sort((a, b) => a - b);
  await probe.close();
  t.ok(sizes.length >= 3, `${sizes.length} faces in the group photo`);
  const vcfg = { ...cfg.vision, quality: { ...cfg.vision.quality, minInterOcularPx: sizes[Math.floor(sizes.length / 2)] } };
  const vision = await VisionWorker.start(vcfg, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => vision.close());

  const all = await vision.analyze(img);
  const gated = await vision.analyze(img, { embed: 'quality-passing' });
  t.equal(gated.faces.length, all.faces.length, 'the same faces are found');
  const failing = all.faces.filter((f) => !f.quality.passed).length;
  t.ok(failing > 0 && failing < all.faces.length, `${failing} of ${all.faces.length} faces fail the gate`);
  t.ok(all.faces.every((f) => f.embedding.length === 512), "'all' embeds every face");
  gated.faces.forEach((f, i) => {
    const ref = all.faces[i];
    t.same(f.box, ref.box);
    t.same(f.quality, ref.quality);
    if (f.quality.passed) t.same([...f.embedding], [...ref.embedding], `face ${i} (passing): the same embedding`);
    else t.equal(f.embedding.length, 0, `face ${i} (failing): not embedded`);
  });
  t.ok(gated.times.embedRun < all.times.embedRun, `embedder time ${gated.times.embedRun.toFixed(1)} < ${all.times.embedRun.toFixed(1)} ms`);
});
