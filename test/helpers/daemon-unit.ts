/**
 * What the daemon-level tests (a real `lfr-edge run` or Daemon against a real Mosquitto) start
 * from: the built CLI, a unit's keys and an authority made by it, and the part of the config that
 * points the unit at the test broker. Each test adds its own camera, vision and daemon settings.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths';
import type { MosquittoBroker } from './mosquitto';

/** The built CLI (`npm run build`), as systemd runs it. */
export const cli = path.join(packageRoot(), 'dist', 'src', 'cli.js');

/** Run the built CLI in a child process on the CPU provider; throws with its stderr when it fails. */
export function lfr(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, LFR_EDGE__VISION__PROVIDERS: '["cpu"]', ...env } });
  if (r.status !== 0) throw new Error(`lfr-edge ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export interface UnitKeyDirs {
  /** The unit's key folder (`lfr-edge keys init`). */
  keys: string;
  /** The authority's key folder (`lfr-edge keys authority`). */
  authority: string;
  authorityKeyFile: string;
  authorityPublicFile: string;
}

/** A unit's keys and an authority's, made by the CLI under `dir`. */
export function makeUnitKeys(dir: string): UnitKeyDirs {
  const keys = path.join(dir, 'keys');
  const authority = path.join(dir, 'authority');
  lfr(['keys', 'init', '--dir', keys]);
  lfr(['keys', 'authority', '--dir', authority]);
  return { keys, authority, authorityKeyFile: path.join(authority, 'authority-ed25519.key'), authorityPublicFile: path.join(authority, 'authority-ed25519.pub') };
}

/**
 * `unit`, `paths` and `mqtt` of a unit's config: its id, run and state folders under `dir`, mutual
 * TLS to `broker` with a client certificate for the unit id, fast reconnects, commands signed by
 * the authority. `mqtt` adds to (or overrides) the MQTT part.
 */
export function unitBrokerConfig(o: { unitId: string; dir: string; keys: UnitKeyDirs; broker: MosquittoBroker; healthIntervalS?: number; mqtt?: Record<string, unknown> }) {
  const cert = o.broker.clientCert(o.unitId);
  return {
    unit: { id: o.unitId },
    paths: { runtimeDir: path.join(o.dir, 'run'), stateDir: path.join(o.dir, 'state'), keysDir: o.keys.keys },
    mqtt: {
      url: o.broker.url, tls: { caFile: o.broker.caFile, certFile: cert.cert, keyFile: cert.key },
      healthIntervalS: o.healthIntervalS ?? 1, keepaliveS: 5, reconnectMinS: 0.2, reconnectMaxS: 1,
      commands: { authorityPublicKeyFile: o.keys.authorityPublicFile },
      ...o.mqtt,
    },
  };
}
