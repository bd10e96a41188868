/**
 * Sign-in for the console: scrypt password hashes, sessions behind an HttpOnly SameSite=Strict
 * cookie (Secure on HTTPS), a CSRF token per session required on every state-changing request,
 * lock-out after repeated failures (counted in the store, so shared by every instance), roles.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { CentralStore, Role } from './store';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** `scrypt$N$r$p$salt$hash` (base64). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [tag, n, r, p, salt, hash] = stored.split('$');
  if (tag !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = scryptSync(password, Buffer.from(salt, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return timingSafeEqual(want, got);
}

/** A password for a throwaway or new account: 18 random bytes, URL-safe. */
export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

export interface WebSession {
  id: string;
  user: string;
  role: Role;
  csrf: string;
  expiresAt: number;
}

export type SignInResult = { ok: true; session: WebSession } | { ok: false; reason: 'bad-credentials' | 'locked'; message: string };

/** What each role may do (checked on every API request). */
export const PERMISSIONS = {
  'alerts.read': ['officer', 'supervisor'],
  'alerts.adjudicate': ['officer', 'supervisor'],
  'units.read': ['supervisor'],
  'sessions.control': ['supervisor'],
  'records.read': ['officer', 'supervisor', 'auditor'],
  'audit.read': ['auditor', 'supervisor'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export function allowed(role: Role, p: Permission): boolean {
  return (PERMISSIONS[p] as readonly Role[]).includes(role);
}

export class Sessions {
  private readonly byId = new Map<string, WebSession>();

  constructor(
    private readonly store: CentralStore,
    private readonly opts: { sessionHours: number; maxFailedLogins: number; lockMinutes: number },
    private readonly now: () => Date = () => new Date(),
  ) {}

  async signIn(name: string, password: string): Promise<SignInResult> {
    const bad = { ok: false as const, reason: 'bad-credentials' as const, message: 'wrong user name or password' };
    const u = await this.store.getUser(name);
    if (!u) {
      verifyPassword(password, hashPassword('x')); // about the same time as for a real user
      return bad;
    }
    const now = this.now();
    if (u.lockedUntil && Date.parse(u.lockedUntil) > now.getTime()) {
      return { ok: false, reason: 'locked', message: `account locked after ${this.opts.maxFailedLogins} failed sign-ins until ${u.lockedUntil}` };
    }
    if (!verifyPassword(password, u.passwordHash)) {
      await this.store.noteLoginFailure(name, this.opts.maxFailedLogins, new Date(now.getTime() + this.opts.lockMinutes * 60_000).toISOString());
      return bad;
    }
    await this.store.clearLoginFailures(name);
    const session: WebSession = { id: randomBytes(32).toString('base64url'), user: u.name, role: u.role, csrf: randomBytes(32).toString('base64url'), expiresAt: now.getTime() + this.opts.sessionHours * 3600_000 };
    this.byId.set(session.id, session);
    return { ok: true, session };
  }

  get(id: string | undefined): WebSession | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now().getTime()) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  signOut(id: string): void {
    this.byId.delete(id);
  }
}

export const SESSION_COOKIE = 'lfr_console';

export function sessionCookie(id: string, secure: boolean, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.round(maxAgeS)}${secure ? '; Secure' : ''}`;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** Constant-time comparison of the request's CSRF token with the session's. */
export function csrfOk(session: WebSession, token: string | undefined): boolean {
  if (!token) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
