/**
 * lfr-edge watchlist build | inspect | verify: the central-side tool that makes a unit's bundle from
 * photos, and the field engineer's checks on a bundle file.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createLogger } from '../log';
import { verifyModels } from '../models/manifest';
import { decodeImageFile } from '../vision/image';
import { openVision } from '../vision/open';
import { BundleBuildError, BundleRefusedError, buildBundle, readBundleHeader, verifyAndOpenBundle, zeroSubjects, type BundleHeader } from '../watchlist/bundle';
import { CATEGORY_PATTERN, MAX_BUNDLE_LIFETIME_MS, SESSION_ID_PATTERN, type WatchlistSubject } from '../watchlist/bundle-format';
import { readUsedBundleIds, usedBundleIdsPath } from '../watchlist/bundle-ledger';
import { judgeEnrolmentPhoto, listSubjectPhotos, NAME_FILE, parseDuration } from '../watchlist/bundle-photos';
import { KeyError, loadPrivateKey, loadPublicKey, loadUnitKeys, publicKeyFingerprint } from '../watchlist/keys';
import { meanTemplate } from '../recognition/template';
import { configFrom, parse, requireOpt, UsageError, UserError, type Command, type CommandIO } from './common';

export const usage = `lfr-edge watchlist build --photos DIR --unit-pub FILE --authority-key FILE --out FILE
      [--session-id ID] [--expires-in 6h] [--category NAME] [--unit-id ID] [--skip-bad] [--names]
      [--config FILE]
  Enrols DIR/<subject-ref>/<photos> with the unit's vision pipeline (one or more photos per
  subject; each subject is one template: the mean of its photos' embeddings, each photo
  averaged with its mirror image) and writes a bundle encrypted to the unit (unit-x25519.pub) and signed by the
  authority (authority-ed25519.key). A photo with no face, several faces or a face failing the
  quality gate is refused (report on stderr); any refusal stops the build unless --skip-bad.
  --expires-in: 6h by default, at most 12h. --category: for every subject (default "watchlist").
  --names: include each subject's name from DIR/<ref>/${NAME_FILE} (by default no names).
lfr-edge watchlist inspect FILE [--json]
  Prints the bundle's header (never the embeddings); the signature is not checked.
lfr-edge watchlist verify FILE --unit-dir DIR --authority-pub FILE [--config FILE]
  Runs every check the unit makes before accepting the bundle (size, format, signature, unit,
  expiry, embedding model, replay, decryption, content) without starting a session.
  Exit 0, or 1 with the reason on stderr.`;

function keyOrUserError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyError) throw new UserError(err.message);
    throw err;
  }
}

function readBundleFile(file: string, maxBytes?: number): Buffer {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new UserError(`cannot read bundle ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (maxBytes !== undefined && size > maxBytes) {
    // Refused before reading, as the unit does.
    throw new BundleRefusedError('too-large', `bundle is ${size} bytes, more than the configured limit of ${maxBytes} (watchlist.maxBundleBytes)`);
  }
  return readFileSync(file);
}

function describeHeader(h: BundleHeader, bytes: number, now: Date): string {
  const left = Date.parse(h.expiresAt) - now.getTime();
  const rows: [string, string][] = [
    ['bundle id', h.bundleId],
    ['format', `v${h.v}, ${bytes} bytes`],
    ['unit key', h.unitFingerprint + (h.unitId ? ` (unit ${h.unitId})` : '')],
    ['session', h.sessionId],
    ['created', h.createdAt],
    ['expires', `${h.expiresAt} (${left > 0 ? `in ${(left / 3600e3).toFixed(1)} h` : 'EXPIRED'})`],
    ['model', `embedding model sha256 ${h.embeddingModelSha256}`],
    ['subjects', `${h.count}, ${h.dimension}-d embeddings`],
    ['categories', h.categories.join(', ')],
  ];
  return rows.map(([k, v]) => `${k.padEnd(11)} ${v}\n`).join('');
}

const inspect = (rest: string[], io: CommandIO): number => {
  const { values, positionals } = parse(rest, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('watchlist inspect takes exactly one FILE');
  const bytes = readBundleFile(positionals[0]);
  const header = readBundleHeader(bytes);
  if (values.json) io.stdout(JSON.stringify(header, null, 2) + '\n');
  else io.stdout(describeHeader(header, bytes.length, new Date()));
  io.stderr(`signature not checked: run 'lfr-edge watchlist verify' with the unit's keys for that\n`);
  return 0;
};

const verifyCmd = (rest: string[], io: CommandIO): number => {
  const { values, positionals } = parse(rest, { 'unit-dir': { type: 'string' }, 'authority-pub': { type: 'string' }, config: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('watchlist verify takes exactly one FILE');
  const unitDir = requireOpt(values['unit-dir'], 'unit-dir');
  const authorityPub = requireOpt(values['authority-pub'], 'authority-pub');
  const cfg = configFrom(values.config, io);
  const unitKeys = keyOrUserError(() => loadUnitKeys(unitDir));
  const authorityPublic = keyOrUserError(() => loadPublicKey(authorityPub, ['ed25519']));
  const { embedderSha256 } = verifyModels(cfg.models);
  const ledger = usedBundleIdsPath(cfg.paths.stateDir, cfg.watchlist.usedBundleIdsFile);
  const used = readUsedBundleIds(ledger);
  const now = new Date();
  const bytes = readBundleFile(positionals[0], cfg.watchlist.maxBundleBytes);
  const opened = verifyAndOpenBundle(bytes, {
    unitKeys,
    authorityPublic,
    now,
    embeddingModelSha256: embedderSha256,
    isBundleIdUsed: (id) => used.has(id),
    maxBytes: cfg.watchlist.maxBundleBytes,
    unitId: cfg.unit.id,
  });
  const embeddings = opened.subjects.reduce((n, s) => n + s.embeddings.length, 0);
  const named = opened.subjects.filter((s) => s.name !== undefined).length;
  zeroSubjects(opened.subjects);
  io.stdout(describeHeader(opened.header, bytes.length, now));
  io.stdout(
    `ok: signed by authority ${publicKeyFingerprint(authorityPublic)}, for this unit, decrypts: ` +
      `${opened.subjects.length} subjects, ${embeddings} embeddings, ${named ? `${named} with names` : 'no names'}` +
      `${existsSync(ledger) ? '' : ` (no used-bundle ledger at ${ledger}: replay not checked against this unit's history)`}\n`,
  );
  return 0;
};

interface BuildOptions {
  photos: string;
  out: string;
  sessionId: string;
  expiresInMs: number;
  category: string;
  skipBad: boolean;
  names: boolean;
}

const build = async (rest: string[], io: CommandIO): Promise<number> => {
  const { values, positionals } = parse(
    rest,
    {
      photos: { type: 'string' },
      'unit-pub': { type: 'string' },
      'authority-key': { type: 'string' },
      out: { type: 'string' },
      'session-id': { type: 'string' },
      'expires-in': { type: 'string', default: '6h' },
      category: { type: 'string', default: 'watchlist' },
      'unit-id': { type: 'string' },
      'skip-bad': { type: 'boolean', default: false },
      names: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    false,
  );
  if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const expiresInMs = parseDuration(values['expires-in']);
  if (expiresInMs === undefined || expiresInMs <= 0) throw new UsageError(`--expires-in '${values['expires-in']}' is not a duration such as 6h, 90m or 1h30m`);
  if (expiresInMs > MAX_BUNDLE_LIFETIME_MS) throw new UsageError(`--expires-in ${values['expires-in']} is longer than the 12h a session may last`);
  const sessionId = values['session-id'] ?? `s-${randomUUID()}`;
  if (!SESSION_ID_PATTERN.test(sessionId)) throw new UsageError(`--session-id '${sessionId}' must be 1-64 letters, digits, "_", ".", ":" or "-"`);
  if (!CATEGORY_PATTERN.test(values.category)) throw new UsageError(`--category '${values.category}' must be 1-64 letters, digits, "_" or "-"`);
  const opts: BuildOptions = {
    photos: requireOpt(values.photos, 'photos'),
    out: requireOpt(values.out, 'out'),
    sessionId,
    expiresInMs,
    category: values.category,
    skipBad: values['skip-bad'],
    names: values.names,
  };
  const unitPub = keyOrUserError(() => loadPublicKey(requireOpt(values['unit-pub'], 'unit-pub'), ['x25519']));
  const authority = keyOrUserError(() => loadPrivateKey(requireOpt(values['authority-key'], 'authority-key'), ['ed25519']));
  if (existsSync(opts.out)) throw new UserError(`${opts.out} already exists; remove it or choose another --out`);
  let subjectsFound;
  try {
    subjectsFound = listSubjectPhotos(opts.photos, opts.names);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const cfg = configFrom(values.config, io);
  const { embedderSha256 } = verifyModels(cfg.models);

  const total = subjectsFound.reduce((n, s) => n + s.photos.length, 0);
  const subjects: WatchlistSubject[] = [];
  const refusedPhotos: string[] = [];
  const droppedSubjects: string[] = [];
  let done = 0;
  let photosUsed = 0;
  // through io.stderr (not process.stderr): a caller that captures the command's output (the demo) captures these too
  const vision = await openVision(cfg, createLogger({ level: 'warn', write: (l) => io.stderr(l + '\n') }));
  try {
    for (const s of subjectsFound) {
      for (const f of s.ignored) io.stderr(`  ${s.ref}/${f}: ignored (not an image file)\n`);
      if (s.photos.length === 0) {
        io.stderr(`  ${s.ref}: REFUSED: no photos in the folder\n`);
        droppedSubjects.push(s.ref);
        continue;
      }
      const embeddings: Float32Array[] = [];
      for (const photo of s.photos) {
        done++;
        const label = `[${done}/${total}] ${s.ref}/${photo.slice(photo.lastIndexOf('/') + 1)}`;
        let verdict;
        try {
          const img = await decodeImageFile(photo);
          verdict = judgeEnrolmentPhoto((await vision.analyze(img, { transfer: true, flipAverage: true })).faces);
        } catch (err) {
          verdict = { ok: false as const, reason: (err as Error).message };
        }
        if (verdict.ok) {
          const q = verdict.face.quality;
          embeddings.push(verdict.face.embedding);
          io.stderr(`${label}: ok (inter-ocular ${q.interOcularPx.toFixed(0)} px, sharpness ${q.sharpness.toFixed(0)}, yaw ${q.yawDeg.toFixed(0)}°)\n`);
        } else {
          refusedPhotos.push(photo);
          io.stderr(`${label}: REFUSED: ${verdict.reason}\n`);
        }
      }
      if (embeddings.length === 0) {
        if (opts.skipBad) io.stderr(`  ${s.ref}: dropped, no usable photo\n`);
        droppedSubjects.push(s.ref);
        continue;
      }
      // One template per subject: the mean of its photos' flip-averaged embeddings.
      const template = meanTemplate(embeddings);
      for (const e of embeddings) e.fill(0);
      subjects.push({ ref: s.ref, category: opts.category, ...(s.name !== undefined ? { name: s.name } : {}), embeddings: [template] });
      photosUsed += embeddings.length;
    }
  } finally {
    await vision.close();
  }
  if ((refusedPhotos.length || droppedSubjects.length) && !opts.skipBad) {
    zeroSubjects(subjects);
    throw new UserError(
      `${refusedPhotos.length} photo(s) refused${droppedSubjects.length ? `, ${droppedSubjects.length} subject(s) without a usable photo` : ''} (listed above); ` +
        `replace or remove them, or pass --skip-bad to build without them. No bundle written.`,
    );
  }
  if (subjects.length === 0) throw new UserError('no subject has a usable photo; no bundle written');

  const createdAt = new Date();
  let bytes: Buffer;
  try {
    bytes = buildBundle({
      subjects,
      unitX25519Public: unitPub,
      authorityPrivate: authority,
      sessionId: opts.sessionId,
      createdAt,
      expiresAt: new Date(createdAt.getTime() + opts.expiresInMs),
      embeddingModelSha256: embedderSha256,
      ...(values['unit-id'] !== undefined ? { unitId: values['unit-id'] } : {}),
    });
  } catch (err) {
    if (err instanceof BundleBuildError) throw new UserError(err.message);
    throw err;
  } finally {
    zeroSubjects(subjects);
  }
  writeNew(opts.out, bytes);
  const h = readBundleHeader(bytes);
  const photos = photosUsed;
  io.stdout(
    `wrote ${opts.out}: bundle ${h.bundleId}, session ${h.sessionId}, ${h.count} subject(s) from ${photos} photo(s) (one flip-averaged template each)` +
      `${droppedSubjects.length ? ` (${droppedSubjects.length} subject(s) and ${refusedPhotos.length} photo(s) skipped)` : refusedPhotos.length ? ` (${refusedPhotos.length} photo(s) skipped)` : ''}, ` +
      `for unit key ${h.unitFingerprint}, expires ${h.expiresAt}${subjects.some((s) => s.name) ? ', WITH NAMES' : ''}\n`,
  );
  return 0;
};

function writeNew(file: string, bytes: Buffer): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const watchlistCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'build') return await build(rest, io);
    if (sub === 'inspect') return inspect(rest, io);
    if (sub === 'verify') return verifyCmd(rest, io);
  } catch (err) {
    if (err instanceof BundleRefusedError) {
      io.stderr(`lfr-edge watchlist ${sub}: refused (${err.code}): ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  throw new UsageError(`unknown watchlist subcommand '${sub ?? ''}'`);
};
