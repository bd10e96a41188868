/** lfr-edge eval identify: open-set 1:N, with first-photo or all-photo enrolment. */
import { evaluateAllPhotoIdentification, evaluateIdentification, planIdentification, type IdentifyResult } from '../../eval/identify';
import { rateKey } from '../../eval/roc';
import { requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { type Values, pct, num, embedFileSets, peopleIn, readablePeople, runFacts } from './shared';

const ENROLMENTS = ['first', 'all'] as const;

export async function identify(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const enrol = values.enrol ?? 'first';
  if (!(ENROLMENTS as readonly string[]).includes(enrol)) throw new UsageError(`--enrol must be 'first' or 'all', got '${enrol}'`);
  const t0 = Date.now();
  const listed = peopleIn(dir, values);
  const excludedImages = listed.excludedImages;
  const planned = planIdentification(listed.people);
  if (planned.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more images, so nobody can be enrolled`);
  const files = listed.people.flatMap((p) => p.images);
  const enrolFiles = planned.gallery.flatMap((g) => g.images);
  const [set, flipped] = await embedFileSets(
    [{ files }, ...(enrol === 'all' ? [{ files: enrolFiles, flipAverage: true, label: 'enrolment photos, flip-averaged' }] : [])],
    values,
    io,
  );
  const people = readablePeople(listed.people, set);
  const plan = planIdentification(people);
  if (plan.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more readable images, so nobody can be enrolled`);
  const plain = (f: string) => set.outcomes.get(f)?.embedding;
  const r = evaluateIdentification(plan, plain);
  const rows: { label: string; key: string; r: IdentifyResult }[] = [{ label: 'first photo', key: 'first', r }];
  if (flipped) {
    const flip = (f: string) => flipped.outcomes.get(f)?.embedding;
    rows.push({ label: 'first photo, flip-averaged', key: 'firstFlipAveraged', r: evaluateIdentification(plan, plain, undefined, flip) });
    rows.push({ label: 'all photos, flip-averaged', key: 'allPhotos', r: evaluateAllPhotoIdentification(plan, plain, flip) });
  }
  const shown = (x: IdentifyResult) => ({ ...x, notReported: x.notReported.map((n) => ({ fpir: rateKey(n.fpir), reason: n.reason })) });
  const result = {
    ...shown(rows[rows.length - 1].r),
    enrol,
    ...(flipped ? { enrolments: Object.fromEntries(rows.map((x) => [x.key, shown(x.r)])) } : {}),
    images: people.reduce((n, p) => n + p.images.length, 0),
    excludedImages,
    ...runFacts(set, t0),
    ...(flipped ? { enrolmentEmbeddingSeconds: flipped.seconds } : {}),
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
      `  detection failures: ${set.noFace.length} image(s) (${r.enrollmentFailures} enrollment); unreadable: ${set.unreadable.length}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}
