import type { AlertMessage } from '../../src/comms/messages';
import { CROP_SEAL_ALG } from '../../src/comms/crop-seal';

export function testAlert(unitId: string, alertId: string, n: number, crop = false): AlertMessage {
  return {
    v: 1,
    alertId,
    unitId,
    sessionId: 'sess-1',
    subjectRef: `S-${n}`,
    category: 'wanted',
    score: 0.61,
    threshold: 0.42,
    trackId: n,
    evidenceFrames: 3,
    firstSeen: '2025-01-01T10:00:00.000Z',
    lastSeen: '2025-01-01T10:00:01.000Z',
    quality: { interOcularPx: 62, sharpness: 240, yawDeg: 4, pitchDeg: -3, detScore: 0.99 },
    ...(crop ? { crop: { format: 'jpeg' as const, sealed: { alg: CROP_SEAL_ALG, keyFingerprint: '0'.repeat(32), epk: '', nonce: '', ct: Buffer.from(`jpeg-bytes-${n}`).toString('base64') } } } : {}),
    at: '2025-01-01T10:00:01.000Z',
  };
}
