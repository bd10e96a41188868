import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readUsedBundleIds, UsedBundleIds, usedBundleIdsPath } from '../../src/watchlist/bundle-ledger';

const tmpFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'lfr-ledger-')), 'state', 'used-bundle-ids');

t.test('ids persist across restarts; an absent file is an empty ledger', async (t) => {
  const file = tmpFile();
  const a = new UsedBundleIds(file);
  t.equal(a.size, 0);
  a.add('0f5c1f3e-1111-4222-8333-444455556666');
  a.add('bundle-0002');
  a.add('bundle-0002');
  t.equal(readFileSync(file, 'utf8'), '0f5c1f3e-1111-4222-8333-444455556666\nbundle-0002\n', 'appended once each');
  const b = new UsedBundleIds(file);
  t.ok(b.has('bundle-0002'));
  t.notOk(b.has('bundle-0003'));
  t.throws(() => b.add('not an id'), /'not an id' is not a bundle id/);
});

t.test('a torn last line (power cut) is ignored and the next id starts on its own line', async (t) => {
  const file = tmpFile();
  new UsedBundleIds(file).add('bundle-0001');
  writeFileSync(file, readFileSync(file, 'utf8') + 'bund');
  const l = new UsedBundleIds(file);
  t.same([...readUsedBundleIds(file)], ['bundle-0001']);
  l.add('bundle-0002');
  t.same([...readUsedBundleIds(file)], ['bundle-0001', 'bundle-0002']);
  writeFileSync(file, readFileSync(file, 'utf8') + 'bundle-0003'); // cut just before the newline
  const m = new UsedBundleIds(file);
  t.ok(m.has('bundle-0003'), 'a complete id without its newline still counts as used');
  m.add('bundle-0004');
  t.equal(readFileSync(file, 'utf8'), 'bundle-0001\nbundle-0002\nbundle-0003\nbundle-0004\n');
});

t.test('a damaged line in the middle is an error naming the file and line', async (t) => {
  const file = tmpFile();
  new UsedBundleIds(file).add('bundle-0001');
  writeFileSync(file, 'bundle-0001\n{garbage}\nbundle-0003\n');
  t.throws(() => new UsedBundleIds(file), { message: `used bundle ids file ${file}, line 2: '{garbage}' is not a bundle id; repair or move the file` });
  t.equal(usedBundleIdsPath('/var/lib/lfr-edge', 'used-bundle-ids'), '/var/lib/lfr-edge/used-bundle-ids');
  t.equal(usedBundleIdsPath('/var/lib/lfr-edge', '/elsewhere/ids'), '/elsewhere/ids');
});
