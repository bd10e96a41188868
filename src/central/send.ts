/** `central send`: sign a command, publish it, wait for its cmd-result. */
import type { KeyObject } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { encodeCommand, signCommand } from '../comms/command-envelope';
import type { CommandEnvelope, CommandResultMessage } from '../comms/messages';
import { commandTopic, unitTopic } from '../comms/topics';

export type SendOutcome = { kind: 'result'; result: CommandResultMessage } | { kind: 'timeout' };

/** Publish a signed command on an open client and wait for the matching cmd-result. */
export async function sendCommand(
  client: MqttClient,
  cmd: { type: string; unitId: string; body: object; ttlS?: number },
  authorityPrivate: KeyObject,
  timeoutS: number,
  now: Date = new Date(),
): Promise<{ envelope: CommandEnvelope; outcome: SendOutcome }> {
  const envelope = signCommand({ ...cmd, now }, authorityPrivate);
  const resultTopic = unitTopic(cmd.unitId, 'cmd-result');
  let onMessage: ((topic: string, payload: Buffer) => void) | undefined;
  const answer = new Promise<SendOutcome>((resolve) => {
    onMessage = (topic, payload) => {
      if (topic !== resultTopic) return;
      let r: CommandResultMessage;
      try {
        r = JSON.parse(payload.toString('utf8')) as CommandResultMessage;
      } catch {
        return; // not ours to judge: a unit's malformed message is ignored here
      }
      if (r.commandId === envelope.commandId) resolve({ kind: 'result', result: r });
    };
    client.on('message', onMessage);
  });
  await client.subscribeAsync(resultTopic, { qos: 1 });
  await client.publishAsync(commandTopic(cmd.unitId, cmd.type), encodeCommand(envelope), { qos: 1 });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SendOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutS * 1000);
  });
  const outcome = await Promise.race([answer, timeout]);
  clearTimeout(timer);
  if (onMessage) client.removeListener('message', onMessage);
  return { envelope, outcome };
}
