/**
 * `lfr-edge selftest`: every check the unit needs before it is put to work, as small functions
 * returning {name, ok, detail}. The slow ones (models, camera, broker) run side by side; results
 * come back in a fixed order.
 */
import type { Config } from '../config';
import type { Logger } from '../log';
import { checkBroker } from './broker';
import { checkCamera } from './camera';
import { guarded, type CheckResult } from './check';
import { checkAuthorityKey, checkCentralKey, checkUnitKeys } from './keys';
import { cropsEnabled } from '../comms/config';
import { checkDisk, checkRuntimeDir, DEFAULT_MIN_FREE_BYTES, evaluateClock, probeClock } from './system';
import { checkVision, defaultSampleImage } from './vision';

export type { CheckResult } from './check';
export { statusWord } from './check';

export interface SelftestOptions {
  logger: Logger;
  /** Free bytes the state directory needs. */
  minFreeBytes?: number;
  /** Bound for the camera's first frame and the broker's CONNACK. */
  timeoutMs?: number;
  /** A photo with exactly one face. */
  sampleImage?: string;
  /** The user the keys must belong to (default: this process's). */
  uid?: number;
}

export async function runSelftest(cfg: Config, opts: SelftestOptions): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const quick = [
    ...(await guarded('unit keys', async () => checkUnitKeys(cfg.paths.keysDir, uid))),
    ...(await guarded('authority key', async () => checkAuthorityKey(cfg.mqtt.commands.authorityPublicKeyFile))),
    ...(await guarded('central key', async () => checkCentralKey(cfg.mqtt.centralPublicKeyFile, cropsEnabled(cfg.mqtt)))),
    ...(await guarded('clock', async () => evaluateClock(await probeClock()))),
    ...(await guarded('disk space', async () => checkDisk(cfg.paths.stateDir, opts.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES))),
    ...(await guarded('runtime dir', async () => checkRuntimeDir(cfg.paths.runtimeDir))),
  ];
  const [vision, camera, broker] = await Promise.all([
    guarded('models', () => checkVision(cfg, opts.logger, opts.sampleImage ?? defaultSampleImage())),
    guarded('camera', () => checkCamera(cfg.camera, opts.logger, timeoutMs)),
    guarded('broker', () => checkBroker(cfg.mqtt, cfg.unit.id, timeoutMs)),
  ]);
  return [...quick, ...vision, ...camera, ...broker];
}
