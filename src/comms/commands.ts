/**
 * Command handling on the unit: every payload on `cmd/<type>` is verified (command-envelope.ts),
 * checked against replays (seen-commands.ts) and the known types, then dispatched to the session
 * (an injected SessionCommandTarget). Each command gets exactly one `cmd-result` and one audit
 * entry, accepted or refused with its reason. A refused command changes nothing.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../log';
import { CommandRefusedError, verifyCommand, type CommandLimits, type VerifiedCommand } from './command-envelope';
import {
  COMMAND_TYPES, type CommandEnvelope, type CommandResultMessage, type CommandType, type RefusalReason, type Verdict,
} from './messages';
import type { SeenCommands } from './seen-commands';

/** What the session side offers to commands (src/session/ implements it; the daemon wires it). */
export interface SessionCommandTarget {
  /** Start a session from a watchlist bundle; throws (BundleRefusedError, SessionError) to refuse. */
  startSession(bundle: Buffer, now: Date): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** End and wipe the active session; returns a summary (e.g. the deployment record). */
  endSession(now: Date): Promise<Record<string, unknown>> | Record<string, unknown>;
  adjudicate(alertId: string, verdict: Verdict, now: Date): Promise<void> | void;
}

export interface CommandAuditEntry {
  event: 'command';
  commandId: string | null;
  type: string | null;
  accepted: boolean;
  reason?: RefusalReason;
  code?: string;
  at: string;
}

/**
 * Unsigned refusals over the rate (see CommandProcessorDeps.unsignedRefusals), summed up in one
 * entry per window instead of one each: who can publish garbage on the broker cannot make the unit
 * spend its time on fsyncs.
 */
export interface CommandRefusalsSummaryEntry {
  event: 'command-refusals-summarised';
  /** Refusals not answered and not audited one by one in [from, at]. */
  count: number;
  byReason: Partial<Record<RefusalReason, number>>;
  from: string;
  at: string;
}

/** Where audit entries go (src/audit/ provides the hash-chained log; ids only, no biometrics). */
export interface CommandAudit {
  append(entry: CommandAuditEntry | CommandRefusalsSummaryEntry): void;
}

/**
 * Refusals of commands whose signature did not verify (garbage, oversized, forged) are answered
 * and audited one by one up to a token-bucket rate; the rest are counted and summed up.
 */
export interface UnsignedRefusalLimits {
  /** Sustained answers per second (mqtt.commands.unsignedRefusalsPerS). */
  perS: number;
  /** Burst (mqtt.commands.unsignedRefusalsBurst). */
  burst: number;
  /** A summary entry is written this long after the first refusal over the rate. */
  summaryAfterS: number;
}

export interface CommandProcessorDeps {
  unitId: string;
  version: string;
  authorityPublic: KeyObject;
  seen: SeenCommands;
  target: SessionCommandTarget;
  audit: CommandAudit;
  /** Publishes the cmd-result (UnitLink.publishCommandResult). */
  reply: (r: CommandResultMessage) => void;
  limits: CommandLimits;
  /** Default: 10/s, burst 100, summary after 10 s. */
  unsignedRefusals?: UnsignedRefusalLimits;
  logger: Logger;
  now?: () => Date;
}

/** A token bucket; time is passed in (pure). */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;
  constructor(private readonly perS: number, private readonly burst: number) {
    this.tokens = burst;
  }
  take(nowMs: number): boolean {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, nowMs - this.last) / 1000) * this.perS);
    this.last = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

type Checked = { ok: true; env: VerifiedCommand } | { ok: false; refusal: CommandRefusedError };

