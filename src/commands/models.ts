/**
 * lfr-edge models verify | add. `add` brings an operator's licensed model onto the unit: copies
 * the file in, pins its sha256 in the manifest, checks the declared spec against the file (the
 * same check the unit makes at start: src/models/spec.ts), records the licence and the source,
 * and reports it uncalibrated (no calibration for its sha256 yet). The unit refuses sessions until
 * `lfr-edge calibrate` has made one, and refuses bundles built with another embedder.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManifestSchema, ModelEntrySchema, ModelError, loadManifest, sha256File, verifyModels, type ModelEntry } from '../models/manifest';
import { checkModelIo } from '../models/spec';
import { resolveFromRoot } from '../paths';
import { readCalibrationFile } from '../recognition/calibration';
import { CALIBRATE_COMMAND } from '../session/calibration-policy';
import { configFrom, parse, requireOpt, UsageError, UserError, type Command, type CommandIO } from './common';

export const usage = `lfr-edge models verify [--config FILE]
    check every model file against the manifest; say whether the embedder in use is calibrated
lfr-edge models add --file MODEL.onnx --role embedder --name KEY (--spec JSON | --spec-file FILE)
                    --licence TEXT --source TEXT [--config FILE]
    copy an operator's model into models.dir, pin its sha256 in the manifest, check the declared
    spec (input name, shape, channels, mean, scale; outputs; alignment; embedding output and dim)
    against the file, record its licence and source. It starts uncalibrated: set models.embedder
    to KEY, then 'lfr-edge calibrate' and 'lfr-edge watchlist build' for it (docs/models.md).`;

const OPTIONS = {
  config: { type: 'string' },
  file: { type: 'string' },
  role: { type: 'string' },
  name: { type: 'string' },
  spec: { type: 'string' },
  'spec-file': { type: 'string' },
  licence: { type: 'string' },
  source: { type: 'string' },
} as const;

const ROLES = ['embedder', 'detector', 'landmarks'] as const;

export const modelsCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, OPTIONS);
  switch (positionals[0]) {
    case 'verify':
      return verify(values.config, io);
    case 'add':
      return add(values, io);
    default:
      io.stderr(`usage:\n${usage}\n`);
      return 2;
  }
};

function verify(config: string | undefined, io: CommandIO): number {
  const cfg = configFrom(config, io);
  const v = verifyModels(cfg.models);
  for (const [key, p] of Object.entries(v.paths)) io.stdout(`${v.manifest.models[key].kind}: ${p} ok (${key})\n`);
  io.stdout(`embedder sha256 ${v.embedderSha256}\n`);
  io.stdout(`embedder in use: ${v.embedder}, sha256 ${v.embedderSha256}\n`);
  io.stdout(`${calibrationStatus(resolveFromRoot(cfg.session.calibrationFile), v.embedderSha256)}\n`);
  return 0;
}

/** Whether the calibration the session will read is for this embedder. */
export function calibrationStatus(file: string, embedderSha256: string): string {
  if (!existsSync(file)) return `uncalibrated: no calibration at ${file}; make one with '${CALIBRATE_COMMAND.replace('FILE', file)}'`;
  try {
    const cal = readCalibrationFile(file);
    if (cal.model.embedderSha256 === embedderSha256) return `calibrated: ${file} (created ${cal.createdAt}, ${Object.keys(cal.groups ?? {}).length} groups)`;
    return `uncalibrated: ${file} is for embedder ${cal.model.embedderSha256}; make one with '${CALIBRATE_COMMAND.replace('FILE', file)}'`;
  } catch (err) {
    return `uncalibrated: ${(err as Error).message}`;
  }
}

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

