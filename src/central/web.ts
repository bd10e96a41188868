/**
 * The console's web server (node:http / node:https, no framework): the page (plain HTML/JS/CSS
 * from assets/central/), a JSON API, and a server-sent-events feed of alert changes. Every API
 * request is checked for a session, its role's permission, and (state-changing ones) the CSRF
 * token; the live feed polls the store, so changes made through any instance reach every page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { verifyAuditFile } from '../audit/log';
import type { Logger } from '../log';
import { packageRoot } from '../paths';
import { SUBJECT_REF_PATTERN } from '../watchlist/bundle-format';
import { allowed, cookieValue, csrfOk, SESSION_COOKIE, sessionCookie, Sessions, type Permission, type WebSession } from './auth';
import { CentralServiceError, type CentralService } from './service';
import type { AlertRow, RecordRow } from './store';
import { publishRecord, recordsCsv } from './records';

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const MAX_JSON = 64 * 1024;
const MAX_BUNDLE = 128 * 1024 * 1024;

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        reject(new HttpError(413, `request body over ${max} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'send JSON (Content-Type: application/json)');
  try {
    const v = JSON.parse((await readBody(req, MAX_JSON)).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `the body is not a JSON object: ${(err as Error).message}`);
  }
}

/** The deployment's place given with start-session (`?place=`): optional, one line of at most 120 characters. */
function placeParam(v: string | null): string | undefined {
  const place = v?.trim();
  if (!place) return undefined;
  if (place.length > 120 || /[\u0000-\u001f\u007f]/.test(place)) throw new HttpError(400, 'place: one line of at most 120 characters (e.g. "Oxford Circus, north exit")');
  return place;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

export class ConsoleWeb {
  private readonly sessions: Sessions;
  private readonly feeds = new Set<ServerResponse>();
  private pollTimer: NodeJS.Timeout | undefined;
  private lastRev = 0;
  private readonly sentRev = new Map<string, number>();
  private readonly assets: string;
  private readonly secure: boolean;

  constructor(
    private readonly service: CentralService,
    private readonly log: Logger,
  ) {
    const w = service.cfg.web;
    this.sessions = new Sessions(service.store, w);
    this.assets = path.join(packageRoot(), 'assets', 'central');
    this.secure = Boolean(w.tls);
  }

  async listen(): Promise<ConsoleServer> {
    const w = this.service.cfg.web;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: Error) => {
        const status = err instanceof HttpError ? err.status : err instanceof CentralServiceError ? 409 : 500;
        if (status === 500) this.log.error('console request failed', { url: req.url, error: err });
        if (!res.headersSent) this.json(res, status, { error: err.message });
        else res.end();
      });
    };
    const server = w.tls ? https.createServer({ cert: readFileSync(w.tls.certFile), key: readFileSync(w.tls.keyFile) }, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(w.port, w.host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    // start the feed from now: a page loads the current list, then gets what changes
    this.lastRev = Math.max(0, ...(await this.service.store.listAlerts(1)).map((a) => a.rev));
    this.pollTimer = setInterval(() => void this.poll().catch((err: Error) => this.log.error('live feed poll failed', { error: err })), 400);
    return {
      url: `${w.tls ? 'https' : 'http'}://${host}:${addr.port}/`,
      close: async () => {
        clearInterval(this.pollTimer);
        for (const f of this.feeds) f.end();
        server.closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  private async poll(): Promise<void> {
    if (this.feeds.size === 0) {
      this.lastRev = Math.max(this.lastRev, ...(await this.service.store.listAlerts(1)).map((a) => a.rev));
      return;
    }
    // look back a little: another instance may commit a lower revision after a higher one
    const rows = await this.service.store.alertsChangedSince(Math.max(0, this.lastRev - 50), 500);
    for (const r of rows) {
      if ((this.sentRev.get(r.alertId) ?? -1) >= r.rev) continue;
      this.sentRev.set(r.alertId, r.rev);
      const data = `event: alert\ndata: ${JSON.stringify(this.alertView(r))}\n\n`;
      for (const f of this.feeds) f.write(data);
      this.lastRev = Math.max(this.lastRev, r.rev);
    }
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private session(req: IncomingMessage): WebSession | undefined {
    return this.sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
  }

  /** The signed-in user with permission `p`; for state-changing requests, the CSRF token too. */
  private need(req: IncomingMessage, p: Permission): WebSession {
    const s = this.session(req);
    if (!s) throw new HttpError(401, 'not signed in');
    if (req.method !== 'GET' && !csrfOk(s, req.headers['x-csrf-token'] as string | undefined)) {
      this.service.auditEvent('web.refused', { user: s.user, reason: 'csrf', path: req.url ?? '' });
      throw new HttpError(403, 'missing or wrong CSRF token (X-CSRF-Token): reload the page');
    }
    if (!allowed(s.role, p)) {
      this.service.auditEvent('web.refused', { user: s.user, role: s.role, reason: 'role', permission: p, path: req.url ?? '' });
      throw new HttpError(403, `a ${s.role} may not do this (${p})`);
    }
    return s;
  }

  alertView(r: AlertRow) {
    const m = r.message;
    return {
      alertId: r.alertId, unitId: r.unitId, sessionId: r.sessionId, subjectRef: r.subjectRef, category: r.category,
      score: r.score, threshold: r.threshold, quality: m.quality, evidenceFrames: m.evidenceFrames, at: m.at, receivedAt: r.receivedAt,
      crop: r.sealedCrop ? { width: r.sealedCrop.width, height: r.sealedCrop.height } : null,
      cropProblem: this.service.cropProblem(r) ?? null,
      photo: this.photoFile(r.subjectRef) ? `/api/photos/${encodeURIComponent(r.subjectRef)}` : null,
      verdict: r.verdict, note: r.note, officer: r.officer, adjudicatedAt: r.adjudicatedAt,
      unitResult: r.unitResult ? { accepted: r.unitResult.accepted, reason: r.unitResult.reason ?? null, message: r.unitResult.message ?? null, at: r.unitResult.at } : null,
      rev: r.rev,
    };
  }

  private recordView(r: RecordRow) {
    return { unitId: r.unitId, sessionId: r.sessionId, signature: r.signature, receivedAt: r.receivedAt, place: r.place, published: publishRecord(r, this.service.cfg.records), record: r.record };
  }

  private photoFile(ref: string): string | undefined {
    const dir = this.service.cfg.photosDir;
    if (!dir || !SUBJECT_REF_PATTERN.test(ref)) return undefined;
    try {
      const f = readdirSync(path.join(dir, ref)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort()[0];
      return f ? path.join(dir, ref, f) : undefined;
    } catch {
      return undefined; // no photo folder for this subject
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const p = url.pathname;
    const st = STATIC[p];
    if (st && req.method === 'GET') {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': st.type });
      res.end(readFileSync(path.join(this.assets, st.file)));
      return;
    }
    if (!p.startsWith('/api/')) throw new HttpError(404, `no page ${p}`);
    const store = this.service.store;
    let m: RegExpExecArray | null;

    if (p === '/api/login' && req.method === 'POST') {
      const b = await readJson(req);
      const name = typeof b.name === 'string' ? b.name : '';
      const r = await this.sessions.signIn(name, typeof b.password === 'string' ? b.password : '');
      if (!r.ok) {
        this.service.auditEvent('web.signin-refused', { user: name.slice(0, 64), reason: r.reason });
        throw new HttpError(r.reason === 'locked' ? 423 : 401, r.message);
      }
      this.service.auditEvent('web.signin', { user: r.session.user, role: r.session.role });
      this.json(res, 200, { user: r.session.user, role: r.session.role, csrf: r.session.csrf }, { 'Set-Cookie': sessionCookie(r.session.id, this.secure, this.service.cfg.web.sessionHours * 3600) });
      return;
    }
    if (p === '/api/me' && req.method === 'GET') {
      const s = this.session(req);
      if (!s) throw new HttpError(401, 'not signed in');
      this.json(res, 200, { user: s.user, role: s.role, csrf: s.csrf, connected: this.service.isConnected });
      return;
    }
    if (p === '/api/logout' && req.method === 'POST') {
      const s = this.session(req);
      if (s && csrfOk(s, req.headers['x-csrf-token'] as string | undefined)) this.sessions.signOut(s.id);
      this.json(res, 200, { ok: true }, { 'Set-Cookie': sessionCookie('', this.secure, 0) });
      return;
    }
    if (p === '/api/alerts' && req.method === 'GET') {
      this.need(req, 'alerts.read');
      this.json(res, 200, (await store.listAlerts(200)).map((r) => this.alertView(r)));
      return;
    }
    if (p === '/api/events' && req.method === 'GET') {
      this.need(req, 'alerts.read');
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
      res.write(': live alert feed\n\n');
      this.feeds.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      req.on('close', () => {
        clearInterval(ping);
        this.feeds.delete(res);
      });
      return;
    }
    if ((m = /^\/api\/alerts\/([^/]+)\/crop$/.exec(p)) && req.method === 'GET') {
      this.need(req, 'alerts.read');
      const row = await store.getAlert(decodeURIComponent(m[1]));
      if (!row) throw new HttpError(404, 'no such alert');
      let jpeg: Buffer;
      try {
        jpeg = this.service.openCrop(row);
      } catch (err) {
        throw new HttpError(422, (err as Error).message);
      }
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'image/jpeg' });
      res.end(jpeg);
      jpeg.fill(0);
      return;
    }
    if ((m = /^\/api\/alerts\/([^/]+)\/adjudicate$/.exec(p)) && req.method === 'POST') {
      const s = this.need(req, 'alerts.adjudicate');
      const b = await readJson(req);
      if (b.verdict !== 'confirmed' && b.verdict !== 'false-alert') throw new HttpError(400, "verdict must be 'confirmed' or 'false-alert'");
      const note = typeof b.note === 'string' && b.note.trim() ? b.note.trim().slice(0, 500) : null;
      const row = await this.service.adjudicate(decodeURIComponent(m[1]), b.verdict, note, s.user);
      this.json(res, 200, this.alertView(row));
      return;
    }
    if ((m = /^\/api\/photos\/([^/]+)$/.exec(p)) && req.method === 'GET') {
      this.need(req, 'alerts.read');
      const f = this.photoFile(decodeURIComponent(m[1]));
      if (!f) throw new HttpError(404, 'no enrolment photo for this subject in photosDir');
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': /\.png$/i.test(f) ? 'image/png' : 'image/jpeg' });
      res.end(readFileSync(f));
      return;
    }
    if (p === '/api/units' && req.method === 'GET') {
      this.need(req, 'units.read');
      this.json(res, 200, await store.listUnits());
      return;
    }
    if ((m = /^\/api\/units\/([A-Za-z0-9_-]{1,64})\/(start-session|end-session)$/.exec(p)) && req.method === 'POST') {
      const s = this.need(req, 'sessions.control');
      const type = m[2] as 'start-session' | 'end-session';
      let body: object = {};
      let place: string | undefined;
      if (type === 'start-session') {
        place = placeParam(url.searchParams.get('place'));
        const bundle = await readBody(req, MAX_BUNDLE);
        if (bundle.length === 0) throw new HttpError(400, 'send the watchlist bundle file as the request body');
        body = { bundle: bundle.toString('base64') };
      }
      const result = await this.service.sessionCommand(m[1], type, body, s.user, place);
      if (!result) throw new HttpError(504, `no answer from unit ${m[1]} within ${this.service.cfg.commandTimeoutS} s`);
      this.json(res, 200, result);
      return;
    }
    if (p === '/api/records' && req.method === 'GET') {
      this.need(req, 'records.read');
      this.json(res, 200, (await store.listRecords()).map((r) => this.recordView(r)));
      return;
    }
    if ((p === '/api/records.csv' || p === '/api/records.json') && req.method === 'GET') {
      this.need(req, 'records.read');
      const rows = await store.listRecords();
      const csv = p.endsWith('.csv');
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8', 'Content-Disposition': `attachment; filename="deployment-records.${csv ? 'csv' : 'json'}"` });
      res.end(csv ? recordsCsv(rows, this.service.cfg.records) : JSON.stringify(rows.map((r) => this.recordView(r)), null, 2));
      return;
    }
    if ((m = /^\/api\/records\/([^/]+)\/([^/]+)$/.exec(p)) && req.method === 'GET') {
      this.need(req, 'records.read');
      const r = await store.getRecord(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
      if (!r) throw new HttpError(404, 'no such record');
      this.json(res, 200, this.recordView(r));
      return;
    }
    if (p === '/api/audit' && req.method === 'GET') {
      this.need(req, 'audit.read');
      const file = this.service.auditFile();
      let lines: unknown[] = [];
      try {
        lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown).slice(-500).reverse();
      } catch {
        lines = [];
      }
      const v = verifyAuditFile(file);
      this.json(res, 200, { file, chain: v, entries: lines });
      return;
    }
    throw new HttpError(404, `no API ${req.method} ${p}`);
  }
}
