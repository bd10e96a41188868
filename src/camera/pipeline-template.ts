/**
 * Camera pipelines as data: each `gst-pipelines/<name>.json` holds one gst-launch template with
 * typed variables. `renderTemplate()` is pure (template + settings -> launch string); an unknown
 * setting, a missing one (without a default) or a value of the wrong type is an error naming the
 * variable. String values are quoted for gst-launch, so a path or URL cannot inject elements.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../paths';

export const PIPELINE_TEMPLATES = ['jetson-csi', 'jetson-rtsp', 'usb-v4l2', 'rtsp', 'file', 'test'] as const;
export type PipelineTemplateName = (typeof PIPELINE_TEMPLATES)[number];

const VariableSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('int'), min: z.number().int(), max: z.number().int(), default: z.number().int().optional(), description: z.string().optional() }),
  z.strictObject({ type: z.literal('bool'), default: z.boolean().optional(), description: z.string().optional() }),
  z.strictObject({ type: z.literal('enum'), values: z.array(z.string()).min(1), default: z.string().optional(), description: z.string().optional() }),
  z.strictObject({ type: z.literal('path'), default: z.string().optional(), description: z.string().optional() }),
  z.strictObject({ type: z.literal('url'), schemes: z.array(z.string()).min(1), default: z.string().optional(), description: z.string().optional() }),
]);
export type TemplateVariable = z.infer<typeof VariableSchema>;

export const PipelineTemplateSchema = z.strictObject({
  description: z.string(),
  /** A live source restarts on EOS; a non-live one (a file) ends there. */
  live: z.boolean(),
  platform: z.enum(['jetson']).optional(),
  /** Variables naming files/devices that must exist before the pipeline is started. */
  requiredPaths: z.array(z.string()).optional(),
  variables: z.record(z.string(), VariableSchema),
  /** Template-only values chosen by a variable's value: `{from: var, <value>: text}`. */
  derived: z.record(z.string(), z.record(z.string(), z.string())).optional(),
  template: z.string().min(1),
});
export type PipelineTemplate = z.infer<typeof PipelineTemplateSchema> & { name: string };

export type PipelineSettings = Record<string, string | number | boolean>;

export interface RenderedPipeline {
  template: string;
  launch: string;
  live: boolean;
  /** Files/devices (resolved values) that must exist for the pipeline to start. */
  requiredPaths: string[];
}

export class PipelineTemplateError extends Error {
  override name = 'PipelineTemplateError';
}

const templateCache = new Map<string, PipelineTemplate>();

export function templatesDir(): string {
  return path.join(packageRoot(), 'gst-pipelines');
}

/** Read and check `gst-pipelines/<name>.json` (cached). */
export function loadTemplate(name: string, dir = templatesDir()): PipelineTemplate {
  const key = `${dir}\0${name}`;
  const cached = templateCache.get(key);
  if (cached) return cached;
  if (!(PIPELINE_TEMPLATES as readonly string[]).includes(name)) {
    throw new PipelineTemplateError(`unknown pipeline template '${name}' (known: ${PIPELINE_TEMPLATES.join(', ')})`);
  }
  const file = path.join(dir, `${name}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PipelineTemplateError(`cannot read pipeline template ${file}: ${(err as Error).message}`);
  }
  const parsed = PipelineTemplateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PipelineTemplateError(`pipeline template ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const tpl = { ...parsed.data, name };
  templateCache.set(key, tpl);
  return tpl;
}

/** Quote a string for gst-launch property syntax. */
export function quoteGstString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function describe(v: TemplateVariable): string {
  switch (v.type) {
    case 'int': return `an integer ${v.min}..${v.max}`;
    case 'bool': return 'true or false';
    case 'enum': return `one of ${v.values.join(', ')}`;
    case 'path': return 'a file or device path';
    case 'url': return `a ${v.schemes.join('/')} URL`;
  }
}

function checkValue(tplName: string, name: string, v: TemplateVariable, value: unknown): string | number | boolean {
  const bad = () => new PipelineTemplateError(
    `pipeline '${tplName}': variable '${name}' must be ${describe(v)}, got ${JSON.stringify(value)}`);
  switch (v.type) {
    case 'int': {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < v.min || n > v.max) throw bad();
      return n;
    }
    case 'bool': {
      if (value === 'true') return true;
      if (value === 'false') return false;
      if (typeof value !== 'boolean') throw bad();
      return value;
    }
    case 'enum':
      if (typeof value !== 'string' || !v.values.includes(value)) throw bad();
      return value;
    case 'path':
      if (typeof value !== 'string' || value.length === 0 || /[\0-\x1f]/.test(value)) throw bad();
      return value;
    case 'url': {
      if (typeof value !== 'string' || /[\0-\x1f\s]/.test(value)) throw bad();
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
      if (!scheme || !v.schemes.includes(scheme)) throw bad();
      return value;
    }
  }
}

function format(v: TemplateVariable, value: string | number | boolean): string {
  if (v.type === 'path' || v.type === 'url') return quoteGstString(String(value));
  return String(value);
}

/** Pure: a template and settings -> the gst-launch string. */
export function renderTemplate(tpl: PipelineTemplate, settings: PipelineSettings): RenderedPipeline {
  for (const key of Object.keys(settings)) {
    if (!(key in tpl.variables)) {
      const known = Object.keys(tpl.variables);
      throw new PipelineTemplateError(
        `pipeline '${tpl.name}': unknown variable '${key}' (known: ${known.length ? known.join(', ') : 'none'})`);
    }
  }
  const values = new Map<string, string | number | boolean>();
  for (const [name, v] of Object.entries(tpl.variables)) {
    const given = settings[name];
    const value = given ?? v.default;
    if (value === undefined) {
      throw new PipelineTemplateError(`pipeline '${tpl.name}': missing variable '${name}' (${describe(v)})`);
    }
    values.set(name, checkValue(tpl.name, name, v, value));
  }
  const text = new Map<string, string>();
  for (const [name, value] of values) text.set(name, format(tpl.variables[name], value));
  for (const [name, table] of Object.entries(tpl.derived ?? {})) {
    const from = table.from;
    if (!from || !values.has(from)) {
      throw new PipelineTemplateError(`pipeline template '${tpl.name}': derived '${name}' names no variable ('from': ${JSON.stringify(from)})`);
    }
    const chosen = table[String(values.get(from))];
    if (chosen === undefined) {
      throw new PipelineTemplateError(`pipeline template '${tpl.name}': derived '${name}' has no entry for ${from}=${String(values.get(from))}`);
    }
    text.set(name, chosen);
  }
  const launch = tpl.template.replace(/\$\{([A-Za-z0-9_]+)\}|\$\{[^}]*\}?/g, (whole, name: string | undefined) => {
    if (!name) throw new PipelineTemplateError(`pipeline template '${tpl.name}': malformed placeholder ${whole}`);
    const t = text.get(name);
    if (t === undefined) throw new PipelineTemplateError(`pipeline template '${tpl.name}': placeholder '\${${name}}' is not a declared variable`);
    return t;
  });
  const requiredPaths = (tpl.requiredPaths ?? []).map((name) => {
    const v = values.get(name);
    if (typeof v !== 'string') throw new PipelineTemplateError(`pipeline template '${tpl.name}': requiredPaths names '${name}', not a path variable`);
    return v;
  });
  return { template: tpl.name, launch, live: tpl.live, requiredPaths };
}

/** Render a named template from `gst-pipelines/`. */
export function renderPipeline(templateName: string, settings: PipelineSettings, dir?: string): RenderedPipeline {
  return renderTemplate(loadTemplate(templateName, dir), settings);
}
