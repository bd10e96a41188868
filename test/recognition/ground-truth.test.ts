import t from 'tap';
import { parseGroundTruth, scoreAlerts } from '../../src/recognition/ground-truth';

t.test('subjects only: alerts are true when the subject appears at all', async (t) => {
  const gt = parseGroundTruth({ present: ['a', 'b', 'z'] }, 'gt.json');
  const r = scoreAlerts(gt, [{ subject: 'a', videoTimeSec: 3 }, { subject: 'c', videoTimeSec: 4 }], ['a', 'b', 'c']);
  t.match(r, { trueAlerts: 1, falseAlerts: 1, falseAlertSubjects: ['c'], missed: ['b'], notOnWatchlist: ['z'] });
});

t.test('with intervals: an alert outside them (beyond the tolerance) is false, and the subject is missed', async (t) => {
  const gt = parseGroundTruth({ present: { a: [[5, 9]], b: null }, toleranceSec: 0.5 }, 'gt.json');
  const r = scoreAlerts(gt, [
    { subject: 'a', videoTimeSec: 2 }, { subject: 'b', videoTimeSec: 1 }, { subject: 'a', videoTimeSec: 9.4 },
  ], ['a', 'b']);
  t.same(r.alerts.map((a) => a.verdict), ['false', 'true', 'true']);
  t.match(r, { trueAlerts: 2, falseAlerts: 1, missed: [] });
  t.same(scoreAlerts(gt, [{ subject: 'a', videoTimeSec: 12 }], ['a', 'b']).missed, ['a', 'b']);
});

t.test('malformed files say what is expected', async (t) => {
  t.throws(() => parseGroundTruth({ present: 'everyone' }, 'gt.json'), { message: /^ground truth gt\.json: expected \{"present": \["subject", \.\.\.\]\}/ });
  t.throws(() => parseGroundTruth({ present: { a: [[9, 5]] } }, 'gt.json'), { message: "ground truth gt.json: intervals of 'a' must be [[fromSec, toSec], ...] with from <= to" });
  t.throws(() => parseGroundTruth({ present: [], toleranceSec: -1 }, 'gt.json'), { message: 'ground truth gt.json: toleranceSec must be a number >= 0' });
});
