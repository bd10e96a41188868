/** What the eval subcommands share: options, embedding the images, plots, calibration, tables. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config';
import { buildCalibration, writeCalibrationFile, type MeasuredDistribution } from '../../eval/calibration-file';
import { embedImageSet, type EmbeddedSet } from '../../eval/embed-set';
import { applyExclusions, parseExclusions } from '../../eval/exclude';
import { type PersonImages } from '../../eval/identify';
import { rateKey, type FarNotReported, type FarOperatingPoint } from '../../eval/roc';
import { createStderrLogger } from '../../log';
import { verifyModels } from '../../models/manifest';
import { listPeople } from '../../vision/files';
import { decodeImageFile } from '../../vision/image';
import { createProgress } from '../../vision/progress';
import { VisionWorker } from '../../vision/worker-client';
import { configFrom, parse, UsageError, UserError, type CommandIO } from '../common';

export const FAR_LEVELS_PAIRS = [1e-2, 1e-3, 1e-4];
export const FAR_LEVELS_ALL = [1e-2, 1e-3, 1e-4, 1e-5];

export const OPTIONS = {
  images: { type: 'string' },
  pairs: { type: 'string' },
  demographics: { type: 'string' },
  far: { type: 'string' },
  threshold: { type: 'string' },
  'max-per-person': { type: 'string' },
  bootstrap: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  'calibration-out': { type: 'string' },
  exclude: { type: 'string' },
  workers: { type: 'string' },
  config: { type: 'string' },
  enrol: { type: 'string' },
  // eval quality
  mated: { type: 'string' },
  'non-mated': { type: 'string' },
  copies: { type: 'string' },
  bands: { type: 'string' },
  'iod-range': { type: 'string' },
  frame: { type: 'string' },
  detector: { type: 'string' },
  'calibration-in': { type: 'string' },
  'track-frames': { type: 'string' },
} as const;

/** Options only `eval quality` reads: refused elsewhere rather than silently ignored. */
export const QUALITY_ONLY = ['mated', 'non-mated', 'copies', 'bands', 'iod-range', 'frame', 'detector', 'track-frames'] as const;

export type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

export function intOpt(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

export function listOpt(v: string, name: string, lo: number, hi: number, loOpen: boolean): number[] {
  return v.split(',').map((s) => {
    const x = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(x) || x > hi || x < lo || (loOpen && x === lo)) {
      throw new UsageError(`--${name}: '${s}' is not a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`);
    }
    return x;
  });
}

