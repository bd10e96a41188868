/**
 * The LFW `pairs.txt` format (pure parser).
 *
 *   [header]            optional: `N` (N matched then N mismatched) or `SETS N` (SETS x (N + N))
 *   name n1 n2          a matched pair: name_n1 and name_n2
 *   name1 n1 name2 n2   a mismatched pair
 *
 * Fields are separated by tabs or spaces; blank lines are ignored. Images live at
 * `DIR/<name>/<name>_<nnnn>.jpg` (number zero-padded to four digits).
 */
import path from 'node:path';

export interface ImageRef {
  name: string;
  /** 1-based image number as in the file. */
  number: number;
}

export interface LfwPair {
  /** 1-based line number in the file. */
  line: number;
  a: ImageRef;
  b: ImageRef;
  same: boolean;
}

export interface PairsFile {
  header?: { sets: number; perSet: number };
  pairs: LfwPair[];
}

export class PairsFormatError extends Error {
  override name = 'PairsFormatError';
}

const INT = /^[0-9]+$/;

function imageNumber(tok: string, source: string, line: number): number {
  if (!INT.test(tok) || Number(tok) < 1) {
    throw new PairsFormatError(`${source}:${line}: '${tok}' is not an image number (a positive integer)`);
  }
  return Number(tok);
}

export function parsePairs(text: string, source: string): PairsFile {
  const lines = text.split(/\r?\n/);
  const pairs: LfwPair[] = [];
  let header: PairsFile['header'];
  let seenContent = false;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const tok = raw.trim().split(/\s+/).filter((t) => t !== '');
    if (tok.length === 0) return;
    const first = !seenContent;
    seenContent = true;
    if (first && tok.length <= 2 && tok.every((t) => INT.test(t))) {
      header = tok.length === 1 ? { sets: 1, perSet: Number(tok[0]) } : { sets: Number(tok[0]), perSet: Number(tok[1]) };
      return;
    }
    if (tok.length === 3) {
      pairs.push({ line, a: { name: tok[0], number: imageNumber(tok[1], source, line) }, b: { name: tok[0], number: imageNumber(tok[2], source, line) }, same: true });
    } else if (tok.length === 4) {
      pairs.push({
        line,
        a: { name: tok[0], number: imageNumber(tok[1], source, line) },
        b: { name: tok[2], number: imageNumber(tok[3], source, line) },
        same: false,
      });
    } else {
      throw new PairsFormatError(
        `${source}:${line}: expected 'name n1 n2' (matched) or 'name1 n1 name2 n2' (mismatched), got ${tok.length} field(s): '${raw.trim().slice(0, 80)}'`,
      );
    }
  });
  if (pairs.length === 0) throw new PairsFormatError(`${source}: no pairs found`);
  if (header) {
    const want = header.sets * header.perSet;
    const matched = pairs.filter((p) => p.same).length;
    const mismatched = pairs.length - matched;
    if (matched !== want || mismatched !== want) {
      throw new PairsFormatError(
        `${source}:1: the header promises ${want} matched and ${want} mismatched pairs, the file has ${matched} and ${mismatched}`,
      );
    }
  }
  return { header, pairs };
}

/** `DIR/<name>/<name>_<nnnn>.jpg` */
export function lfwImagePath(dir: string, ref: ImageRef): string {
  return path.join(dir, ref.name, `${ref.name}_${String(ref.number).padStart(4, '0')}.jpg`);
}
