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

t.test("the generators' truth.json: enrolled appearances in frames at fps, passers-by left out", async (t) => {
  const raw = {
    fps: 25, frames: 200,
    appearances: [
      { person: 'A', enrolled: true, photo: 'A_0002.jpg', first: 0, last: 39 },
      { person: 'P', enrolled: false, photo: 'P_0001.jpg', first: 10, last: 49 },
      { person: 'A', enrolled: true, photo: 'A_0002.jpg', first: 100, last: 149 },
    ],
  };
  const gt = parseGroundTruth(raw, 'truth.json');
  t.same([...gt.present.entries()], [['A', [[0, 39 / 25], [4, 149 / 25]]]]);
  t.equal(gt.toleranceSec, 1);
  const r = scoreAlerts(gt, [{ subject: 'A', videoTimeSec: 1.2 }, { subject: 'A', videoTimeSec: 2.8 }, { subject: 'B', videoTimeSec: 1 }], ['A', 'B']);
  t.match(r, { trueAlerts: 1, falseAlerts: 2, falseAlertSubjects: ['A', 'B'], missed: [] });
  t.throws(() => parseGroundTruth({ appearances: [] }, 'truth.json'), { message: 'ground truth truth.json: "fps" must be a number > 0 with "appearances"' });
  t.throws(() => parseGroundTruth({ fps: 25, appearances: [{ person: 'A', first: 9, last: 2 }] }, 'truth.json'),
    { message: 'ground truth truth.json: appearances[0] must be {"person": string, "first": frame, "last": frame} with first <= last' });
});
