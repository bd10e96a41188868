/**
 * The ledger of bundle ids already used on this unit (replay protection): a text file in the state
 * directory, one bundle id per line, appended and fsync'ed when a session starts from a bundle.
 * It only grows (an id is 36 bytes; a unit that starts ten sessions a day adds 130 kB a year).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';

const ID_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

export class UsedBundleIds {
  private readonly ids: Set<string>;
  /** Length of the file up to its last complete line, when the last line is incomplete. */
  private tornAt: number | undefined;

  constructor(readonly file: string) {
    this.ids = readUsedBundleIds(file);
    if (existsSync(file)) {
      const bytes = readFileSync(file);
      if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) this.tornAt = bytes.lastIndexOf(0x0a) + 1;
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Record an id as used (durably, before the session that uses it starts). */
  add(id: string): void {
    if (!ID_PATTERN.test(id)) throw new Error(`'${id}' is not a bundle id`);
    if (this.ids.has(id)) return;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
    if (this.tornAt !== undefined) {
      // A power cut mid-append. If what was written looks like an id, keep it (a used id too many
      // is harmless); otherwise drop the fragment, whose session never started.
      const tail = readFileSync(this.file).subarray(this.tornAt).toString('utf8');
      if (!ID_PATTERN.test(tail)) truncateSync(this.file, this.tornAt);
      this.tornAt = undefined;
      if (ID_PATTERN.test(tail)) appendNewline(this.file);
    }
    const fd = openSync(this.file, 'a', 0o640);
    try {
      writeSync(fd, `${id}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.ids.add(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** The ids in a ledger file; an absent file is an empty ledger. A line that is not an id is an error naming it. */
export function readUsedBundleIds(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const ids = new Set<string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i, all) => {
      const id = line.trim();
      if (id === '') return;
      if (!ID_PATTERN.test(id)) {
        // A torn last line (power cut mid-append): that id was never recorded; add() drops it.
        if (i === all.length - 1) return;
        throw new Error(`used bundle ids file ${file}, line ${i + 1}: '${id.slice(0, 80)}' is not a bundle id; repair or move the file`);
      }
      ids.add(id);
    });
  return ids;
}

/** Where the ledger lives for a config: watchlist.usedBundleIdsFile, relative to paths.stateDir. */
export function usedBundleIdsPath(stateDir: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(stateDir, file);
}

function appendNewline(file: string): void {
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
