/**
 * The decision for whatever session is active: a new AlertDecider per session (its threshold,
 * target rate and watchlist size come from the session), none between sessions. The recognition
 * chain talks to this one object for the daemon's whole life.
 */
import type { DecisionConfig } from '../recognition/config';
import { AlertDecider, type Alert, type DecisionBasis, type Observation } from '../recognition/decision';
import type { SessionInfo } from '../session/state';
import type { RgbImage } from '../vision/types';

/** The decision basis of a started session: its threshold and, per quality band, the band's. */
export function decisionBasisOf(info: SessionInfo): DecisionBasis {
  if (info.threshold === undefined) throw new Error('decisionBasisOf: the session has no threshold (it is not active)');
  return {
    threshold: info.threshold,
    falseAlertRate: info.targetFalseAlertRate,
    watchlistSize: info.watchlistSize,
    ...(info.decidingGroup !== undefined ? { decidingGroup: info.decidingGroup } : {}),
    ...(info.calibration?.bands?.length
      ? { bands: info.calibration.bands.map((b) => ({ name: b.name, interOcularPx: b.interOcularPx, sharpness: b.sharpness, threshold: b.threshold, decidingGroup: b.decidingGroup })) }
      : {}),
    ...(info.decision?.fusedThreshold !== undefined ? { fusedThreshold: info.decision.fusedThreshold } : {}),
    ...(info.decision?.fusedDecidingGroup !== undefined ? { fusedDecidingGroup: info.decision.fusedDecidingGroup } : {}),
  };
}

export class SessionDecider {
  private current: AlertDecider | undefined;

  constructor(private readonly cfg: DecisionConfig) {}

  /** A session started: decisions from now on use its basis. */
  begin(basis: DecisionBasis): void {
    this.end();
    this.current = new AlertDecider(this.cfg, basis);
  }

  /** The session ended: every track's evidence and crops are dropped. */
  end(): void {
    this.current?.endAll();
    this.current = undefined;
  }

  /** The active session's threshold (undefined between sessions). */
  get threshold(): number | undefined {
    return this.current?.basis.threshold;
  }

  get active(): boolean {
    return this.current !== undefined;
  }

  observe(obs: Observation): Alert | undefined {
    return this.current?.observe(obs);
  }

  holdsCrop(img: RgbImage): boolean {
    return this.current?.holdsCrop(img) ?? false;
  }

  endTrack(trackId: number): void {
    this.current?.endTrack(trackId);
  }

  endAll(): void {
    this.current?.endAll();
  }
}
