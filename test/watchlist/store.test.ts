import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shredStoreFiles, STORE_FILE, StoreError, storeFilesIn, TEST_KEY_HOOK_ENV, WatchlistStore } from '../../src/watchlist/store';
import { embeddingNeedles, filesUnder, scanFor, unitEmbedding } from '../fixtures/session-kit';

const NOW = new Date('2030-01-01T10:00:00Z');

function entries(n: number, seed: number) {
  return Array.from({ length: n }, (_, i) => ({ ref: `ref-${i}`, category: i % 2 ? 'a' : 'b', embedding: unitEmbedding(512, seed + i) }));
}

t.test('rows round-trip through a real SQLite file, sealed on disk', async (t) => {
  const dir = t.testdir();
  const store = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  const es = entries(20, 1);
  store.add([...es.slice(0, 10)]);
  store.add([...es.slice(10), { ref: 'named', category: 'a', name: 'A Name', embedding: unitEmbedding(512, 99) }]);
  t.equal(store.size, 21);
  const back = store.readAll();
  t.equal(back.length, 21);
  t.same(back.slice(0, 20).map((e) => e.ref), es.map((e) => e.ref));
  t.same(Array.from(back[7].embedding), Array.from(es[7].embedding), 'embedding bit-exact');
  t.equal(back[20].name, 'A Name');

  const file = path.join(dir, STORE_FILE);
  t.equal(statSync(file).mode & 0o777, 0o600, 'database readable by the service user only');
  t.same(storeFilesIn(dir), [file], 'journal in memory: the database is the only file');
  const db = new Database(file, { readonly: true });
  t.equal((db.prepare('SELECT count(*) AS n FROM watchlist').get() as { n: number }).n, 21);
  db.close();
  t.same(scanFor([dir], embeddingNeedles(es.map((e) => e.embedding))), [], 'no plaintext embedding bytes in the file');
  t.notOk(readFileSync(file).includes(Buffer.from('ref-7')), 'refs are sealed too');

  // positive control: the scanner finds an embedding when one is there
  writeFileSync(path.join(dir, 'control.bin'), Buffer.from(es[3].embedding.buffer));
  t.equal(scanFor([dir], embeddingNeedles([es[3].embedding])).length, 128, 'the scanner would find a copy');
  store.wipe(NOW);
});

t.test('secure_delete and memory journal are on', async (t) => {
  const dir = t.testdir();
  const store = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  const db = (store as unknown as { db: Database.Database }).db;
  t.equal(db.pragma('secure_delete', { simple: true }), 1);
  t.equal(db.pragma('journal_mode', { simple: true }), 'memory');
  t.equal(db.pragma('temp_store', { simple: true }), 2);
  store.wipe(NOW);
});

t.test('wipe zeroes the key, shreds and unlinks, and reports', async (t) => {
  const dir = t.testdir();
  const store = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  store.add(entries(5, 3));
  const key = (store as unknown as { key: Buffer }).key;
  t.ok(key.some((b) => b !== 0), 'a random key while open');
  const r = store.wipe(NOW);
  t.ok(r.ok);
  t.ok(r.keyZeroed);
  t.ok(key.every((b) => b === 0), 'key bytes are zero');
  t.same(r.leftovers, []);
  t.same(r.filesRemoved.map((f) => path.basename(f)), [STORE_FILE]);
  t.equal(r.at, NOW.toISOString());
  t.same(filesUnder(dir), [], 'nothing left in the runtime dir');
  t.throws(() => store.readAll(), /has been wiped/);
  t.notOk(store.isOpen);
});

t.test('a tampered or moved row fails authentication with a clear error', async (t) => {
  const dir = t.testdir();
  const store = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  store.add(entries(2, 5));
  const db = (store as unknown as { db: Database.Database }).db;
  const rows = db.prepare('SELECT row, sealed FROM watchlist ORDER BY row').all() as { row: number; sealed: Buffer }[];
  // swap the two sealed rows: each is bound to its position
  db.prepare('UPDATE watchlist SET sealed = ? WHERE row = ?').run(rows[1].sealed, 0);
  db.prepare('UPDATE watchlist SET sealed = ? WHERE row = ?').run(rows[0].sealed, 1);
  t.throws(() => store.readAll(), { name: 'StoreError', message: /row 0 failed authentication \(tampered, or sealed under another key\)/ });
  const flipped = Buffer.from(rows[0].sealed);
  flipped[40] ^= 1;
  db.prepare('UPDATE watchlist SET sealed = ? WHERE row = ?').run(flipped, 0);
  t.throws(() => store.readAll(), /row 0 failed authentication/);
  store.wipe(NOW);
});

t.test('a second store over leftovers is refused, naming the fix', async (t) => {
  const dir = t.testdir();
  const a = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  t.throws(() => WatchlistStore.create({ runtimeDir: dir, sessionId: 's2' }), {
    name: 'StoreError',
    message: /a watchlist store already exists .*watchlist\.sqlite.*run 'lfr-edge wipe --boot'/,
  });
  a.wipe(NOW);
  const b = WatchlistStore.create({ runtimeDir: dir, sessionId: 's2' });
  t.ok(b.isOpen, 'after the wipe a new store can be made');
  b.wipe(NOW);
});

t.test('the session-key test hook needs NODE_ENV=test AND the flag', async (t) => {
  const dir = t.testdir();
  const store = WatchlistStore.create({ runtimeDir: dir, sessionId: 's1' });
  t.throws(() => store.sessionKeyHexForTest({}), StoreError);
  t.throws(() => store.sessionKeyHexForTest({ NODE_ENV: 'test' }), /never exposed/);
  t.throws(() => store.sessionKeyHexForTest({ [TEST_KEY_HOOK_ENV]: '1' }), /never exposed/);
  t.throws(() => store.sessionKeyHexForTest({ NODE_ENV: 'production', [TEST_KEY_HOOK_ENV]: '1' }), /never exposed/);
  const hex = store.sessionKeyHexForTest({ NODE_ENV: 'test', [TEST_KEY_HOOK_ENV]: '1' });
  t.match(hex, /^[0-9a-f]{64}$/);
  store.wipe(NOW);
});

t.test('shredStoreFiles leaves other files alone and reports what it removed', async (t) => {
  const dir = t.testdir({
    'other.txt': 'keep me', [STORE_FILE]: 'junk', [STORE_FILE + '-wal']: 'junk', [STORE_FILE + '-shm']: 'junk', [STORE_FILE + '-journal']: 'junk',
  });
  const r = shredStoreFiles(dir, (m) => t.fail(m));
  t.equal(r.filesRemoved.length, 4, 'database, -wal, -shm and -journal');
  t.same(r.leftovers, []);
  t.ok(existsSync(path.join(dir, 'other.txt')));
  t.same(shredStoreFiles(path.join(dir, 'absent'), (m) => t.fail(m)), { filesRemoved: [], leftovers: [] }, 'an absent runtime dir is fine');
});
