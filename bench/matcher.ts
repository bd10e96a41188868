/**
 * Matcher benchmark: milliseconds per query (top-1 and top-5) against 1k / 10k / 100k random
 * L2-normalised 512-d embeddings. Target: <= 1 ms per face at 10,000 subjects.
 *
 *   npm run build && node dist/bench/matcher.js          (or via bench/run.ts: benchMatcher())
 */
import { seededRandom } from '../src/eval/bootstrap';
import { Matcher } from '../src/recognition/matcher';

export interface MatcherBenchRow {
  subjects: number;
  kernel: 'wasm' | 'js';
  top1Ms: number;
  top5Ms: number;
}

function randomUnit(dim: number, rand: () => number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rand() - 0.5;
    n += v[i] * v[i];
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] /= n;
  return v;
}


function timePerQuery(fn: (q: Float32Array) => unknown, queries: Float32Array[], minMs: number): number {
  for (let i = 0; i < 5; i++) fn(queries[i % queries.length]); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs || n < 10) {
    fn(queries[n % queries.length]);
    n++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return elapsed / n;
}

export function benchMatcher(opts: { sizes?: number[]; dimension?: number; kernel?: 'auto' | 'js'; minMs?: number; print?: (line: string) => void } = {}): MatcherBenchRow[] {
  const sizes = opts.sizes ?? [1_000, 10_000, 100_000];
  const dim = opts.dimension ?? 512;
  const print = opts.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const rand = seededRandom(42);
  const queries = Array.from({ length: 16 }, () => randomUnit(dim, rand));
  const rows: MatcherBenchRow[] = [];
  print(`matcher: ${dim}-d, brute force, ms per query`);
  for (const n of sizes) {
    const subjects = Array.from({ length: n }, (_, i) => ({ ref: `s${i}`, category: 'bench', embedding: randomUnit(dim, rand) }));
    const m = new Matcher(subjects, { kernel: opts.kernel ?? 'auto' });
    const top1Ms = timePerQuery((q) => m.top1(q), queries, opts.minMs ?? 500);
    const top5Ms = timePerQuery((q) => m.topK(q, 5), queries, opts.minMs ?? 500);
    m.clear();
    const row: MatcherBenchRow = { subjects: n, kernel: m.usesWasm ? 'wasm' : 'js', top1Ms, top5Ms };
    rows.push(row);
    print(`  ${String(n).padStart(7)} subjects  top-1 ${top1Ms.toFixed(3)} ms  top-5 ${top5Ms.toFixed(3)} ms  (${row.kernel})`);
  }
  return rows;
}

if (require.main === module) {
  const js = process.argv.includes('--js');
  benchMatcher({ kernel: js ? 'js' : 'auto' });
}
