/** lfr-edge eval identify: open-set 1:N, with first-photo or all-photo enrolment. */
import { evaluateAllPhotoIdentification, evaluateIdentification, planIdentification, type IdentifyResult } from '../../eval/identify';
import { buildFusedCalibration, writeCalibrationFile } from '../../eval/calibration-file';
import { measureFused, type FusedMeasurement } from '../../eval/fused';
import { rateKey } from '../../eval/roc';
import { checkCalibrationModel, readCalibrationFile, type Calibration } from '../../recognition/calibration';
import type { TrackTemplateConfig } from '../../recognition/track-template';
import { configFrom, requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { type Values, pct, num, embedFileSets, peopleIn, readablePeople, runFacts } from './shared';

/** The track templates measured beside the configured one: K and the weighting. */
const FUSED_FRAMES = [1, 2, 3, 5, 8];
/** People with at least this many photos: every K < it fuses K photos. */
const MANY_IMAGES = 6;

const ENROLMENTS = ['first', 'all'] as const;

export async function identify(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const enrol = values.enrol ?? 'first';
  if (!(ENROLMENTS as readonly string[]).includes(enrol)) throw new UsageError(`--enrol must be 'first' or 'all', got '${enrol}'`);
  const calOut = values['calibration-out'];
  const calIn = values['calibration-in'];
  if (calOut && enrol !== 'all') throw new UsageError('--calibration-out needs --enrol all (the fused templates are measured against flip-averaged enrolments)');
  if (calOut && !calIn) throw new UsageError("--calibration-out needs --calibration-in FILE: the calibration whose single-face data the fused templates' are added to (it may be the same file)");
  if (calIn && !calOut) throw new UsageError('--calibration-in is only read to write --calibration-out');
  let calBase: Calibration | undefined;
  if (calIn) {
    try {
      calBase = readCalibrationFile(calIn);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  const tplCfg: TrackTemplateConfig = configFrom(values.config, io).recognition.decision.template;
  const t0 = Date.now();
  const listed = peopleIn(dir, values);
  const excludedImages = listed.excludedImages;
  const planned = planIdentification(listed.people);
  if (planned.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more images, so nobody can be enrolled`);
  const files = listed.people.flatMap((p) => p.images);
  // With --enrol all, the enrolment photos are also embedded flip-averaged, in the same analysis.
  const enrolFiles = new Set(planned.gallery.flatMap((g) => g.images));
  const [set] = await embedFileSets([{ files, ...(enrol === 'all' ? { alsoFlipAveraged: (f: string) => enrolFiles.has(f) } : {}) }], values, io);
  const flipped = enrol === 'all' ? set : undefined;
  const people = readablePeople(listed.people, set);
  const plan = planIdentification(people);
  if (plan.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more readable images, so nobody can be enrolled`);
  const plain = (f: string) => set.outcomes.get(f)?.embedding;
  const r = evaluateIdentification(plan, plain);
  const rows: { label: string; key: string; r: IdentifyResult }[] = [{ label: 'first photo', key: 'first', r }];
  if (flipped) {
    const flip = (f: string) => flipped.outcomes.get(f)?.flipAveraged;
    rows.push({ label: 'first photo, flip-averaged', key: 'firstFlipAveraged', r: evaluateIdentification(plan, plain, undefined, flip) });
    rows.push({ label: 'all photos, flip-averaged', key: 'allPhotos', r: evaluateAllPhotoIdentification(plan, plain, flip) });
  }
  const fused: FusedMeasurement[] = [];
  const fusedMany: FusedMeasurement[] = [];
  let configured: FusedMeasurement | undefined;
  if (flipped) {
    const plainFace = (f: string) => {
      const o = set.outcomes.get(f);
      return o?.embedding && o.quality ? { embedding: o.embedding, quality: o.quality } : undefined;
    };
    const flip = (f: string) => flipped.outcomes.get(f)?.flipAveraged;
    const multi = plan.gallery.map((g) => ({ person: g.person, images: g.images }));
    for (const weighting of ['uniform', 'quality'] as const) {
      for (const frames of FUSED_FRAMES) fused.push(measureFused(multi, plainFace, flip, { ...tplCfg, frames, weighting }));
    }
    // K matters only where a person has more photos than K: the same on people with >= MANY_IMAGES
    const many = multi.filter((p) => p.images.length >= MANY_IMAGES);
    if (many.length >= 2) {
      for (const weighting of ['uniform', 'quality'] as const) {
        for (const frames of FUSED_FRAMES.filter((k) => k < MANY_IMAGES)) fusedMany.push(measureFused(many, plainFace, flip, { ...tplCfg, frames, weighting }));
      }
    }
    configured = fused.find((m) => m.frames === tplCfg.frames && m.weighting === tplCfg.weighting) ?? measureFused(multi, plainFace, flip, tplCfg);
  }
  let calibrationWritten: string | null = null;
  if (calOut && calBase && configured) {
    try {
      checkCalibrationModel(calBase, set.embedderSha256, calIn);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    const cal = buildFusedCalibration(calBase, {
      frames: configured.frames,
      weighting: configured.weighting,
      impostor: configured.impostor,
      source: { command: 'eval identify --enrol all', images: dir, people: configured.people, meanFramesFused: Math.round(configured.meanFramesFused * 100) / 100, weight: tplCfg.weight, protocol: 'enrolment: first image flip-averaged; template: best K of the other images, plain' },
    });
    writeCalibrationFile(calOut, cal);
    calibrationWritten = calOut;
    io.stderr(`calibration written to ${calOut} (fused: ${configured.impostor.count} impostor template pairs, K ${configured.frames}, ${configured.weighting})\n`);
  }
  const fusedRow = (x: FusedMeasurement) => ({ frames: x.frames, weighting: x.weighting, people: x.people, meanFramesFused: Math.round(x.meanFramesFused * 100) / 100, impostorPairs: x.impostor.count, tar: x.tar, thresholds: x.thresholds });
  const shown = (x: IdentifyResult) => ({ ...x, notReported: x.notReported.map((n) => ({ fpir: rateKey(n.fpir), reason: n.reason })) });
  const result = {
    ...shown(rows[rows.length - 1].r),
    enrol,
    ...(flipped ? { enrolments: Object.fromEntries(rows.map((x) => [x.key, shown(x.r)])) } : {}),
    images: people.reduce((n, p) => n + p.images.length, 0),
    excludedImages,
    ...runFacts(set, t0),
    ...(fused.length ? { fused: fused.map(fusedRow), fusedConfigured: { frames: tplCfg.frames, weighting: tplCfg.weighting } } : {}),
    ...(fusedMany.length ? { fusedManyPhotos: { minImages: MANY_IMAGES, rows: fusedMany.map(fusedRow) } } : {}),
    calibrationWritten,
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  const block = ({ label, r: x }: { label: string; r: IdentifyResult }) =>
    `  enrolment: ${label}${x.enrollmentFailures ? ` (${x.enrollmentFailures} without a template)` : ''}\n` +
    `    rank-1 ${pct(x.rank1)}\n` +
    Object.keys(x.tpir).map((k) => `    FPIR ${k.padEnd(5)} TPIR ${pct(x.tpir[k])}  threshold ${num(x.thresholds[k])}\n`).join('') +
    x.notReported.map((n) => `    FPIR ${rateKey(n.fpir).padEnd(5)} not reported: ${n.reason}\n`).join('');
  io.stdout(
    `identify: ${r.enrolled} enrolled, ${r.mated} mated and ${r.nonMated} non-mated searches\n` +
      rows.map(block).join('') +
      (fused.length
        ? `  fused track templates (enrolment: first photo flip-averaged; template: best K of the other photos; ${configured!.people} people):\n` +
          fused.map((x) => `    K ${String(x.frames).padEnd(2)} ${x.weighting.padEnd(7)} (mean ${x.meanFramesFused.toFixed(2)} fused) ` +
            Object.keys(x.tar).map((k) => `TAR@FMR ${k} ${pct(x.tar[k])} (${num(x.thresholds[k])})`).join('  ') + '\n').join('')
        : '') +
      (fusedMany.length
        ? `  the same on people with >= ${MANY_IMAGES} photos (${fusedMany[0].people} people):\n` +
          fusedMany.map((x) => `    K ${String(x.frames).padEnd(2)} ${x.weighting.padEnd(7)} ` +
            Object.keys(x.tar).map((k) => `TAR@FMR ${k} ${pct(x.tar[k])} (${num(x.thresholds[k])})`).join('  ') + '\n').join('')
        : '') +
      `  detection failures: ${set.noFace.length} image(s) (${r.enrollmentFailures} enrollment); unreadable: ${set.unreadable.length}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}
