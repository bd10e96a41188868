/** Validate payloads against the schemas of docs/asyncapi.yaml (ajv; formats are not checked). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { packageRoot } from '../../src/paths';

export const ASYNCAPI_FILE = path.join(packageRoot(), 'docs', 'asyncapi.yaml');

let ajv: Ajv | undefined;

export function asyncapiDoc(): { channels: Record<string, { messages: Record<string, { payload: Record<string, unknown> }> }>; components: { schemas: Record<string, unknown> } } {
  return parse(readFileSync(ASYNCAPI_FILE, 'utf8'));
}

/** The errors of `value` against components.schemas[name], as readable lines (empty: valid). */
export function schemaErrors(name: string, value: unknown): string[] {
  if (!ajv) {
    ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'asyncapi', components: asyncapiDoc().components });
  }
  const validate = ajv.getSchema(`asyncapi#/components/schemas/${name}`);
  if (!validate) throw new Error(`docs/asyncapi.yaml has no components.schemas.${name}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${name}${e.instancePath} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
