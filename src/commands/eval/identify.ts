/** lfr-edge eval identify: open-set 1:N. */
import { evaluateIdentification, planIdentification } from '../../eval/identify';
import { rateKey } from '../../eval/roc';
import { requireOpt, UserError, type CommandIO } from '../common';
import { type Values, pct, num, embedFiles, peopleIn, readablePeople, runFacts } from './shared';

export async function identify(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const t0 = Date.now();
  const listed = peopleIn(dir, values);
  const excludedImages = listed.excludedImages;
  if (planIdentification(listed.people).gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more images, so nobody can be enrolled`);
  const set = await embedFiles(listed.people.flatMap((p) => p.images), values, io);
  const people = readablePeople(listed.people, set);
  const plan = planIdentification(people);
  if (plan.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more readable images, so nobody can be enrolled`);
  const r = evaluateIdentification(plan, (f) => set.outcomes.get(f)?.embedding);
  const result = {
    ...r,
    notReported: r.notReported.map((n) => ({ fpir: rateKey(n.fpir), reason: n.reason })),
    images: people.reduce((n, p) => n + p.images.length, 0),
    excludedImages,
    ...runFacts(set, t0),
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  io.stdout(
    `identify: ${r.enrolled} enrolled, ${r.mated} mated and ${r.nonMated} non-mated searches\n` +
      `  rank-1 ${pct(r.rank1)}\n` +
      Object.keys(r.tpir).map((k) => `  FPIR ${k.padEnd(5)} TPIR ${pct(r.tpir[k])}  threshold ${num(r.thresholds[k])}\n`).join('') +
      r.notReported.map((n) => `  FPIR ${rateKey(n.fpir).padEnd(5)} not reported: ${n.reason}\n`).join('') +
      `  detection failures: ${set.noFace.length} image(s) (${r.enrollmentFailures} enrollment); unreadable: ${set.unreadable.length}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}
