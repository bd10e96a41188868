/** Where the shared test data is, and a clear skip when it is absent. */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const SHARED = process.env.LFR_EDGE_SHARED_DATA ?? path.resolve(__dirname, '../../../shared/data');
export const REFERENCE = path.resolve(SHARED, '../reference');

export function sharedData(...parts: string[]): string {
  return path.join(SHARED, ...parts);
}

/** Options for t.test(): skipped with a message naming the missing folder. */
export function needsSharedData(...parts: string[]): { skip: string | false } {
  const p = sharedData(...parts);
  return { skip: existsSync(p) ? false : `shared test data not found at ${p} (set LFR_EDGE_SHARED_DATA or place ../shared/data beside the repo)` };
}
