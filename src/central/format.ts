/** The console view of `central watch`: one readable line per message. Pure. */
import type { AlertMessage, CommandResultMessage, HealthMessage, RecordMessage, SessionMessage, StatusMessage } from '../comms/messages';
import { parseTopic } from '../comms/topics';

function hhmmss(iso: unknown): string {
  const d = typeof iso === 'string' ? new Date(iso) : new Date(NaN);
  return Number.isNaN(d.getTime()) ? '--:--:--' : d.toISOString().slice(11, 19);
}

const pct = (x: number | null | undefined) => (typeof x === 'number' ? `${Math.round(x)}%` : '-');

/** One line for a message, or undefined when the topic is not ours. */
export function formatMessage(topic: string, payload: unknown, retained = false): string | undefined {
  const t = parseTopic(topic);
  if (!t || t.kind === 'cmd') return undefined;
  const p = (payload ?? {}) as Record<string, unknown>;
  const head = `${hhmmss(p.at ?? p.endedAt)} ${t.unitId.padEnd(12)} ${t.kind.toUpperCase().padEnd(10)}`;
  const tail = retained ? ' (retained)' : '';
  switch (t.kind) {
    case 'status': {
      const s = p as unknown as StatusMessage;
      return `${head} ${s.state}${s.state === 'offline' && !s.reason ? ' (connection lost: Last Will)' : ''} v${s.version}${tail}`;
    }
    case 'health': {
      const h = p as unknown as HealthMessage;
      const cam = h.camera ? `camera ${h.camera.state} ${h.camera.fpsIn}/${h.camera.fpsProcessed}/${h.camera.fpsFailed ?? 0}/${h.camera.fpsDropped} fps in/proc/failed/drop` : 'camera -';
      // components not running (vision restarting, camera down ...) and a withheld watchdog are named
      const notRunning = (h.components ?? []).filter((c) => c.state !== 'running').map((c) => `${c.name} ${c.state}${c.restarts ? ` (${c.restarts} restarts)` : ''}${c.reason ? `: ${c.reason}` : ''}`);
      const trouble = [...notRunning, ...(h.watchdog?.withheld ? [`WATCHDOG WITHHELD: ${h.watchdog.reason}`] : [])];
      const temps = Object.values(h.temperaturesC ?? {});
      return `${head} ${cam}, provider ${h.provider ?? '-'}, cpu ${pct(h.cpu?.usagePercent)}, mem ${pct(h.memory?.usedPercent)}, disk ${pct(h.disk?.usedPercent)}, gpu ${pct(h.gpu?.loadPercent)}, max ${temps.length ? Math.max(...temps) : '-'}°C, outbox ${h.outbox?.depth ?? '-'}, session ${h.session?.state ?? '-'}, up ${h.uptimeS}s${trouble.length ? `; ${trouble.join('; ')}` : ''}${tail}`;
    }
    case 'session': {
      const s = p as unknown as SessionMessage;
      return `${head} ${s.state} ${s.sessionId ?? ''}${s.watchlistSize !== undefined ? ` watchlist ${s.watchlistSize}` : ''}${s.threshold !== undefined ? ` threshold ${s.threshold.toFixed(3)} @ false-alert rate ${s.targetFalseAlertRate}` : ''}${s.expiresAt ? ` until ${s.expiresAt}` : ''}${tail}`;
    }
    case 'alert': {
      const a = p as unknown as AlertMessage;
      return `${head} ${a.alertId} subject ${a.subjectRef} (${a.category}) score ${a.score.toFixed(3)} >= ${a.threshold.toFixed(3)}, track ${a.trackId}, ${a.evidenceFrames} frames, iod ${a.quality ? Math.round(a.quality.interOcularPx) + 'px' : '-'}${a.crop ? ', crop attached' : ''}  [c ${a.alertId} | f ${a.alertId}]`;
    }
    case 'record': {
      const r = p as unknown as RecordMessage;
      return `${head} session ${r.sessionId} ${r.startedAt} .. ${r.endedAt} ended by ${r.endedBy}: faces ${r.facesProcessed}, tracks ${r.tracks}, alerts ${r.alerts} (confirmed ${r.confirmed}, false ${r.falseAlerts}, open ${r.unadjudicated}), wipe ${r.wipe?.ok ? 'ok' : 'FAILED'}`;
    }
    case 'cmd-result': {
      const c = p as unknown as CommandResultMessage;
      return `${head} ${c.type ?? '?'} ${c.commandId ?? '?'} ${c.accepted ? 'accepted' : `REFUSED ${c.reason}${c.code ? `/${c.code}` : ''}: ${c.message ?? ''}`}`;
    }
  }
}
