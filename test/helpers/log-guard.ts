/**
 * The guard every test that captures a process's log output runs over it: what in the text looks
 * like biometric data. Empty when clean. It looks at each JSON line (findBiometrics: a biometric
 * field name at any depth that is not "[redacted]", as the logger would have left it) and for what
 * a leaked embedding or crop looks like once serialised whatever its field name: a typed array
 * (JSON.stringify turns it into {"0":..,"1":..}), a long run of fractional numbers, a long base64
 * run. test/log.test.ts proves it fails on output that carries a nested face.
 */
import { findBiometrics } from '../../src/biometric-fields';

const SERIALISED_TYPED_ARRAY = /\{"0":-?[\d.e-]+,"1":-?[\d.e-]+,"2":/;
const NUMBER_RUN = /\[(?:\s*-?\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*,){31,}/g;
const BASE64_RUN = /[A-Za-z0-9+/]{2000,}/;

export function biometricsInLog(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (SERIALISED_TYPED_ARRAY.test(line)) found.push(`${where}: a serialised typed array`);
    if ((line.match(NUMBER_RUN) ?? []).some((run) => run.includes('.'))) found.push(`${where}: a run of 32+ fractional numbers (an embedding?)`);
    if (BASE64_RUN.test(line)) found.push(`${where}: a long base64 run (a crop?)`);
    if (!line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    for (const p of findBiometrics(parsed)) found.push(`${where}: field ${p}`);
  });
  return found;
}
