/**
 * Signed command envelopes (v2): the signature covers raw bytes, so the unit checks it before it
 * parses anything the sender wrote.
 *
 * On the wire a command is one JSON object whose members come in this order:
 *
 *   {"v":2,"commandId":"<id>","sig":"<base64 Ed25519, 88 chars>","signed":<S>}
 *
 * where S is the JSON text of {type, unitId, commandId, issuedAt, expiresAt, body} and `sig` is
 * the central authority's Ed25519 signature over exactly the bytes of S. `JSON.stringify` of what
 * signCommand() returns produces this layout, and a JSON parse and re-stringify keeps it byte for
 * byte, so central code can hand the object around as JSON. `encodeCommand()` gives the bytes.
 *
 * The unit (verifyCommand), in order: the per-command size limit (known from the topic before a
 * byte is read: only start-session carries a bundle), the fixed prefix (a bounded regular
 * expression on the first bytes), the signature over S, then JSON.parse(S) and its checks.
 * An unsigned or garbage payload costs a size check and a regex; it is never parsed.
 *
 * Pure: the caller passes the keys and the time.
 */
import { randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { CommandEnvelope, CommandFields, RefusalReason } from './messages';

export const ENVELOPE_VERSION = 2;

/** The bytes the authority signs: the `signed` member exactly as it goes on the wire. */
export function signedBytes(f: CommandFields): Buffer {
  return Buffer.from(JSON.stringify(orderedFields(f)), 'utf8');
}

function orderedFields<T extends string, B>(f: CommandFields<T, B>): CommandFields<T, B> {
  return { type: f.type, unitId: f.unitId, commandId: f.commandId, issuedAt: f.issuedAt, expiresAt: f.expiresAt, body: f.body };
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

/** Build and sign an envelope (the central side). `JSON.stringify` of it (or encodeCommand) is the payload. */
export function signCommand<B>(cmd: NewCommand<B>, authorityPrivate: KeyObject): CommandEnvelope<string, B> {
  if (authorityPrivate.asymmetricKeyType !== 'ed25519' || authorityPrivate.type !== 'private') {
    throw new Error('the authority key must be an Ed25519 private key (authority-ed25519.key)');
  }
  const commandId = cmd.commandId ?? randomUUID();
  if (!COMMAND_ID.test(commandId)) throw new Error(`commandId '${commandId}' must be 8-128 letters, digits or . _ : -`);
  const signed: CommandFields<string, B> = orderedFields({
    type: cmd.type,
    unitId: cmd.unitId,
    commandId,
    issuedAt: cmd.now.toISOString(),
    expiresAt: new Date(cmd.now.getTime() + (cmd.ttlS ?? 300) * 1000).toISOString(),
    body: cmd.body,
  });
  const sig = sign(null, signedBytes(signed), authorityPrivate).toString('base64');
  return { v: ENVELOPE_VERSION, commandId, sig, signed };
}

/** The payload bytes of a signed envelope (what `cmd/<type>` carries). */
export function encodeCommand(env: CommandEnvelope): Buffer {
  return Buffer.from(JSON.stringify({ v: env.v, commandId: env.commandId, sig: env.sig, signed: env.signed }), 'utf8');
}

export class CommandRefusedError extends Error {
  override name = 'CommandRefusedError';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    /** What could be read of the command, for the cmd-result (unauthenticated before the signature check). */
    readonly commandId: string | null = null,
    readonly type: string | null = null,
    /** True when the signature had verified: the refusal is of a command the authority signed. */
    readonly authenticated = false,
  ) {
    super(message);
  }
}

/** Payload size limits, per command: only start-session carries a bundle. */
export interface CommandLimits {
  /** start-session (a bundle in base64): mqtt.commands.maxPayloadBytes. */
  maxPayloadBytes: number;
  /** Every other command: mqtt.commands.maxSmallPayloadBytes. */
  maxSmallPayloadBytes: number;
  maxLifetimeS: number;
  clockSkewS: number;
}

/** The limit for a command arriving on `cmd/<topicType>`. */
export function payloadLimitFor(topicType: string, limits: Pick<CommandLimits, 'maxPayloadBytes' | 'maxSmallPayloadBytes'>): { bytes: number; key: string } {
  return topicType === 'start-session'
    ? { bytes: limits.maxPayloadBytes, key: 'mqtt.commands.maxPayloadBytes' }
    : { bytes: Math.min(limits.maxSmallPayloadBytes, limits.maxPayloadBytes), key: 'mqtt.commands.maxSmallPayloadBytes' };
}

/** Commands whose validity window is not enforced (see verifyCommand): ending is always safe. */
export const WINDOW_EXEMPT: ReadonlySet<string> = new Set(['end-session']);

export interface VerifyContext extends CommandLimits {
  unitId: string;
  authorityPublic: KeyObject;
  now: Date;
  /** The command type named by the topic (`cmd/<name>`). */
  topicType: string;
}

/** A verified command, with what the window check found (an exempt command may be outside it). */
export type VerifiedCommand = CommandEnvelope & { outsideWindow?: 'expired' | 'not-yet-valid' };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const COMMAND_ID = /^[A-Za-z0-9_.:-]{8,128}$/;
/** The fixed start of a v2 payload, up to the first byte of `signed` (at most ~260 bytes). */
const PREFIX = /^\{"v":2,"commandId":"([A-Za-z0-9_.:-]{8,128})","sig":"([A-Za-z0-9+/]{86}==)","signed":/;
const PREFIX_ID = /^\{"v":2,"commandId":"([A-Za-z0-9_.:-]{8,128})",/;
const PREFIX_MAX = 300;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Verify one command payload. Checks, in order: size (per command type), the envelope prefix,
 * the signature over the raw `signed` bytes, then (parsed) shape, topic, unit and the validity
 * window. For end-session the window is not enforced (an operator's end-session is never refused
 * because the unit's clock is off: ending and wiping is always safe); the result says so in
 * `outsideWindow`, and the caller keeps replay protection by command id.
 * (Replay and type are the caller's: they need state and the dispatch table.)
 * Throws CommandRefusedError with the reason; returns the verified envelope.
 */
export function verifyCommand(payload: Buffer, ctx: VerifyContext): VerifiedCommand {
  const topicType = ctx.topicType.slice(0, 64);
  const limit = payloadLimitFor(ctx.topicType, ctx);
  if (payload.length > limit.bytes) {
    throw new CommandRefusedError('oversized', `${topicType} command payload is ${payload.length} bytes, more than the ${limit.bytes} allowed (${limit.key})`, null, topicType);
  }
  const head = payload.subarray(0, PREFIX_MAX).toString('latin1');
  const m = PREFIX.exec(head);
  if (!m) {
    const id = PREFIX_ID.exec(head)?.[1] ?? null;
    if (id !== null) {
      if (!/^\{"v":2,"commandId":"[^"]*","sig":/.test(head) || /^\{"v":2,"commandId":"[^"]*","sig":(""|null)/.test(head)) {
        throw new CommandRefusedError('missing-signature', 'the command carries no signature (sig)', id, topicType);
      }
      if (!/^\{"v":2,"commandId":"[^"]*","sig":"[A-Za-z0-9+/]{86}==",/.test(head)) {
        throw new CommandRefusedError('bad-signature', 'sig must be the base64 of a 64-byte Ed25519 signature', id, topicType);
      }
    }
    if (/^\s*\{\s*"v"\s*:\s*1\s*[,}]/.test(head) || (/^\s*\{/.test(head) && /"sig"\s*:/.test(head) && !/^\{"v":2,/.test(head))) {
      throw new CommandRefusedError('malformed', 'this is a v1 command envelope (signature inside the JSON): the unit takes only v2, signed over raw bytes; sign it with this version of lfr-edge (central send / signCommand)', null, topicType);
    }
    throw new CommandRefusedError('malformed', 'not a command envelope: expected {"v":2,"commandId":"...","sig":"...","signed":{...}} with its members in that order', id, topicType);
  }
  const commandId = m[1];
  // Until the signed part is read, the cmd-result names the topic's type and the envelope's (unauthenticated) commandId.
  const refuse = (reason: RefusalReason, msg: string, type: string | null = topicType) => new CommandRefusedError(reason, msg, commandId, type);
  if (payload[payload.length - 1] !== 0x7d /* } */) throw refuse('malformed', 'the envelope does not end with "}"');
  const signed = payload.subarray(Buffer.byteLength(m[0], 'latin1'), payload.length - 1);
  let ok: boolean;
  try {
    ok = verify(null, signed, ctx.authorityPublic, Buffer.from(m[2], 'base64'));
  } catch (err) {
    throw refuse('bad-signature', `signature check failed: ${(err as Error).message}`);
  }
  if (!ok) throw refuse('bad-signature', 'the signature does not verify against the authority key');
  return checkSigned(signed, commandId, m[2], ctx, topicType);
}

/** The checks after the signature verified (the signed part may now be parsed). */
function checkSigned(signed: Buffer, commandId: string, sig: string, ctx: VerifyContext, topicType: string): VerifiedCommand {
  const refuse = (reason: RefusalReason, msg: string, type: string | null = topicType) => new CommandRefusedError(reason, msg, commandId, type, true);

  // Signed by the authority from here on: parsing is safe.
  let parsed: unknown;
  try {
    parsed = JSON.parse(signed.toString('utf8'));
  } catch (err) {
    throw refuse('malformed', `the signed part is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw refuse('malformed', 'the signed part must be a JSON object');
  const type = typeof parsed.type === 'string' ? parsed.type.slice(0, 64) : null;
  if (type === null) throw refuse('malformed', 'type must be a string');
  if (parsed.commandId !== commandId) throw refuse('malformed', 'the signed commandId differs from the envelope commandId', type);
  if (type !== ctx.topicType) throw refuse('malformed', `envelope type '${type}' does not match the topic cmd/${topicType}`, type);
  if (typeof parsed.unitId !== 'string') throw refuse('malformed', 'unitId must be a string', type);
  for (const k of ['issuedAt', 'expiresAt'] as const) {
    const v = parsed[k];
    if (typeof v !== 'string' || !ISO.test(v) || Number.isNaN(Date.parse(v))) throw refuse('malformed', `${k} must be an ISO-8601 time`, type);
  }
  if (!('body' in parsed) || !isObject(parsed.body)) throw refuse('malformed', 'body must be a JSON object', type);
  const fields = parsed as unknown as CommandFields;
  if (fields.unitId !== ctx.unitId) throw refuse('wrong-unit', `the command is for unit '${fields.unitId}', this is '${ctx.unitId}'`, type);
  const issued = Date.parse(fields.issuedAt);
  const expires = Date.parse(fields.expiresAt);
  if (expires <= issued) throw refuse('malformed', 'expiresAt must be after issuedAt', type);
  if (expires - issued > ctx.maxLifetimeS * 1000) {
    throw refuse('malformed', `the command is valid for ${Math.round((expires - issued) / 1000)} s, more than the ${ctx.maxLifetimeS} s allowed`, type);
  }
  const env: VerifiedCommand = { v: ENVELOPE_VERSION, commandId, sig, signed: fields };
  const now = ctx.now.getTime();
  let outside: VerifiedCommand['outsideWindow'];
  let why = '';
  if (now >= expires) {
    outside = 'expired';
    why = `the command expired at ${fields.expiresAt}`;
  } else if (issued > now + ctx.clockSkewS * 1000) {
    outside = 'not-yet-valid';
    why = `the command is issued at ${fields.issuedAt}, in the future by more than ${ctx.clockSkewS} s (check the clocks)`;
  }
  if (outside) {
    if (!WINDOW_EXEMPT.has(type)) throw refuse(outside, why, type);
    env.outsideWindow = outside;
  }
  return env;
}
