import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseAlsoShows, parseGroundTruth, scoreAlerts } from '../../src/recognition/ground-truth';

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

t.test('subjects present and found count people, not alerts', async (t) => {
  const gt = parseGroundTruth({ present: ['a', 'b', 'z'] }, 'gt.json');
  const r = scoreAlerts(gt, [{ subject: 'a', videoTimeSec: 1 }, { subject: 'a', videoTimeSec: 2 }], ['a', 'b']);
  t.match(r, { subjectsPresent: 2, subjectsFound: 1, trueAlerts: 2, missed: ['b'] });
});

t.test('"also shows": a photo filed under one person that shows another makes them present while it is in view', async (t) => {
  const list = parseAlsoShows([
    '# comment line',
    '',
    'M/M_0002.jpg  A   # A in the corner',
    'M/M_0002.jpg  C',
  ].join('\n'), 'also.txt');
  t.same([...list.entries()], [['M/M_0002.jpg', ['A', 'C']]]);
  const raw = {
    fps: 25,
    appearances: [
      { person: 'M', enrolled: true, photo: 'M_0002.jpg', first: 100, last: 149 }, // 4-6 s, shows A too
      { person: 'A', enrolled: true, photo: 'A_0002.jpg', first: 250, last: 299 }, // 10-12 s
      { person: 'P', enrolled: false, photo: 'P_0001.jpg', first: 0, last: 49 },
    ],
  };
  const alerts = [{ subject: 'A', videoTimeSec: 5 }, { subject: 'M', videoTimeSec: 5.2 }];
  // Without the list, A's alert while M's photo is in view is false, and A (cooldown: no second alert) is missed.
  const plain = scoreAlerts(parseGroundTruth(raw, 'truth.json'), alerts, ['A', 'M']);
  t.match(plain, { trueAlerts: 1, falseAlerts: 1, falseAlertSubjects: ['A'], missed: ['A'], subjectsFound: 1 });
  t.notOk('trueViaAlsoShown' in plain, 'no list, no count');
  // With it: true, counted apart, and A is found.
  const gt = parseGroundTruth(raw, 'truth.json', list);
  t.same([...gt.alsoPresent!.entries()], [['A', [[4, 149 / 25]]], ['C', [[4, 149 / 25]]]]);
  const r = scoreAlerts(gt, alerts, ['A', 'M']);
  t.match(r, { trueAlerts: 2, trueViaAlsoShown: 1, falseAlerts: 0, missed: [], subjectsPresent: 2, subjectsFound: 2 });
  t.same(r.alerts.map((a) => [a.subject, a.verdict, a.alsoShown ?? false]), [['A', 'true', true], ['M', 'true', false]]);
  // Outside the photo's time (beyond the tolerance) an alert for A is still judged by A's own appearances only.
  t.match(scoreAlerts(gt, [{ subject: 'A', videoTimeSec: 8 }], ['A', 'M']), { falseAlerts: 1, trueViaAlsoShown: 0 });
  // Someone only also shown, never alerted, is not missed; C is not on the watchlist and not listed as such.
  t.notOk(r.notOnWatchlist, 'also-shown people do not appear as "not on the watchlist"');
});

t.test('"also shows": malformed lines and the wrong truth format are refused naming what is wrong', async (t) => {
  t.throws(() => parseAlsoShows('M_0002.jpg A', 'also.txt'), { message: "also.txt:1: expected 'Person/photo.jpg Other_Person ...', got 'M_0002.jpg A'" });
  t.throws(() => parseAlsoShows('ok/ok.jpg B\nM/M_0002.jpg', 'also.txt'), { message: "also.txt:2: expected 'Person/photo.jpg Other_Person ...', got 'M/M_0002.jpg'" });
  t.throws(() => parseAlsoShows('M/M_0002.jpg M', 'also.txt'), { message: 'also.txt:1: M/M_0002.jpg is filed under M already' });
  t.throws(() => parseGroundTruth({ present: ['a'] }, 'gt.json', new Map([['M/M_1.jpg', ['A']]])),
    { message: 'ground truth gt.json: an "also shows" list needs a generator\'s truth.json (appearances that name their photo)' });
});

t.test("the repository's lfw-dev list parses", async (t) => {
  const list = parseAlsoShows(readFileSync(path.resolve(__dirname, '../../docs/lfw-dev-also-shows.txt'), 'utf8'), 'docs/lfw-dev-also-shows.txt');
  t.same(list.get('Princess_Masako/Princess_Masako_0002.jpg'), ['Princess_Aiko']);
});
