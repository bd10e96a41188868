/**
 * Exclusion lists for evaluation sets (pure): known label errors in public data sets are left out,
 * visibly (the output says how many) and reproducibly (the list is a file in the repository).
 *
 * One entry per line: `Person` (the whole folder) or `Person/Person_0001.jpg` (one image);
 * `#` starts a comment; blank lines are ignored.
 */
import { normaliseImagePath } from './demographics';
import type { PersonImages } from './identify';

export interface ExclusionList {
  people: Set<string>;
  images: Set<string>;
}

export function parseExclusions(text: string, source: string): ExclusionList {
  const list: ExclusionList = { people: new Set(), images: new Set() };
  text.split(/\r?\n/).forEach((raw, i) => {
    const entry = normaliseImagePath(raw.replace(/#.*$/, ''));
    if (entry === '') return;
    if (/\s/.test(entry)) throw new Error(`${source}:${i + 1}: one person or image path per line, got '${entry}'`);
    const parts = entry.split('/').filter((p) => p !== '');
    if (parts.length === 1) list.people.add(parts[0]);
    else if (parts.length === 2) list.images.add(parts.join('/'));
    else throw new Error(`${source}:${i + 1}: expected 'Person' or 'Person/image.jpg', got '${entry}'`);
  });
  return list;
}

/** Drop excluded people and images; `relative(file)` gives an image's 'Person/file' path. */
export function applyExclusions(
  people: readonly PersonImages[],
  list: ExclusionList,
  relative: (file: string) => string,
): { people: PersonImages[]; excludedImages: number } {
  let excludedImages = 0;
  const out: PersonImages[] = [];
  for (const p of people) {
    const images = list.people.has(p.person) ? [] : p.images.filter((f) => !list.images.has(relative(f)));
    excludedImages += p.images.length - images.length;
    if (images.length) out.push({ person: p.person, images });
  }
  return { people: out, excludedImages };
}
