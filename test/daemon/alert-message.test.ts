/** The alert payload states the threshold the score was held to and the quality band it came from. */
import t from 'tap';
import { alertMessage } from '../../src/daemon/alert-message';
import type { Alert } from '../../src/recognition/decision';

const alert: Alert = {
  trackId: 4, subject: { ref: 'S1', category: 'wanted' }, score: 0.71234, bestScore: 0.71234, threshold: 0.43219, band: 'iod-14-20',
  falseAlertRate: 1e-3, watchlistSize: 10, rule: 'min-frames', fused: false, framesOfEvidence: 3, framesSeen: 5, firstSeen: 0, lastSeen: 1000,
  quality: { interOcularPx: 16.44, sharpness: 22.1, yawDeg: 3, pitchDeg: -2, detScore: 0.91, passed: true, reasons: [] },
};
const ctx = { alertId: 'a1', unitId: 'u1', sessionId: 's1', at: new Date('2026-12-02T12:00:00Z') };

t.test('band and threshold of the band', async (t) => {
  const m = alertMessage(alert, ctx);
  t.equal(m.band, 'iod-14-20');
  t.equal(m.threshold, 0.4322);
  t.equal(m.quality.interOcularPx, 16.4);
});

t.test('no band: null, the session threshold', async (t) => {
  const { band: _b, ...plain } = alert;
  const m = alertMessage({ ...plain, threshold: 0.41 }, ctx);
  t.equal(m.band, null);
  t.equal(m.threshold, 0.41);
});

t.test('fused and single-frame alerts say which they are', async (t) => {
  const fused: Alert = { ...alert, rule: 'template', fused: true, templateFrames: 4, framesOfEvidence: 4, threshold: 0.47 };
  delete fused.band;
  t.match(alertMessage(fused, ctx), { threshold: 0.47, rule: 'template', fused: true, templateFrames: 4, evidenceFrames: 4, band: null });
  const single = alertMessage({ ...alert, fused: false }, ctx);
  t.match(single, { rule: 'min-frames', fused: false, evidenceFrames: 3 });
  t.notOk('templateFrames' in single);
});
