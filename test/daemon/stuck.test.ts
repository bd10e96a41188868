import t from 'tap';
import { StuckDetector } from '../../src/daemon/stuck';

t.test('progress keeps it unstuck; failed frames are not progress', async (t) => {
  const d = new StuckDetector(20_000);
  t.same(d.observe({ processed: 0, failed: 0 }, true, 0), { stuck: false, reason: null, idleMs: 0 });
  t.equal(d.observe({ processed: 30, failed: 0 }, true, 1_000).stuck, false);
  t.same(d.observe({ processed: 30, failed: 300 }, true, 11_000), { stuck: false, reason: null, idleMs: 10_000 }, 'failing for 10 s of 20');
  t.same(d.observe({ processed: 30, failed: 600 }, true, 21_000), { stuck: true, reason: 'every frame failed for 20 s (600 frames)', idleMs: 20_000 });
  t.same(d.observe({ processed: 31, failed: 601 }, true, 21_500), { stuck: false, reason: null, idleMs: 0 }, 'one processed frame: not stuck any more');
});

t.test('no frame back at all (a hung stage) is stuck too, with its own reason', async (t) => {
  const d = new StuckDetector(5_000);
  d.observe({ processed: 10, failed: 2 }, true, 100);
  t.same(d.observe({ processed: 10, failed: 2 }, true, 5_100), { stuck: true, reason: 'no frame processed for 5 s', idleMs: 5_000 });
});

t.test('only time while frames are expected counts: a camera outage is not the loop\'s, a flapping camera does not reset the clock', async (t) => {
  const d = new StuckDetector(5_000);
  d.observe({ processed: 10, failed: 0 }, true, 0);
  t.same(d.observe({ processed: 10, failed: 0 }, false, 60_000), { stuck: false, reason: null, idleMs: 0 }, 'camera down for a minute: not counted');
  t.equal(d.observe({ processed: 10, failed: 0 }, true, 61_000).idleMs, 0, 'camera back');
  t.equal(d.observe({ processed: 10, failed: 40 }, true, 64_000).stuck, false, '3 s of failing frames');
  t.equal(d.observe({ processed: 10, failed: 45 }, false, 64_500).stuck, false, 'the camera restarts (a looping file)');
  t.equal(d.observe({ processed: 10, failed: 45 }, true, 65_500).idleMs, 3_000, 'the restart does not reset the clock');
  t.same(d.observe({ processed: 10, failed: 80 }, true, 67_500), { stuck: true, reason: 'every frame failed for 5 s (80 frames)', idleMs: 5_000 });
  t.equal(d.observe({ processed: 10, failed: 80 }, false, 68_000).stuck, true, 'once stuck, a camera restart does not clear it');
  t.equal(d.observe({ processed: 11, failed: 80 }, true, 69_000).stuck, false, 'a processed frame does');
});

t.test('a bad stuckMs is refused, naming it', async (t) => {
  t.throws(() => new StuckDetector(0), new RangeError('StuckDetector: stuckMs must be a positive number of milliseconds, got 0'));
  t.throws(() => new StuckDetector(Number.NaN), /got NaN/);
});
