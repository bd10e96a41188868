/**
 * The vision worker never detaches an ArrayBuffer (src/vision/worker-reply.ts): V8 reports each
 * isolate whose ArrayBufferDetaching protector is invalidated (after which its typed-array code
 * runs slower for good). A real worker analysing a real photo twice, frames transferred to it as
 * the daemon does: exactly one invalidation, the main thread's (it transfers the frames). When the
 * worker transferred its results back, there were two.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/paths';

t.test('only the main thread detaches buffers: the worker clones its results', async (t) => {
  const root = packageRoot();
  const r = spawnSync(process.execPath, ['--trace-protector-invalidation', path.join(root, 'test', 'fixtures', 'worker-detach-probe.js'), root], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  const out = r.stdout + r.stderr;
  t.match(out, /FACES 2\b/, 'the worker found the face in both frames');
  const invalidations = out.split('\n').filter((l) => l.includes('Invalidating protector cell ArrayBufferDetaching')).length;
  t.equal(invalidations, 1, 'one isolate detached buffers (the main thread, sending frames), not two');
});
