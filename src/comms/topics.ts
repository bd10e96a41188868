/**
 * Every MQTT topic, built here and nowhere else: `lfr/v1/<unitId>/<kind>`.
 * Pure functions; no wildcards ever in a publish topic.
 */
import type { CommandType, OutgoingKind } from './messages';

export const TOPIC_ROOT = 'lfr/v1';
const UNIT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class TopicError extends Error {
  override name = 'TopicError';
}

function checkUnit(unitId: string): string {
  if (!UNIT_ID.test(unitId)) throw new TopicError(`unit id '${unitId}' is not usable in a topic: 1-64 letters, digits, '-' or '_'`);
  return unitId;
}

/** The topic a unit publishes `kind` on. */
export function unitTopic(unitId: string, kind: OutgoingKind): string {
  return `${TOPIC_ROOT}/${checkUnit(unitId)}/${kind}`;
}

/** The topic a command of `type` is sent to. */
export function commandTopic(unitId: string, type: CommandType | string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(type)) throw new TopicError(`command type '${type}' is not usable in a topic`);
  return `${TOPIC_ROOT}/${checkUnit(unitId)}/cmd/${type}`;
}

/** What a unit subscribes to for its commands. */
export function commandSubscription(unitId: string): string {
  return `${TOPIC_ROOT}/${checkUnit(unitId)}/cmd/+`;
}

/** What the central side subscribes to: one unit's outgoing topics, or every unit's with '+'. */
export function centralSubscriptions(unit: string): string[] {
  const u = unit === '+' ? '+' : checkUnit(unit);
  return ['status', 'health', 'session', 'alert', 'record', 'cmd-result'].map((k) => `${TOPIC_ROOT}/${u}/${k}`);
}

export type ParsedTopic =
  | { unitId: string; kind: OutgoingKind }
  | { unitId: string; kind: 'cmd'; command: string };

/** Split an incoming topic; undefined when it is not one of ours. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const parts = topic.split('/');
  if (parts.length < 4 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || !UNIT_ID.test(parts[2])) return undefined;
  const unitId = parts[2];
  if (parts.length === 5 && parts[3] === 'cmd') return { unitId, kind: 'cmd', command: parts[4] };
  if (parts.length !== 4) return undefined;
  const kind = parts[3];
  if (['status', 'health', 'session', 'alert', 'record', 'cmd-result'].includes(kind)) return { unitId, kind: kind as OutgoingKind };
  return undefined;
}
