/** The shared store for several `central serve` instances: PostgreSQL through `pg`. */
import pg from 'pg';
import { SqlCentralStore, type SqlDriver } from './store-sql';

/** `?` placeholders -> `$1, $2...` (the statements in store-sql.ts hold no literal '?'). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export async function openPostgresStore(url: string): Promise<SqlCentralStore> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // an idle client's error (server restart) must not crash the process: the next query reports it
  pool.on('error', () => undefined);
  const client = await pool.connect().catch((err: Error) => {
    void pool.end();
    throw new Error(`cannot connect to PostgreSQL at ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${err.message}`);
  });
  client.release();
  const driver: SqlDriver = {
    kind: 'postgres',
    async run(sql, params = []) {
      const r = await pool.query(numberPlaceholders(sql), params);
      return { rows: r.rows as Record<string, unknown>[], changes: r.rowCount ?? 0 };
    },
    async runSchema(statements) {
      const c = await pool.connect();
      try {
        await c.query('SELECT pg_advisory_lock(7429001)');
        for (const s of statements) await c.query(s);
      } finally {
        await c.query('SELECT pg_advisory_unlock(7429001)').catch(() => undefined);
        c.release();
      }
    },
    close: () => pool.end(),
  };
  return new SqlCentralStore(driver);
}
