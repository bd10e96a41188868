import t from 'tap';
import { assertTransition, buildRecord, isExpired, newCounters, SessionError, sessionExpiry } from '../../src/session/state';

const WIPE = { ok: true, filesRemoved: ['/run/x'], leftovers: [], keyZeroed: true, at: '2030-01-01T12:00:00.000Z' };

t.test('transitions: idle/ended/aborted -> active -> ended', async (t) => {
  for (const s of ['idle', 'ended', 'aborted'] as const) t.doesNotThrow(() => assertTransition(s, 'active'), `${s} -> active`);
  t.throws(() => assertTransition('active', 'active'), { code: 'session-active' });
  t.doesNotThrow(() => assertTransition('active', 'ended'));
  for (const s of ['idle', 'ended', 'aborted'] as const) t.throws(() => assertTransition(s, 'ended'), new SessionError('no-session', `no session is active (state ${s})`));
});

t.test('expiry is the earlier of bundle expiry and start + max duration', async (t) => {
  const start = new Date('2030-01-01T08:00:00Z');
  t.equal(sessionExpiry(start, '2030-01-01T20:00:00Z', 6).toISOString(), '2030-01-01T14:00:00.000Z');
  t.equal(sessionExpiry(start, '2030-01-01T09:00:00Z', 6).toISOString(), '2030-01-01T09:00:00.000Z');
  t.equal(sessionExpiry(start, '2030-01-01T20:00:00Z', 0.5).toISOString(), '2030-01-01T08:30:00.000Z');
  t.throws(() => sessionExpiry(start, 'soon', 6), /bundle expiry 'soon' is not a date/);
  t.notOk(isExpired({ expiresAt: '2030-01-01T09:00:00.000Z' }, new Date('2030-01-01T08:59:59.999Z')));
  t.ok(isExpired({ expiresAt: '2030-01-01T09:00:00.000Z' }, new Date('2030-01-01T09:00:00Z')), 'expires at the instant, not after');
});

t.test('record counts verdicts; the last verdict for an alert counts', async (t) => {
  const c = newCounters();
  c.facesProcessed = 10;
  c.tracks = 4;
  c.alerts.set('a', 'confirmed').set('b', 'false-alert').set('c', undefined).set('d', 'false-alert');
  const facts = { sessionId: 's', unitId: 'u', bundleId: 'b-12345678', startedAt: '2030-01-01T08:00:00.000Z', expiresAt: 'x', watchlistSize: 3, threshold: 0.4, targetFalseAlertRate: 1e-3 };
  const r = buildRecord(facts, c, 'command', new Date('2030-01-01T12:00:00Z'), WIPE);
  t.same(r, {
    v: 1, sessionId: 's', unitId: 'u', bundleId: 'b-12345678', startedAt: '2030-01-01T08:00:00.000Z', endedAt: '2030-01-01T12:00:00.000Z',
    endedBy: 'command', watchlistSize: 3, threshold: 0.4, targetFalseAlertRate: 1e-3, facesProcessed: 10, tracks: 4,
    alerts: 4, confirmed: 1, falseAlerts: 2, unadjudicated: 1, wipe: WIPE,
  });
  t.notOk('decidingGroup' in r, 'no decidingGroup key when none decided');
});
