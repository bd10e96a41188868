/**
 * docs/asyncapi.yaml agrees with docs/mqtt-api.md and with the code: every channel's payload
 * schema compiles, the documented examples validate, and the calibration facts the session code
 * builds from the shipped calibration (what the session message and the record carry) validate.
 * The real unit's session message and record are checked against it in
 * test/session/calibration-policy.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/paths';
import { sessionCalibrationFacts } from '../../src/session/calibration-policy';
import { thresholdFor, type Calibration } from '../../src/recognition/calibration';
import { asyncapiDoc, schemaErrors } from '../helpers/asyncapi';

const mqttApi = readFileSync(path.join(packageRoot(), 'docs', 'mqtt-api.md'), 'utf8');

/** The first ```json block after the heading. */
function example(heading: string): unknown {
  const at = mqttApi.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`docs/mqtt-api.md has no heading '${heading}'`);
  const m = /```json\n([\s\S]*?)\n```/.exec(mqttApi.slice(at));
  if (!m) throw new Error(`no JSON example under '${heading}'`);
  return JSON.parse(m[1]);
}

t.test('every channel payload resolves to a schema', async (t) => {
  const doc = asyncapiDoc();
  for (const [name, ch] of Object.entries(doc.channels)) {
    for (const msg of Object.values(ch.messages)) {
      const ref = msg.payload.$ref as string | undefined;
      if (!ref) continue;
      const schema = ref.replace('#/components/schemas/', '');
      t.ok(doc.components.schemas[schema], `${name}: ${ref}`);
      schemaErrors(schema, {}); // compiles
    }
  }
});

t.test('the examples of docs/mqtt-api.md validate', async (t) => {
  for (const [heading, schema] of [['### session', 'Session'], ['### alert', 'Alert'], ['### record', 'Record'], ['### cmd/<type> (commands)', 'CommandEnvelope']] as const) {
    t.same(schemaErrors(schema, example(heading)), [], `${heading} example is a valid ${schema}`);
  }
});

t.test('the calibration the session code states validates; a bad one is caught', async (t) => {
  const cal = JSON.parse(readFileSync(path.join(packageRoot(), 'models', 'calibration.json'), 'utf8')) as Calibration;
  const d = thresholdFor(cal, { falseAlertRate: 0.001, watchlistSize: 120 });
  const facts = sessionCalibrationFacts(cal, d.threshold, d.perComparisonFmr);
  t.ok(Object.keys(facts.fmrByGroup).length > 1, `groups: ${Object.keys(facts.fmrByGroup).join(', ')}`);
  t.same(schemaErrors('Calibration', facts), [], 'Calibration as the code emits it');
  t.same(schemaErrors('Session', { v: 1, unitId: 'van-1', sessionId: 's-1', state: 'active', threshold: d.threshold, targetFalseAlertRate: 0.001, decidingGroup: d.decidingGroup, calibration: facts, at: new Date().toISOString() }), []);
  const { interval: _i, ...noInterval } = facts.fmrByGroup.overall;
  t.match(schemaErrors('Calibration', { ...facts, fmrByGroup: { ...facts.fmrByGroup, overall: noInterval } }), [/must have required property 'interval'/], 'the schema is not a rubber stamp');
  t.match(schemaErrors('Calibration', { ...facts, perGroup: {} }), [/must NOT have additional properties \(perGroup\)/]);
});

t.test('the documented health example carries every field the health channel requires', async (t) => {
  const doc = asyncapiDoc() as unknown as { channels: Record<string, { messages: Record<string, { payload: { required: string[] } }> }> };
  const required = doc.channels.health.messages.health.payload.required;
  const h = example('### health') as Record<string, unknown>;
  t.same(required.filter((k) => !(k in h)), [], 'nothing required is missing from the example');
  t.ok(required.includes('components') && required.includes('watchdog'), 'components and watchdog are required');
  t.match(h, { components: [{ name: 'audit', state: 'running', reason: null, restarts: 0 }], watchdog: { enabled: true, withheld: false, reason: null }, camera: { fpsFailed: 0, framesFailed: 131, lastFrameError: null } });
});
