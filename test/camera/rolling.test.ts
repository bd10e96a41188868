import t from 'tap';
import { backoffDelay, RollingCount } from '../../src/camera/rolling';

t.test('counts in the last hour, older events fall out', async (t) => {
  const c = new RollingCount();
  const h = 3_600_000;
  c.add(0);
  c.add(30_000, 2);
  c.add(20 * 60_000);
  t.equal(c.total(20 * 60_000), 4);
  t.equal(c.total(h - 1), 4);
  t.equal(c.total(h + 60_000), 1, 'the first minute has left the window');
  t.equal(c.total(h + 21 * 60_000), 0);
  c.add(3 * h);
  t.equal(c.total(3 * h), 1, 'a reused bucket starts from zero');
});

t.test('backoff doubles up to the cap', async (t) => {
  const o = { initialMs: 500, maxMs: 30000, factor: 2 };
  t.same([0, 1, 2, 3, 6, 7, 20].map((a) => backoffDelay(a, o)), [500, 1000, 2000, 4000, 30000, 30000, 30000]);
});