const MAX_BUNDLE_B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class CommandProcessor {
  private readonly now: () => Date;
  private readonly log: Logger;
  /** Signed commands run one at a time, in arrival order. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly limits: UnsignedRefusalLimits;
  private readonly bucket: TokenBucket;
  private suppressed: { count: number; byReason: Partial<Record<RefusalReason, number>>; from: Date } | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CommandProcessorDeps) {
    this.now = deps.now ?? (() => new Date());
    this.log = deps.logger.child({ component: 'commands' });
    this.limits = deps.unsignedRefusals ?? { perS: 10, burst: 100, summaryAfterS: 10 };
    this.bucket = new TokenBucket(this.limits.perS, this.limits.burst);
  }

  /**
   * Listener for UnitLink.onCommand. Never throws. A command whose signature does not verify is
   * refused at once, outside the queue (rate-limited, see UnsignedRefusalLimits), so a flood of
   * garbage never delays a signed command; signed commands run one at a time in arrival order.
   */
  readonly onCommand = (topicType: string, payload: Buffer): void => {
    const now = this.now();
    let checked: Checked;
    try {
      checked = this.check(topicType, payload, now);
    } catch (err) {
      this.log.error('command check failed unexpectedly', { command: topicType, error: err as Error });
      return;
    }
    if (!checked.ok && !checked.refusal.authenticated) {
      this.refuseUnsigned(checked.refusal, now);
      return;
    }
    this.chain = this.chain
      .then(() => this.process(checked, now))
      .then(
        () => undefined,
        (err: Error) => this.log.error('command handling failed', { command: topicType, error: err }),
      );
  };

  /** Resolves when every command received so far has been handled (tests, shutdown); writes a pending refusal summary. */
  async idle(): Promise<void> {
    await this.chain;
    this.flushSummary(this.now());
  }

  /** Handle one command to its result (queued commands first). Every refusal answered: no rate limit here. */
  async handle(topicType: string, payload: Buffer): Promise<CommandResultMessage> {
    await this.chain;
    const now = this.now();
    return this.process(this.check(topicType, payload, now), now);
  }

  /** The stateless checks: envelope, signature, window, type, body. */
  private check(topicType: string, payload: Buffer, now: Date): Checked {
    try {
      const env = verifyCommand(payload, { ...this.deps.limits, unitId: this.deps.unitId, authorityPublic: this.deps.authorityPublic, now, topicType });
      const f = env.signed;
      if (!(COMMAND_TYPES as readonly string[]).includes(f.type)) {
        throw new CommandRefusedError('unknown-type', `unknown command type '${f.type}' (known: ${COMMAND_TYPES.join(', ')})`, env.commandId, f.type, true);
      }
      checkBody(env);
      return { ok: true, env };
    } catch (err) {
      if (err instanceof CommandRefusedError) return { ok: false, refusal: err };
      throw err;
    }
  }

  private async process(checked: Checked, now: Date): Promise<CommandResultMessage> {
    if (!checked.ok) {
      const e = checked.refusal;
      return this.finish({ commandId: e.commandId, type: e.type, accepted: false, reason: e.reason, message: e.message }, now);
    }
    const env = checked.env;
    const type = env.signed.type;
    const unsaved = (e: Error) => this.log.error('cannot store the command id (kept in memory until restart); the command goes on', { commandId: env.commandId, error: e });
    if (!this.deps.seen.remember(env.commandId, rememberUntil(env, now, this.deps.limits.maxLifetimeS), now, unsaved)) {
      return this.finish({ commandId: env.commandId, type, accepted: false, reason: 'replayed', message: `command ${env.commandId} was already received: refused as a replay` }, now);
    }
    if (env.outsideWindow) {
      this.log.warn('end-session outside its validity window accepted: ending is always safe (check the unit clock)', {
        commandId: env.commandId, window: env.outsideWindow, issuedAt: env.signed.issuedAt, expiresAt: env.signed.expiresAt, unitTime: now.toISOString(),
      });
    }
    try {
      const result = await this.dispatch(type as CommandType, env, now);
      return this.finish({ commandId: env.commandId, type, accepted: true, result }, now);
    } catch (err) {
      const e = err as Error & { code?: unknown };
      const code = typeof e.code === 'string' ? e.code : undefined;
      return this.finish({ commandId: env.commandId, type, accepted: false, reason: 'failed', code, message: e.message }, now);
    }
  }

  private refuseUnsigned(e: CommandRefusedError, now: Date): void {
    if (this.bucket.take(now.getTime())) {
      this.finish({ commandId: e.commandId, type: e.type, accepted: false, reason: e.reason, message: e.message }, now);
      return;
    }
    if (!this.suppressed) {
      this.suppressed = { count: 0, byReason: {}, from: now };
      this.log.warn('unsigned commands arrive faster than the refusal rate: the rest are counted, not answered one by one', { perS: this.limits.perS, burst: this.limits.burst });
      this.summaryTimer = setTimeout(() => this.flushSummary(this.now()), this.limits.summaryAfterS * 1000);
      this.summaryTimer.unref();
    }
    this.suppressed.count++;
    this.suppressed.byReason[e.reason] = (this.suppressed.byReason[e.reason] ?? 0) + 1;
  }

  private flushSummary(now: Date): void {
    const s = this.suppressed;
    if (!s) return;
    this.suppressed = undefined;
    if (this.summaryTimer) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    this.log.warn('unsigned command refusals summed up', { count: s.count, byReason: s.byReason });
    try {
      this.deps.audit.append({ event: 'command-refusals-summarised', count: s.count, byReason: s.byReason, from: s.from.toISOString(), at: now.toISOString() });
    } catch (err) {
      this.log.error('cannot write the command refusal summary to the audit', { count: s.count, error: err as Error });
    }
  }

  private async dispatch(type: CommandType, env: CommandEnvelope, now: Date): Promise<Record<string, unknown> | undefined> {
    const body = env.signed.body as Record<string, unknown>;
    switch (type) {
      case 'ping':
        return { pong: true, version: this.deps.version, unitTime: now.toISOString() };
      case 'start-session':
        return await this.deps.target.startSession(Buffer.from(body.bundle as string, 'base64'), now);
      case 'end-session':
        return await this.deps.target.endSession(now);
      case 'adjudicate':
        await this.deps.target.adjudicate(body.alertId as string, body.verdict as Verdict, now);
        return { alertId: body.alertId, verdict: body.verdict };
    }
  }

  private finish(r: Omit<CommandResultMessage, 'v' | 'unitId' | 'at'>, now: Date): CommandResultMessage {
    const msg: CommandResultMessage = { v: 1, unitId: this.deps.unitId, ...r, at: now.toISOString() };
    const level = r.accepted ? 'info' : 'warn';
    this.log[level](r.accepted ? 'command accepted' : 'command refused', { commandId: r.commandId, type: r.type, reason: r.reason, code: r.code, detail: r.message });
    try {
      this.deps.audit.append({ event: 'command', commandId: r.commandId, type: r.type, accepted: r.accepted, reason: r.reason, code: r.code, at: msg.at });
    } catch (err) {
      this.log.error('cannot write the command audit entry', { commandId: r.commandId, error: err as Error });
    }
    this.deps.reply(msg);
    return msg;
  }
}

