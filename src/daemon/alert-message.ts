/** Pure: a track-level Alert (recognition) -> the `alert` MQTT payload (comms). */
import type { SealedCrop } from '../comms/crop-seal';
import type { AlertMessage } from '../comms/messages';
import type { Alert } from '../recognition/decision';

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

export function alertMessage(
  alert: Alert,
  ctx: { alertId: string; unitId: string; sessionId: string; at: Date; sealedCrop?: SealedCrop },
): AlertMessage {
  const q = alert.quality;
  const msg: AlertMessage = {
    v: 1,
    alertId: ctx.alertId,
    unitId: ctx.unitId,
    sessionId: ctx.sessionId,
    subjectRef: alert.subject.ref,
    category: alert.subject.category,
    score: round(alert.score, 4),
    threshold: round(alert.threshold, 4),
    band: alert.band ?? null,
    rule: alert.rule,
    fused: alert.fused,
    ...(alert.templateFrames !== undefined ? { templateFrames: alert.templateFrames } : {}),
    trackId: alert.trackId,
    evidenceFrames: alert.framesOfEvidence,
    firstSeen: new Date(alert.firstSeen).toISOString(),
    lastSeen: new Date(alert.lastSeen).toISOString(),
    quality: {
      interOcularPx: round(q.interOcularPx, 1),
      sharpness: round(q.sharpness, 1),
      yawDeg: round(q.yawDeg, 1),
      pitchDeg: round(q.pitchDeg, 1),
      detScore: round(q.detScore, 4),
    },
    at: ctx.at.toISOString(),
  };
  if (ctx.sealedCrop && alert.crop) {
    msg.crop = { format: 'jpeg', sealed: ctx.sealedCrop, width: alert.crop.width, height: alert.crop.height };
  }
  return msg;
}
