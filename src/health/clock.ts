/**
 * ClockWatch: has the wall clock jumped? It compares how far the wall clock and the monotonic
 * clock have moved since the process started: they move together unless the wall clock is
 * stepped (NTP after a boot without a real-time clock, an operator, a bad time source). NTP's
 * slewing stays well under the threshold. Pure apart from the clocks, which are passed in.
 */
export interface ClockHealth {
  /** Wall time elapsed minus monotonic time elapsed since start, seconds (negative: stepped back). */
  offsetS: number;
  /** The largest |offsetS| seen since start. */
  largestS: number;
  /** |offsetS| is above health.maxClockDriftS now: the wall clock jumped. */
  jumped: boolean;
  /** Times |offsetS| went above the threshold since start. */
  jumps: number;
  thresholdS: number;
}

export class ClockWatch {
  private readonly wall0: number;
  private readonly mono0: number;
  private largest = 0;
  private jumps = 0;
  private above = false;

  constructor(
    private readonly wall: () => Date,
    private readonly monoMs: () => number,
    private readonly thresholdS: number,
  ) {
    this.wall0 = wall().getTime();
    this.mono0 = monoMs();
  }

  sample(): ClockHealth {
    const offsetMs = this.wall().getTime() - this.wall0 - (this.monoMs() - this.mono0);
    const offsetS = Math.round(offsetMs / 100) / 10;
    const abs = Math.abs(offsetS);
    this.largest = Math.max(this.largest, abs);
    const jumped = abs > this.thresholdS;
    if (jumped && !this.above) this.jumps++;
    this.above = jumped;
    return { offsetS, largestS: this.largest, jumped, jumps: this.jumps, thresholdS: this.thresholdS };
  }
}