/**
 * How long a command id is kept against replays. An end-session is accepted whatever the unit's
 * clock says (see verifyCommand), so its window cannot refuse a replay: its id is kept for good
 * (one per deployment: a few rows). Other ids are kept past their expiry by the longest lifetime
 * a command may have, so that a unit clock that jumps forward and back does not forget them while
 * the window would still let a replay in.
 */
function rememberUntil(env: VerifiedCommand, now: Date, maxLifetimeS: number): Date {
  if (env.signed.type === 'end-session') return new Date(8.64e15);
  return new Date(Math.max(Date.parse(env.signed.expiresAt), now.getTime()) + maxLifetimeS * 1000);
}

/** Per-type body checks (after the signature, so a refusal here is a malformed signed command). */
function checkBody(env: CommandEnvelope): void {
  const b = env.signed.body as Record<string, unknown>;
  const type = env.signed.type;
  const bad = (msg: string) => new CommandRefusedError('malformed', `${type}: ${msg}`, env.commandId, type, true);
  if (type === 'start-session') {
    if (typeof b.bundle !== 'string' || b.bundle.length === 0 || !MAX_BUNDLE_B64.test(b.bundle)) throw bad('body.bundle must be the watchlist bundle in base64');
  } else if (type === 'adjudicate') {
    if (typeof b.alertId !== 'string' || b.alertId.length === 0 || b.alertId.length > 128) throw bad('body.alertId must be an alert id');
    if (b.verdict !== 'confirmed' && b.verdict !== 'false-alert') throw bad(`body.verdict must be 'confirmed' or 'false-alert'`);
  }
}