function readSpec(values: Values): Record<string, unknown> {
  if (values.spec !== undefined && values['spec-file'] !== undefined) throw new UsageError('give --spec or --spec-file, not both');
  let text: string;
  let from: string;
  if (values['spec-file'] !== undefined) {
    from = values['spec-file'];
    try {
      text = readFileSync(from, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read --spec-file ${from}: ${(err as Error).message}`);
    }
  } else {
    text = requireOpt(values.spec, 'spec (or --spec-file)');
    from = '--spec';
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${from} is not JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${from} must be a JSON object (input, outputs, alignment, embedding)`);
  for (const k of ['kind', 'file', 'sha256', 'source']) {
    if (k in raw) throw new UserError(`${from}: '${k}' is set by 'models add' (from --role, --file and --source), leave it out`);
  }
  return raw as Record<string, unknown>;
}

async function add(values: Values, io: CommandIO): Promise<number> {
  const file = requireOpt(values.file, 'file');
  const role = requireOpt(values.role, 'role');
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got '${role}'`);
  const licence = requireOpt(values.licence, 'licence');
  const source = requireOpt(values.source, 'source');
  const spec = readSpec(values);
  const key = values.name ?? path.basename(file).replace(/\.onnx$/i, '');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) throw new UsageError(`--name '${key}': 1-64 letters, digits, '_', '.' or '-'`);
  if (!existsSync(file)) throw new UserError(`--file ${file}: no such file`);
  const cfg = configFrom(values.config, io);
  const manifestFile = resolveFromRoot(cfg.models.manifest);
  const manifest = loadManifest(manifestFile);
  const sha256 = sha256File(file);
  const dir = resolveFromRoot(cfg.models.dir);
  const fileName = path.basename(file);

  const parsed = ModelEntrySchema.safeParse({ ...spec, kind: role, file: fileName, sha256, source: key });
  if (!parsed.success) {
    throw new UserError(`the spec for ${key} is not a valid ${role} entry: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')} (docs/models.md lists the fields)`);
  }
  const entry: ModelEntry = parsed.data;
  const have = manifest.models[key];
  if (have) {
    if (have.sha256 === sha256) {
      io.stdout(`${role} ${key} is already in ${manifestFile} with sha256 ${sha256}: nothing to do\n`);
      return 0;
    }
    throw new UserError(`${manifestFile} already has a model '${key}' (sha256 ${have.sha256}); give the new one another --name`);
  }
  const clash = Object.entries(manifest.models).find(([, m]) => m.file === fileName);
  if (clash) throw new UserError(`${manifestFile}: model '${clash[0]}' already uses the file name ${fileName}; rename the file`);

  // The declared spec against the file: the same check the unit makes when it opens the model.
  await checkAgainstFile(key, entry, file);

  mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, fileName);
  if (existsSync(dest) && sha256File(dest) !== sha256) throw new UserError(`${dest} exists and is a different file; rename the new model`);
  if (path.resolve(dest) !== path.resolve(file)) copyFileSync(file, dest);
  if (sha256File(dest) !== sha256) throw new UserError(`copying ${file} to ${dest} changed it (sha256 differs): check the disk`);

  const next = {
    ...manifest,
    sources: { ...manifest.sources, [key]: { license: licence, source, addedBy: 'lfr-edge models add', addedAt: new Date().toISOString() } },
    models: { ...manifest.models, [key]: entry },
  };
  const check = ManifestSchema.safeParse(next);
  if (!check.success) throw new ModelError(`the manifest with ${key} would be malformed: ${check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const tmp = `${manifestFile}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n');
  renameSync(tmp, manifestFile);

  const calFile = resolveFromRoot(cfg.session.calibrationFile);
  io.stdout(
    [
      `added ${role} ${key}: ${dest}, sha256 ${sha256}`,
      `  spec checked against the file; licence and source recorded in ${manifestFile}`,
      ...(role === 'embedder'
        ? [
            `  uncalibrated: no calibration for sha256 ${sha256}; sessions with it are refused until one is made`,
            `  to use it: set models.embedder to '${key}' in the config, then`,
            `    ${CALIBRATE_COMMAND.replace('FILE', calFile)}`,
            `    lfr-edge watchlist build ...   (bundles name the embedder's sha256: old ones are refused)`,
            `    scripts/build-trt-engines.js   (on a Jetson: its TensorRT engine)`,
          ]
        : []),
    ].join('\n') + '\n',
  );
  return 0;
}

/** Open the model with ONNX Runtime (CPU) and compare its inputs and outputs with the entry; run it once on zeros. */
async function checkAgainstFile(key: string, entry: ModelEntry, file: string): Promise<void> {
  const { ort } = await import('../vision/ort');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], logSeverityLevel: 4 });
  } catch (err) {
    throw new UserError(`${file} is not a model ONNX Runtime can open: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const meta = (m: { name: string; isTensor: boolean; shape?: ReadonlyArray<number | string> }) => ({ name: m.name, shape: m.isTensor && m.shape ? m.shape : [] });
    try {
      checkModelIo(key, entry, session.inputMetadata.map(meta), session.outputMetadata.map(meta));
    } catch (err) {
      if (err instanceof ModelError) throw new UserError(`the spec does not match the file: ${err.message}`);
      throw err;
    }
    if (entry.kind === 'embedder') {
      const shape = entry.input.shape.map((d) => (typeof d === 'number' ? d : 1));
      const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape) });
      const got = out[entry.embedding.output]?.data.length;
      if (got !== entry.embedding.dim) {
        throw new UserError(`the spec does not match the file: model ${key}: embedding.dim: the manifest says ${entry.embedding.dim}, one run of the file gives ${got} values on '${entry.embedding.output}'`);
      }
    }
  } finally {
    await session.release();
  }
}
