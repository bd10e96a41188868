/**
 * npm run bench [-- part...]: speed and memory figures (not timed tests). Parts: vision, matcher, pipeline, crowd, small-faces, vision-restart.
 * Ratios are measured within one run, since this machine is noisy.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/paths';
import { benchMatcher } from './matcher';
import { benchVision } from './vision';
import { benchPipeline } from './pipeline';
import { benchCrowd } from './crowd';
import { benchSmallFaces } from './small-faces';
import { benchVisionRestart } from './vision-restart';

type Part = (sharedData: string, log: (s: string) => void) => Promise<unknown>;

const PARTS: Record<string, Part> = {
  vision: (d, log) => benchVision(d, log),
  matcher: async (_d, log) => benchMatcher({ print: log }),
  pipeline: (d, log) => benchPipeline(d, log),
  crowd: (d, log) => benchCrowd(d, log),
  'small-faces': (d, log) => benchSmallFaces(d, log),
  'vision-restart': (d, log) => benchVisionRestart(d, log),
};

async function main(): Promise<void> {
  const shared = process.env.LFR_EDGE_SHARED_DATA ?? path.resolve(packageRoot(), '../shared/data');
  if (!existsSync(shared)) {
    console.error(`bench: shared data not found at ${shared} (set LFR_EDGE_SHARED_DATA)`);
    process.exit(2);
  }
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !PARTS[w]);
  if (unknown.length) {
    console.error(`bench: unknown part(s) ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`);
    process.exit(2);
  }
  const results: Record<string, unknown> = {};
  for (const name of wanted.length ? wanted : Object.keys(PARTS)) {
    results[name] = await PARTS[name](shared, (s) => console.log(s));
  }
  if (process.env.BENCH_JSON) console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
