/**
 * Signed command envelopes: the central authority signs (Ed25519) the canonical JSON of
 * {type, unitId, commandId, issuedAt, expiresAt, body}; the unit checks it before anything else.
 * Pure: the caller passes the keys and the time.
 */
import { randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import type { CommandEnvelope, CommandFields, RefusalReason } from './messages';

export function signedBytes(f: CommandFields): Buffer {
  return Buffer.from(
    canonicalJson({ type: f.type, unitId: f.unitId, commandId: f.commandId, issuedAt: f.issuedAt, expiresAt: f.expiresAt, body: f.body }),
    'utf8',
  );
}

export interface NewCommand<B> {
  type: string;
  unitId: string;
  body: B;
  now: Date;
  /** Seconds the command stays valid (default 300). */
  ttlS?: number;
  commandId?: string;
}

/** Build and sign an envelope (the central side). */
export function signCommand<B>(cmd: NewCommand<B>, authorityPrivate: KeyObject): CommandEnvelope<string, B> {
  if (authorityPrivate.asymmetricKeyType !== 'ed25519' || authorityPrivate.type !== 'private') {
    throw new Error('the authority key must be an Ed25519 private key (authority-ed25519.key)');
  }
  const fields: CommandFields<string, B> = {
    type: cmd.type,
    unitId: cmd.unitId,
    commandId: cmd.commandId ?? randomUUID(),
    issuedAt: cmd.now.toISOString(),
    expiresAt: new Date(cmd.now.getTime() + (cmd.ttlS ?? 300) * 1000).toISOString(),
    body: cmd.body,
  };
  const sig = sign(null, signedBytes(fields), authorityPrivate).toString('base64');
  return { v: 1, ...fields, sig };
}

export class CommandRefusedError extends Error {
  override name = 'CommandRefusedError';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** What could be read of the command, for the cmd-result. */
    readonly commandId: string | null = null,
    readonly type: string | null = null,
  ) {
    super(message);
  }
}

export interface VerifyContext {
  unitId: string;
  authorityPublic: KeyObject;
  now: Date;
  maxPayloadBytes: number;
  maxLifetimeS: number;
  clockSkewS: number;
  /** The command type named by the topic (`cmd/<name>`). */
  topicType: string;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const COMMAND_ID = /^[A-Za-z0-9_.:-]{8,128}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parse and verify one command payload. Checks, in order: size, JSON, shape, signature, unit,
 * validity window. (Replay and type are the caller's: they need state and the dispatch table.)
 * Throws CommandRefusedError with the reason; returns the verified envelope.
 */
export function verifyCommand(payload: Buffer, ctx: VerifyContext): CommandEnvelope {
  if (payload.length > ctx.maxPayloadBytes) {
    throw new CommandRefusedError('oversized', `command payload is ${payload.length} bytes, more than the ${ctx.maxPayloadBytes} allowed (mqtt.commands.maxPayloadBytes)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new CommandRefusedError('malformed', `command payload is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new CommandRefusedError('malformed', 'command payload must be a JSON object');
  const commandId = typeof parsed.commandId === 'string' && COMMAND_ID.test(parsed.commandId) ? parsed.commandId : null;
  const type = typeof parsed.type === 'string' ? parsed.type.slice(0, 64) : null;
  const refuse = (reason: RefusalReason, msg: string) => new CommandRefusedError(reason, msg, commandId, type);
  if (parsed.v !== 1) throw refuse('malformed', `command envelope version ${JSON.stringify(parsed.v)} is not supported (expected v: 1)`);
  if (commandId === null) throw refuse('malformed', 'commandId must be a string of 8-128 letters, digits or . _ : -');
  if (type === null) throw refuse('malformed', 'type must be a string');
  if (type !== ctx.topicType) throw refuse('malformed', `envelope type '${type}' does not match the topic cmd/${ctx.topicType}`);
  if (typeof parsed.unitId !== 'string') throw refuse('malformed', 'unitId must be a string');
  for (const k of ['issuedAt', 'expiresAt'] as const) {
    const v = parsed[k];
    if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v))) throw refuse('malformed', `${k} must be an ISO-8601 time`);
  }
  if (!('body' in parsed) || !isObject(parsed.body)) throw refuse('malformed', 'body must be a JSON object');
  if (parsed.sig === undefined || parsed.sig === null || parsed.sig === '') throw refuse('missing-signature', 'the command carries no signature (sig)');
  if (typeof parsed.sig !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(parsed.sig)) throw refuse('bad-signature', 'sig must be base64');
  const env = parsed as unknown as CommandEnvelope;
  let ok: boolean;
  try {
    ok = verify(null, signedBytes(env), ctx.authorityPublic, Buffer.from(env.sig, 'base64'));
  } catch (err) {
    throw refuse('bad-signature', `signature check failed: ${(err as Error).message}`);
  }
  if (!ok) throw refuse('bad-signature', 'the signature does not verify against the authority key');
  if (env.unitId !== ctx.unitId) throw refuse('wrong-unit', `the command is for unit '${env.unitId}', this is '${ctx.unitId}'`);
  const now = ctx.now.getTime();
  const issued = Date.parse(env.issuedAt);
  const expires = Date.parse(env.expiresAt);
  if (expires <= issued) throw refuse('malformed', 'expiresAt must be after issuedAt');
  if (expires - issued > ctx.maxLifetimeS * 1000) {
    throw refuse('malformed', `the command is valid for ${Math.round((expires - issued) / 1000)} s, more than the ${ctx.maxLifetimeS} s allowed`);
  }
  if (now >= expires) throw refuse('expired', `the command expired at ${env.expiresAt}`);
  if (issued > now + ctx.clockSkewS * 1000) throw refuse('not-yet-valid', `the command is issued at ${env.issuedAt}, in the future by more than ${ctx.clockSkewS} s (check the clocks)`);
  return env;
}
