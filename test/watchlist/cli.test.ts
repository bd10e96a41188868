/** The keys, watchlist inspect/verify and audit commands, run through the CLI entry point in-process. */
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli';
import type { CommandIO } from '../../src/commands/common';
import { AuditLog } from '../../src/audit/log';
import { verifyModels } from '../../src/models/manifest';
import { ModelsConfigSchema } from '../../src/models/config';
import { buildBundle } from '../../src/watchlist/bundle';
import { loadAuthorityKeys, loadUnitKeys, publicKeyFingerprint } from '../../src/watchlist/keys';
import { twoSubjects } from './fixtures';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {} };
  const code = await main(argv, io);
  return { code, out, err };
}

const root = mkdtempSync(path.join(tmpdir(), 'lfr-cli-'));
const unitDir = path.join(root, 'unit');
const authDir = path.join(root, 'authority');

let modelSha: string | undefined;
try {
  modelSha = verifyModels(ModelsConfigSchema.parse({})).embedderSha256;
} catch (err) {
  modelSha = undefined;
  t.comment(`models not installed (${(err as Error).message}): the verify tests are skipped`);
}
const needsModels = { skip: modelSha ? false : 'models are not installed (npm run models:install)' };

t.test('keys init / keys authority', async (t) => {
  let r = await run('keys', 'init', '--dir', unitDir);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /wrote .*unit-x25519\.key\n/);
  const fp = publicKeyFingerprint(loadUnitKeys(unitDir).x25519Public);
  t.match(r.out, `unit key fingerprint ${fp}`);
  t.equal(statSync(path.join(unitDir, 'unit-ed25519.key')).mode & 0o777, 0o600);
  r = await run('keys', 'authority', '--dir', authDir);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /authority key fingerprint [0-9a-f]{32}; keep authority-ed25519\.key offline/);

  r = await run('keys', 'init', '--dir', unitDir);
  t.equal(r.code, 1);
  t.match(r.err, /^lfr-edge keys: refusing to overwrite existing key files .*unit-x25519\.key/);
  r = await run('keys', 'authority', '--dir', authDir);
  t.equal(r.code, 1);
  t.match(r.err, /refusing to overwrite/);
  r = await run('keys', 'init');
  t.equal(r.code, 2);
  t.match(r.err, /missing required option --dir/);
  r = await run('keys', 'rotate', '--dir', authDir);
  t.equal(r.code, 2);
  t.match(r.err, /unknown keys subcommand 'rotate'/);
});

function bundleFile(name: string, over: Partial<Parameters<typeof buildBundle>[0]> = {}): string {
  const now = Date.now();
  const file = path.join(root, name);
  writeFileSync(
    file,
    buildBundle({
      subjects: twoSubjects(),
      unitX25519Public: loadUnitKeys(unitDir).x25519Public,
      authorityPrivate: loadAuthorityKeys(authDir).ed25519Private,
      sessionId: 'op-cli',
      createdAt: new Date(now - 60_000),
      expiresAt: new Date(now + 3600_000),
      embeddingModelSha256: modelSha ?? 'c'.repeat(64),
      ...over,
    }),
  );
  return file;
}

t.test('watchlist inspect prints the header only', async (t) => {
  const file = bundleFile('inspect.lfwl', { bundleId: 'inspect-0001' });
  let r = await run('watchlist', 'inspect', file);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /bundle id\s+inspect-0001\n/);
  t.match(r.out, /session\s+op-cli\n/);
  t.match(r.out, /subjects\s+2, 512-d embeddings\n/);
  t.match(r.out, /categories\s+missing, wanted\n/);
  t.match(r.out, /expires\s+\S+ \(in 1\.0 h\)/);
  t.notMatch(r.out, /Zoë/, 'no names');
  t.match(r.err, /signature not checked/);
  r = await run('watchlist', 'inspect', file, '--json');
  t.equal(JSON.parse(r.out).bundleId, 'inspect-0001');
  r = await run('watchlist', 'inspect', path.join(root, 'nope.lfwl'));
  t.equal(r.code, 1);
  t.match(r.err, /cannot read bundle .*nope\.lfwl: no such file/);
  const junk = path.join(root, 'junk.lfwl');
  writeFileSync(junk, 'hello there, not a bundle, but long enough to get past the length check of a bundle frame, yes, really, quite long indeed, more more more');
  r = await run('watchlist', 'inspect', junk);
  t.equal(r.code, 1);
  t.match(r.err, /refused \(malformed\): not a watchlist bundle: the file does not start with "LFWL"/);
});

