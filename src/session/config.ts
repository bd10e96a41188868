import { z } from 'zod';
import { CalibrationPolicySchema } from './calibration-policy';

/** A session never lasts longer than this, whatever the configuration or the bundle says. */
export const MAX_SESSION_HOURS = 12;

export const SessionConfigSchema = z.strictObject({
  /**
   * Longest a deployment session may run, in hours; it ends by itself (and wipes) after this or at
   * the bundle's expiry, whichever is first. Default 6, never more than 12.
   */
  maxDurationHours: z
    .number()
    .positive('session.maxDurationHours must be more than 0')
    .max(MAX_SESSION_HOURS, `session.maxDurationHours may not exceed ${MAX_SESSION_HOURS} hours`)
    .default(6),
  /**
   * Target false-alert rate: the probability that a face NOT on the watchlist passing the camera
   * raises an alert. Default 1e-3 (about one false alert per 1,000 passers-by for an officer to
   * dismiss). The threshold is calibrated for this rate and the watchlist size.
   */
  falseAlertRate: z.number().gt(0, 'session.falseAlertRate must be more than 0').max(0.1, 'session.falseAlertRate above 0.1 makes alerts meaningless').default(1e-3),
  /** The calibration (impostor score distributions, overall and per group) that thresholds come from. */
  calibrationFile: z.string().min(1).default('models/calibration.json'),
  /**
   * What the calibration must contain before a session may start (the embedder sha256 must always
   * match): required demographic groups, minimum impostor pairs per required group, maximum age.
   * A session whose calibration fails it is refused with the reason.
   */
  calibrationPolicy: CalibrationPolicySchema.prefault({}),
  /**
   * How often a running session's counts (faces, tracks, alerts, verdicts: numbers only) and a
   * sign of life are written to the crash marker, in seconds; alerts and verdicts are written at
   * the next session check (daemon.expiryCheckS). After a kill -9 or power cut the aborted
   * session's record carries these counts and that time.
   */
  heartbeatS: z.number().min(1, 'session.heartbeatS must be at least 1').max(600).default(10),
  /** Keep subject names from the bundle (when it carries them). Default: references and categories only. */
  namesAllowed: z.boolean().default(false),
});
export type SessionConfig = z.infer<typeof SessionConfigSchema>;
