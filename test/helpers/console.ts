/** Fixtures for the central console tests: config, keys, users and a small HTTP client with a cookie jar. */
import { mkdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../../src/central/auth';
import { parseCentralConfig, type CentralConfig } from '../../src/central/config';
import type { CentralStore, Role } from '../../src/central/store';
import { packageRoot } from '../../src/paths';
import { generateCentralKeys, loadPrivateKey, loadPublicKey, CENTRAL_KEY_FILES } from '../../src/watchlist/keys';
import type { MosquittoBroker } from './mosquitto';

export function centralKeys(dir: string) {
  generateCentralKeys(dir);
  return {
    privateFile: path.join(dir, CENTRAL_KEY_FILES.x25519Private),
    publicFile: path.join(dir, CENTRAL_KEY_FILES.x25519Public),
    publicKey: loadPublicKey(path.join(dir, CENTRAL_KEY_FILES.x25519Public), ['x25519']),
    privateKey: loadPrivateKey(path.join(dir, CENTRAL_KEY_FILES.x25519Private), ['x25519']),
  };
}

/** The bundled demo photos as a central photos folder: `<dir>/<subjectRef>/*.jpg`. */
export function photosDir(dir: string, refs: Record<string, string> = { 'lin-manuel-miranda': 'lin-manuel-miranda/lin-manuel-miranda.jpg' }): string {
  const out = path.join(dir, 'photos');
  for (const [ref, file] of Object.entries(refs)) {
    mkdirSync(path.join(out, ref), { recursive: true });
    copyFileSync(path.join(packageRoot(), 'assets', 'demo', 'watchlist', file), path.join(out, ref, path.basename(file)));
  }
  return out;
}

export function consoleConfig(broker: MosquittoBroker, cn: string, dir: string, over: Record<string, unknown>): CentralConfig {
  const c = broker.clientCert(cn);
  return parseCentralConfig({
    instance: cn,
    mqtt: { url: broker.url, tls: { caFile: broker.caFile, certFile: c.cert, keyFile: c.key }, keepaliveS: 5, reconnectS: 0.5 },
    store: { kind: 'sqlite', file: path.join(dir, `${cn}.sqlite`) },
    auditFile: path.join(dir, `${cn}-audit.jsonl`),
    web: { port: 0 },
    ...over,
  }, 'test', dir);
}

export async function addUser(store: CentralStore, name: string, role: Role, password = `${name}-password-1234`): Promise<string> {
  await store.putUser({ name, role, passwordHash: hashPassword(password) });
  return password;
}

/** fetch with a cookie jar and the CSRF token of the signed-in user. */
export class WebClient {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  async req(method: string, p: string, body?: unknown, opts: { csrf?: boolean; raw?: Buffer } = {}) {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (opts.csrf !== false && this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    let data: BodyInit | undefined;
    if (opts.raw) {
      headers['content-type'] = 'application/octet-stream';
      data = opts.raw;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      data = JSON.stringify(body);
    }
    const res = await fetch(new URL(p, this.base), { method, headers, body: data });
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    const type = res.headers.get('content-type') ?? '';
    const out = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: out as any, headers: res.headers, setCookie: set };
  }

  async signIn(name: string, password: string) {
    const r = await this.req('POST', '/api/login', { name, password });
    if (r.status === 200) this.csrf = r.body.csrf;
    return r;
  }
}
