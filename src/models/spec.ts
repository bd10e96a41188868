/**
 * Does a model file agree with its manifest entry? Pure: compares the entry with the input and
 * output metadata of the file's ONNX Runtime session, and throws a ModelError naming the model,
 * the field and both values at the first disagreement. Static dimensions must be equal; a
 * dimension the manifest declares dynamic (a string) must be dynamic in the file; a dimension the
 * file leaves dynamic accepts the manifest's static size.
 */
import { ModelError, type ModelEntry } from './manifest';

export interface IoMetadata {
  name: string;
  /** Empty when the file does not say. Numbers are static, strings symbolic (dynamic). */
  shape: ReadonlyArray<number | string>;
}

const fmt = (s: ReadonlyArray<number | string>) => `[${s.map((d) => (typeof d === 'string' ? `'${d}'` : String(d))).join(',')}]`;

function checkShape(key: string, field: string, declared: ReadonlyArray<number | string>, actual: ReadonlyArray<number | string>): void {
  const fail = (why: string) => {
    throw new ModelError(`model ${key}: ${field}: the manifest says ${fmt(declared)}, the model file has ${fmt(actual)} (${why})`);
  };
  if (actual.length === 0) return; // the file does not declare a shape
  if (declared.length !== actual.length) fail(`rank ${declared.length} vs ${actual.length}`);
  declared.forEach((d, i) => {
    const a = actual[i];
    if (typeof d === 'number' && typeof a === 'number' && d !== a) fail(`dimension ${i}: ${d} vs ${a}`);
    if (typeof d === 'string' && typeof a === 'number') fail(`dimension ${i}: dynamic in the manifest, ${a} in the file`);
  });
}

/** Throws ModelError when `entry` disagrees with the file's `inputs`/`outputs` metadata. */
export function checkModelIo(key: string, entry: ModelEntry, inputs: readonly IoMetadata[], outputs: readonly IoMetadata[]): void {
  const names = (l: readonly IoMetadata[]) => l.map((m) => m.name).join(', ');
  const input = inputs.find((m) => m.name === entry.input.name);
  if (!input) {
    throw new ModelError(`model ${key}: input.name: the manifest says '${entry.input.name}', the model file's inputs are ${names(inputs)}`);
  }
  if (inputs.length !== 1) throw new ModelError(`model ${key}: inputs: the manifest declares one input, the model file has ${inputs.length} (${names(inputs)})`);
  checkShape(key, 'input.shape', entry.input.shape, input.shape);
  const channels = entry.input.channels === 'GREY' ? 1 : 3;
  if (entry.input.shape[1] !== channels) {
    throw new ModelError(`model ${key}: input.shape: channels ${entry.input.channels} need ${channels} planes (NCHW), the manifest says ${entry.input.shape[1]}`);
  }
  for (const f of ['mean', 'scale'] as const) {
    if (entry.input[f].length !== channels) {
      throw new ModelError(`model ${key}: input.${f}: ${entry.input[f].length} values, the ${entry.input.channels} input has ${channels} channel(s)`);
    }
  }
  const dynH = typeof entry.input.shape[2] === 'string', dynW = typeof entry.input.shape[3] === 'string';
  if ((dynH || dynW) && !entry.input.dynamic) {
    throw new ModelError(`model ${key}: input.dynamic: the input's height/width are dynamic, so the manifest must give input.dynamic (multipleOf, width)`);
  }
  for (const [name, shape] of Object.entries(entry.outputs)) {
    const out = outputs.find((m) => m.name === name);
    if (!out) throw new ModelError(`model ${key}: outputs.${name}: the manifest names output '${name}', the model file's outputs are ${names(outputs)}`);
    checkShape(key, `outputs.${name}`, shape, out.shape);
  }
  const used: string[] = [];
  if (entry.kind === 'embedder') {
    used.push(entry.embedding.output);
    const shape = entry.outputs[entry.embedding.output];
    const last = shape?.[shape.length - 1];
    if (last !== entry.embedding.dim) {
      throw new ModelError(`model ${key}: embedding.dim: the manifest says ${entry.embedding.dim}, its output '${entry.embedding.output}' has ${last === undefined ? 'no shape' : `last dimension ${last}`}`);
    }
    const [w, h] = entry.alignment.size;
    if (entry.input.shape[2] !== h || entry.input.shape[3] !== w) {
      throw new ModelError(`model ${key}: alignment.size: ${w}x${h}, the input shape ${fmt(entry.input.shape)} is not [1,3,${h},${w}]`);
    }
  } else if (entry.kind === 'landmarks') {
    used.push(entry.decode.output);
    const shape = entry.outputs[entry.decode.output];
    if (shape?.[shape.length - 1] !== entry.decode.points * 2) {
      throw new ModelError(`model ${key}: decode.points: ${entry.decode.points} points need ${entry.decode.points * 2} values, output '${entry.decode.output}' has ${fmt(shape ?? [])}`);
    }
    const bad = entry.decode.fivePoints.flat().find((i) => i >= entry.decode.points);
    if (bad !== undefined) throw new ModelError(`model ${key}: decode.fivePoints: index ${bad} is not one of the ${entry.decode.points} points`);
  } else if (entry.decode.kind === 'ultraface') {
    used.push(entry.decode.scores, entry.decode.boxes);
  } else {
    const d = entry.decode;
    for (const s of d.strides) for (const n of [d.cls, d.obj, d.bbox, d.kps]) used.push(n.replace('{stride}', String(s)));
  }
  for (const n of used) {
    if (!(n in entry.outputs)) throw new ModelError(`model ${key}: decoding uses output '${n}', which the manifest's outputs do not list (${Object.keys(entry.outputs).join(', ')})`);
  }
}
