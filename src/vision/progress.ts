/** Progress lines on stderr for long runs: done / total, rate, ETA. Throttled; silent when not wanted. */
export interface Progress {
  tick(n?: number): void;
  done(): void;
}

export function createProgress(label: string, total: number, write: ((s: string) => void) | undefined, now: () => number = Date.now, everyMs = 2000): Progress {
  const start = now();
  let count = 0;
  let last = start;
  const line = () => {
    const secs = (now() - start) / 1000;
    const rate = secs > 0 ? count / secs : 0;
    const eta = rate > 0 ? (total - count) / rate : NaN;
    return `${label}: ${count}/${total} (${rate.toFixed(1)}/s${Number.isFinite(eta) ? `, ETA ${Math.ceil(eta)} s` : ''})\n`;
  };
  return {
    tick(n = 1) {
      count += n;
      if (write && now() - last >= everyMs) {
        last = now();
        write(line());
      }
    },
    done() {
      if (write) write(line().replace(/, ETA.*\)/, ')').replace(/\)\n$/, `, ${((now() - start) / 1000).toFixed(1)} s)\n`));
    },
  };
}
