/**
 * Demographic labels for an image set (pure parser). CSV with a header row: an `image` column
 * (path relative to the image folder, '/' separated) and any number of attribute columns.
 * A blank cell means unknown. Quoted fields ("a, b", "say ""x""") are understood.
 */
export interface Demographics {
  attributes: string[];
  /** image path (normalised, '/' separated) -> label per attribute (undefined = unknown). */
  labels: Map<string, (string | undefined)[]>;
}

export class DemographicsFormatError extends Error {
  override name = 'DemographicsFormatError';
}

/** Split one CSV record; throws on an unterminated quote. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
    i++;
  }
  if (quoted) throw new Error('unterminated quoted field');
  out.push(cur);
  return out;
}

export function normaliseImagePath(p: string): string {
  return p.trim().replace(/\\/g, '/').replace(/^\.\//, '');
}

export function parseDemographics(text: string, source: string): Demographics {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) throw new DemographicsFormatError(`${source}: empty file; expected a header row such as 'image,sex,race'`);
  const header = splitCsvLine(lines[headerAt]).map((h) => h.trim());
  const imageCol = header.indexOf('image');
  if (imageCol < 0) {
    throw new DemographicsFormatError(`${source}:${headerAt + 1}: the header has no 'image' column (found: ${header.join(', ')})`);
  }
  const attributes = header.filter((_, i) => i !== imageCol);
  if (attributes.length === 0) throw new DemographicsFormatError(`${source}:${headerAt + 1}: no attribute columns besides 'image'`);
  const seen = new Set<string>();
  for (const a of attributes) {
    if (a === '') throw new DemographicsFormatError(`${source}:${headerAt + 1}: an attribute column has no name`);
    if (seen.has(a)) throw new DemographicsFormatError(`${source}:${headerAt + 1}: attribute column '${a}' appears twice`);
    seen.add(a);
  }
  const labels = new Map<string, (string | undefined)[]>();
  for (let i = headerAt + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    let cells: string[];
    try {
      cells = splitCsvLine(lines[i]);
    } catch (err) {
      throw new DemographicsFormatError(`${source}:${i + 1}: ${(err as Error).message}`);
    }
    if (cells.length !== header.length) {
      throw new DemographicsFormatError(`${source}:${i + 1}: ${cells.length} field(s), the header has ${header.length}`);
    }
    const image = normaliseImagePath(cells[imageCol]);
    if (image === '') throw new DemographicsFormatError(`${source}:${i + 1}: the 'image' cell is blank`);
    if (labels.has(image)) throw new DemographicsFormatError(`${source}:${i + 1}: image '${image}' is listed twice`);
    labels.set(
      image,
      header.flatMap((_, c) => (c === imageCol ? [] : [cells[c].trim() === '' ? undefined : cells[c].trim()])),
    );
  }
  return { attributes, labels };
}
