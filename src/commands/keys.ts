import { AUTHORITY_KEY_FILES, CENTRAL_KEY_FILES, generateAuthorityKeys, generateCentralKeys, generateUnitKeys, KeyError, loadPublicKey, publicKeyFingerprint, UNIT_KEY_FILES } from '../watchlist/keys';
import path from 'node:path';
import { parse, requireOpt, UsageError, UserError, type Command } from './common';

export const usage = `lfr-edge keys init --dir DIR        make this unit's identity: X25519 (watchlists are encrypted to it)
                                    and Ed25519 (what the unit signs); private keys mode 0600
lfr-edge keys authority --dir DIR   make the central authority's Ed25519 pair (signs bundles and
                                    commands); provision authority-ed25519.pub on every unit
lfr-edge keys central --dir DIR     make the central service's X25519 pair: units seal alert face
                                    crops to central-x25519.pub (mqtt.centralPublicKeyFile)
All refuse to overwrite existing key files.`;

export const keysCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, { dir: { type: 'string' } }, false);
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const dir = requireOpt(values.dir, 'dir');
  try {
    if (sub === 'init') {
      const files = generateUnitKeys(dir);
      for (const f of files) io.stdout(`wrote ${f}\n`);
      const fp = publicKeyFingerprint(loadPublicKey(path.join(dir, UNIT_KEY_FILES.x25519Public)));
      io.stdout(`unit key fingerprint ${fp} (bundles for this unit name it)\n`);
      return 0;
    }
    if (sub === 'authority') {
      const files = generateAuthorityKeys(dir);
      for (const f of files) io.stdout(`wrote ${f}\n`);
      const fp = publicKeyFingerprint(loadPublicKey(path.join(dir, AUTHORITY_KEY_FILES.ed25519Public)));
      io.stdout(`authority key fingerprint ${fp}; keep ${AUTHORITY_KEY_FILES.ed25519Private} offline, copy ${AUTHORITY_KEY_FILES.ed25519Public} to the units\n`);
      return 0;
    }
    if (sub === 'central') {
      const files = generateCentralKeys(dir);
      for (const f of files) io.stdout(`wrote ${f}\n`);
      const fp = publicKeyFingerprint(loadPublicKey(path.join(dir, CENTRAL_KEY_FILES.x25519Public)));
      io.stdout(`central key fingerprint ${fp}; ${CENTRAL_KEY_FILES.x25519Private} stays with central serve, copy ${CENTRAL_KEY_FILES.x25519Public} to the units (scripts/provision --central-key)\n`);
      return 0;
    }
  } catch (err) {
    if (err instanceof KeyError) throw new UserError(err.message);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'ENOTDIR') throw new UserError(`cannot write keys in ${dir}: ${e.message}`);
    throw err;
  }
  throw new UsageError(`unknown keys subcommand '${sub ?? ''}'`);
};
