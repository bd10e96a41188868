import t from 'tap';
import { CameraSource } from '../../src/camera/source';
import { renderPipeline } from '../../src/camera/pipeline-template';
import { createMemoryLogger } from '../../src/log';
import { compiledCameraProcess } from './helpers';

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 1048576;
}

t.test('many restarts: this process stays up and its memory does not grow per restart', async (t) => {
  const script = compiledCameraProcess(t);
  // A live source that ends after 2 frames: every EOS is a restart (a new camera process).
  const src = new CameraSource({
    pipeline: renderPipeline('test', { width: 320, height: 240, numBuffers: 2 }),
    logger: createMemoryLogger('error'),
    backoff: { initialMs: 5, maxMs: 5, factor: 1 },
    processScript: script,
  });
  t.teardown(() => src.stop());
  const pids = new Set<number>();
  src.on('state', () => { if (src.processId) pids.add(src.processId); });
  src.start();
  const rssAt = new Map<number, number>();
  const WARM = 10;
  const TOTAL = 30;
  while (src.stats().reconnects < TOTAL) {
    const f = await src.next();
    t.ok(f === null || f.image.data.length === 320 * 240 * 3);
    const r = src.stats().reconnects;
    if ((r === WARM || r === TOTAL) && !rssAt.has(r)) rssAt.set(r, rssMb());
    if (src.processId) pids.add(src.processId);
  }
  if (!rssAt.has(TOTAL)) rssAt.set(TOTAL, rssMb());
  const growth = rssAt.get(TOTAL)! - rssAt.get(WARM)!;
  t.comment(`RSS after ${WARM} restarts ${rssAt.get(WARM)!.toFixed(1)} MB, after ${TOTAL} ${rssAt.get(TOTAL)!.toFixed(1)} MB: ${(growth / (TOTAL - WARM) * 1024).toFixed(0)} kB per restart`);
  t.ok(growth < 6, `RSS grew ${growth.toFixed(1)} MB over ${TOTAL - WARM} restarts`);
  t.ok(pids.size >= TOTAL / 2, `${pids.size} camera processes used`);
  await src.stop();
  for (const pid of pids) {
    t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `camera process ${pid} is gone`);
  }
});
