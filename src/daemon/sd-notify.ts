/**
 * systemd notification (READY, WATCHDOG, STOPPING, STATUS) through systemd's own sd_notify binding.
 * Does nothing when not under systemd (NOTIFY_SOCKET unset), so the same daemon runs from a shell.
 */
export interface SystemdNotifier {
  readonly active: boolean;
  /** Watchdog interval asked for by the unit (WatchdogSec), 0 when none. Ping at half of it. */
  readonly watchdogMs: number;
  ready(status?: string): void;
  watchdog(): void;
  stopping(status?: string): void;
  status(text: string): void;
}

interface SdNotifyBinding {
  sendState(state: string): void;
}

function loadBinding(): SdNotifyBinding {
  // Loaded only under systemd: a dev machine without the addon built still runs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('sd-notify') as { sendState: (s: string) => void };
  return { sendState: (s) => m.sendState(s) };
}

export function createSystemdNotifier(env: NodeJS.ProcessEnv = process.env, binding?: SdNotifyBinding): SystemdNotifier {
  const active = !!env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC ?? 0);
  const pidOk = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogMs = active && pidOk && usec > 0 ? Math.floor(usec / 1000) : 0;
  const b = active ? (binding ?? loadBinding()) : undefined;
  const send = (state: string) => b?.sendState(state);
  const clean = (s: string) => s.replace(/\n/g, ' ');
  return {
    active,
    watchdogMs,
    ready: (status) => send(status ? `READY=1\nSTATUS=${clean(status)}` : 'READY=1'),
    watchdog: () => send('WATCHDOG=1'),
    stopping: (status) => send(status ? `STOPPING=1\nSTATUS=${clean(status)}` : 'STOPPING=1'),
    status: (text) => send(`STATUS=${clean(text)}`),
  };
}