export const pct = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(d)}%`);
export const num = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));

export interface Vision {
  workers: VisionWorker[];
  provider: string;
  embedderSha256: string;
}

export async function openWorkers(cfg: Config, n: number): Promise<Vision> {
  const models = verifyModels(cfg.models);
  const logger = createStderrLogger('warn');
  const workers: VisionWorker[] = [];
  try {
    for (let i = 0; i < n; i++) workers.push(await VisionWorker.start(cfg.vision, models, logger, { logLevel: 'warn' }));
  } catch (err) {
    await Promise.all(workers.map((w) => w.close()));
    throw err;
  }
  return { workers, provider: workers[0].provider, embedderSha256: models.embedderSha256 };
}

export async function embedFiles(files: string[], values: Values, io: CommandIO): Promise<EmbeddedSet & { provider: string; embedderSha256: string }> {
  const [set] = await embedFileSets([{ files }], values, io);
  return set;
}

/**
 * Embed several sets of files with one set of workers: e.g. every image plainly (searches, as the
 * live unit sees a face) and the enrolment photos flip-averaged (as the unit enrols).
 */
export async function embedFileSets(
  sets: { files: string[]; flipAverage?: boolean; alsoFlipAveraged?: (file: string) => boolean; label?: string }[],
  values: Values,
  io: CommandIO,
): Promise<(EmbeddedSet & { provider: string; embedderSha256: string })[]> {
  const cfg = configFrom(values.config, io);
  const vision = await openWorkers(cfg, intOpt(values.workers, 'workers', 2, 1));
  try {
    const out: (EmbeddedSet & { provider: string; embedderSha256: string })[] = [];
    for (const s of sets) {
      const progress = createProgress(s.label ?? 'embedding images', new Set(s.files).size, io.stderr);
      const set = await embedImageSet(s.files, vision.workers, {
        decode: decodeImageFile,
        progress,
        flipAverage: s.flipAverage,
        ...(s.alsoFlipAveraged ? { alsoFlipAveraged: s.alsoFlipAveraged } : {}),
        // an unreadable file is reported once (the first pass reads every file)
        onUnreadable: (_file, error) => (out.length === 0 ? io.stderr(`lfr-edge eval: ${error} (skipped)\n`) : undefined),
      });
      progress.done();
      out.push({ ...set, provider: vision.provider, embedderSha256: vision.embedderSha256 });
    }
    return out;
  } finally {
    await Promise.all(vision.workers.map((w) => w.close()));
  }
}

export function peopleIn(dir: string, values: Values): { people: PersonImages[]; excludedImages: number } {
  let people: PersonImages[];
  try {
    people = listPeople(dir);
  } catch (err) {
    throw new UserError(`${(err as Error).message}; --images must be a folder with one sub-folder per person`);
  }
  people = people.filter((p) => p.images.length > 0);
  if (people.length === 0) throw new UserError(`${dir} has no person folders with images (expected DIR/<person>/<image files>)`);
  if (!values.exclude) return { people, excludedImages: 0 };
  let text: string;
  try {
    text = readFileSync(values.exclude, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read exclusion list ${values.exclude}: ${(err as Error).message}`);
  }
  let list;
  try {
    list = parseExclusions(text, values.exclude);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  return applyExclusions(people, list, (f) => path.relative(dir, f).split(path.sep).join('/'));
}

/** The people and images that could be read (unreadable files are reported and left out). */
export function readablePeople(people: readonly PersonImages[], set: EmbeddedSet): PersonImages[] {
  return people
    .map((p) => ({ person: p.person, images: p.images.filter((f) => !set.outcomes.get(f)?.error) }))
    .filter((p) => p.images.length > 0);
}

export function writePlot(file: string, svg: string, io: CommandIO): void {
  writeFileSync(file, svg);
  io.stderr(`chart written to ${file}\n`);
}

export function writeCalibration(file: string | undefined, embedderSha256: string, source: Record<string, unknown>, impostor: MeasuredDistribution, io: CommandIO, groups?: Map<string, MeasuredDistribution>): string | null {
  if (!file) return null;
  const cal = buildCalibration({ embedderSha256, createdAt: new Date(), source, impostor, groups });
  writeCalibrationFile(file, cal);
  io.stderr(`calibration written to ${file} (${cal.impostor.count} impostor pairs${cal.groups ? `, ${Object.keys(cal.groups).length} groups` : ''})\n`);
  return file;
}

export function farTables(points: FarOperatingPoint[], notReported: FarNotReported[], levels: number[]) {
  const tar: Record<string, number | null> = {};
  const thresholds: Record<string, number | null> = {};
  for (const f of levels) {
    const p = points.find((x) => x.far === f);
    tar[rateKey(f)] = p ? p.tar : null;
    thresholds[rateKey(f)] = p ? p.threshold : null;
  }
  return { tar, thresholds, notReported: notReported.map((n) => ({ far: rateKey(n.far), reason: n.reason })) };
}

/** What every eval run reports about itself: failures, the provider, the time taken. */
export function runFacts(set: EmbeddedSet & { provider: string }, t0: number) {
  return {
    detectionFailures: set.noFace.length,
    unreadable: set.unreadable.length,
    unreadableFiles: set.unreadable.map((u) => u.file),
    provider: set.provider,
    seconds: { embedding: set.seconds, total: (Date.now() - t0) / 1000 },
  };
}
