/** The embedded store: one SQLite file (better-sqlite3), for a single `central serve`. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqlCentralStore, type SqlDriver } from './store-sql';

export function openSqliteStore(file: string): SqlCentralStore {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON'); // a deleted crop does not linger in free pages
  const driver: SqlDriver = {
    kind: 'sqlite',
    async run(sql, params = []) {
      const st = db.prepare(sql);
      if (st.reader) return { rows: st.all(...params) as Record<string, unknown>[], changes: 0 };
      const r = st.run(...params);
      return { rows: [], changes: r.changes };
    },
    async runSchema(statements) {
      db.transaction(() => {
        for (const s of statements) db.prepare(s).run();
      })();
    },
    async close() {
      db.close();
    },
  };
  return new SqlCentralStore(driver);
}
