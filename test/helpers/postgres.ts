/**
 * A throwaway PostgreSQL for tests: initdb + pg_ctl in a temp dir on a free loopback port (as the
 * `postgres` user when the tests run as root: PostgreSQL refuses to run as root), one cluster per
 * test process, a fresh database per call. Skips with a reason when PostgreSQL is not installed;
 * in CI (CI=true) nothing may skip, so there it fails instead.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './mosquitto';

function binDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

/** A skip reason for t.test() options, or false when PostgreSQL can run here. */
export function postgresSkip(): string | false {
  if (binDir()) return false;
  const why = 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb; scripts/install-system-deps installs it)';
  if (process.env.CI === 'true') throw new Error(`${why}: in CI every test must run`);
  return why;
}

interface Cluster {
  dir: string;
  port: number;
  run: (cmd: string, args: string[]) => string;
}

let cluster: Promise<Cluster> | undefined;

async function startCluster(): Promise<Cluster> {
  const bin = binDir();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir })
      : execFileSync(path.join(bin, cmd), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`, 'start']);
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return { dir, port, run };
}

let n = 0;

/** A fresh, empty database on the test process's throwaway cluster: its connection URL. */
export async function freshDatabase(): Promise<string> {
  cluster ??= startCluster();
  const c = await cluster;
  const name = `lfr_test_${process.pid}_${++n}`;
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ host: '127.0.0.1', port: c.port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:${c.port}/${name}`;
}
