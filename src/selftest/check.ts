/**
 * One self-test check's result. `warn` marks a finding that does not fail the unit (ok stays true).
 */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  warn?: boolean;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, ok: true, detail });
export const fail = (name: string, detail: string): CheckResult => ({ name, ok: false, detail });
export const warn = (name: string, detail: string): CheckResult => ({ name, ok: true, warn: true, detail });

/** A check's status word as printed: ok, WARN or FAIL. */
export function statusWord(r: CheckResult): 'ok' | 'WARN' | 'FAIL' {
  if (!r.ok) return 'FAIL';
  return r.warn ? 'WARN' : 'ok';
}

/** Run an async check; an unexpected throw becomes a failure naming the check, never an escape. */
export async function guarded(name: string, run: () => Promise<CheckResult | CheckResult[]>): Promise<CheckResult[]> {
  try {
    const r = await run();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    return [fail(name, (err as Error).message)];
  }
}

/** Reject after ms with a message saying what timed out. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
