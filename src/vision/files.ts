/** Finding image files for enrollment and evaluation runs. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff']);

export function isImageName(file: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

/**
 * Expand command-line arguments into files: a file stays as given (whatever its extension, so that
 * a wrong file gets a clear decode error), a directory becomes every file below it, sorted.
 */
export function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = statSync(input);
    } catch {
      out.push(input); // reported by the decoder as "no such file"
      continue;
    }
    if (st.isDirectory()) out.push(...walk(input));
    else out.push(input);
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Folder-per-person data: DIR/<person>/<images>, people and images sorted by name. */
export function listPeople(dir: string): { person: string; images: string[] }[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`cannot read image folder ${dir}: ${(err as Error).message}`);
  }
  // Person folders may be symlinks (a data set assembled from links): follow them.
  const isDir = (name: string) => statSync(path.join(dir, name), { throwIfNoEntry: false })?.isDirectory() ?? false;
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(e.name))))
    .map((e) => e.name)
    .sort()
    .map((person) => ({
      person,
      images: readdirSync(path.join(dir, person))
        .filter((f) => !f.startsWith('.'))
        .sort()
        .map((f) => path.join(dir, person, f)),
    }));
}