t.test('watchlist verify: every check the unit makes', needsModels, async (t) => {
  const stateDir = path.join(root, 'state');
  const cfgFile = path.join(root, 'config.json');
  writeFileSync(cfgFile, JSON.stringify({ paths: { stateDir }, watchlist: { maxBundleBytes: 100_000 } }));
  const authPub = path.join(authDir, 'authority-ed25519.pub');
  const verify = (file: string, ...more: string[]) => run('watchlist', 'verify', file, '--unit-dir', unitDir, '--authority-pub', authPub, '--config', cfgFile, ...more);

  const good = bundleFile('good.lfwl', { bundleId: 'good-0001' });
  let r = await verify(good);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /ok: signed by authority [0-9a-f]{32}, for this unit, decrypts: 2 subjects, 3 embeddings, 1 with names/);
  t.match(r.out, /no used-bundle ledger at .*used-bundle-ids/);

  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path.join(stateDir, 'used-bundle-ids'), 'older-0001\ngood-0001\n');
  r = await verify(good);
  t.equal(r.code, 1);
  t.match(r.err, /^lfr-edge watchlist verify: refused \(replayed\): bundle good-0001 has already been used on this unit/);

  const other = path.join(root, 'other-unit');
  await run('keys', 'init', '--dir', other);
  r = await run('watchlist', 'verify', bundleFile('b2.lfwl'), '--unit-dir', other, '--authority-pub', authPub, '--config', cfgFile);
  t.equal(r.code, 1);
  t.match(r.err, /refused \(wrong-unit\)/);

  r = await run('watchlist', 'verify', bundleFile('b3.lfwl'), '--unit-dir', unitDir, '--authority-pub', path.join(other, 'unit-ed25519.pub'), '--config', cfgFile);
  t.equal(r.code, 1);
  t.match(r.err, /refused \(bad-signature\)/);

  r = await verify(bundleFile('b4.lfwl', { createdAt: new Date(Date.now() - 7200_000), expiresAt: new Date(Date.now() - 1000) }));
  t.equal(r.code, 1);
  t.match(r.err, /refused \(expired\): bundle expired at/);

  r = await verify(bundleFile('b5.lfwl', { embeddingModelSha256: 'd'.repeat(64) }));
  t.equal(r.code, 1);
  t.match(r.err, /refused \(wrong-model\): bundle was built with embedding model d{64}, this unit runs [0-9a-f]{64}/);

  const big = bundleFile('b6.lfwl', { subjects: Array.from({ length: 60 }, (_, i) => ({ ...twoSubjects()[i % 2], ref: `S-${i}` })) });
  r = await verify(big);
  t.equal(r.code, 1);
  t.match(r.err, /refused \(too-large\): bundle is \d+ bytes, more than the configured limit of 100000/);

  const cut = path.join(root, 'cut.lfwl');
  writeFileSync(cut, readFileSync(bundleFile('b7.lfwl')).subarray(0, 2000));
  r = await verify(cut);
  t.equal(r.code, 1);
  t.match(r.err, /refused \(truncated\)/);

  r = await verify(bundleFile('b8.lfwl', { unitId: 'unit-9' }));
  t.equal(r.code, 1);
  t.match(r.err, /refused \(wrong-unit\): bundle names unit id unit-9, this unit is dev-unit/);

  chmodSync(path.join(unitDir, 'unit-x25519.key'), 0o640);
  r = await verify(good);
  t.equal(r.code, 1);
  t.match(r.err, /unit-x25519\.key has mode 0640: readable by other users; run 'chmod 600/);
  chmodSync(path.join(unitDir, 'unit-x25519.key'), 0o600);

  r = await run('watchlist', 'verify', good, '--unit-dir', unitDir);
  t.equal(r.code, 2);
  t.match(r.err, /missing required option --authority-pub/);
  t.ok(existsSync(good));
});

t.test('audit verify', async (t) => {
  const file = path.join(root, 'audit', 'audit.log');
  const log = new AuditLog(file);
  for (let i = 0; i < 5; i++) log.append({ type: 'alert', alertId: `a-${i}` }, new Date(Date.UTC(2026, 2, 1, 8, 0, i)));
  log.close();
  let r = await run('audit', 'verify', file);
  t.equal(r.code, 0, r.err);
  t.match(r.out, new RegExp(`${file}: 5 entries, chain intact, last hash ${log.head.hash}`));
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[3] = lines[3].replace('"a-3"', '"a-9"');
  writeFileSync(file, lines.join('\n'));
  r = await run('audit', 'verify', file);
  t.equal(r.code, 1);
  t.match(r.err, /chain broken at line 4: hash does not match the entry \(the entry was altered\)/);
  t.match(r.err, /the 3 entries before it verify/);
  r = await run('audit', 'verify', path.join(root, 'none.log'));
  t.equal(r.code, 1);
  t.match(r.err, /audit log .*none\.log does not exist/);
  r = await run('audit', 'verify');
  t.equal(r.code, 2);
});
