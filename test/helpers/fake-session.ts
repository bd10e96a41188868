import type { SessionCommandTarget } from '../../src/comms/commands';
import type { Verdict } from '../../src/comms/messages';

/** Records what the commands asked of the session (the real src/session/ is wired by the daemon). */
export class RecordingSession implements SessionCommandTarget {
  calls: { op: string; args: unknown[] }[] = [];
  refuseBundleWith: (Error & { code?: string }) | undefined;
  startSession(bundle: Buffer, now: Date) {
    this.calls.push({ op: 'start', args: [bundle.toString('utf8'), now.toISOString()] });
    if (this.refuseBundleWith) throw this.refuseBundleWith;
    return { sessionId: 'sess-1', state: 'active' };
  }
  endSession(now: Date) {
    this.calls.push({ op: 'end', args: [now.toISOString()] });
    return { sessionId: 'sess-1', endedBy: 'command' };
  }
  adjudicate(alertId: string, verdict: Verdict) {
    this.calls.push({ op: 'adjudicate', args: [alertId, verdict] });
  }
}
