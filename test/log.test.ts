import t from 'tap';
import { createLogger, createMemoryLogger } from '../src/log';

t.test('JSON lines with level, message, fields and child fields', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date('2026-01-01T00:00:00Z') });
  log.debug('hidden');
  log.child({ component: 'camera' }).warn('stalled', { seconds: 5 });
  t.equal(lines.length, 1);
  t.same(JSON.parse(lines[0]), { time: '2026-01-01T00:00:00.000Z', level: 'warn', msg: 'stalled', component: 'camera', seconds: 5 });
});

t.test('biometric fields and typed arrays are never written', async (t) => {
  const log = createMemoryLogger();
  log.info('face', { embedding: [0.1, 0.2], crop: 'abc', vec: new Float32Array(4), fivePoints: [[1, 2]], trackId: 7 });
  t.same(log.lines[0].embedding, '[redacted]');
  t.same(log.lines[0].crop, '[redacted]');
  t.same(log.lines[0].vec, '[redacted]');
  t.same(log.lines[0].fivePoints, '[redacted]');
  t.equal(log.lines[0].trackId, 7);
});
