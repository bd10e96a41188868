import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { expandInputs, listPeople } from '../../src/vision/files';

t.test('listPeople: folders (and symlinked folders) per person, sorted; hidden entries and files ignored', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'lfr-files-'));
  const data = path.join(root, 'data');
  const other = path.join(root, 'other');
  mkdirSync(path.join(data, 'bob'), { recursive: true });
  mkdirSync(path.join(data, 'alice'));
  mkdirSync(path.join(data, '.hidden'));
  mkdirSync(path.join(other, 'carol'), { recursive: true });
  writeFileSync(path.join(data, 'bob', 'b2.jpg'), '');
  writeFileSync(path.join(data, 'bob', 'b1.jpg'), '');
  writeFileSync(path.join(data, 'README'), '');
  writeFileSync(path.join(other, 'carol', 'c.jpg'), '');
  symlinkSync(path.join(other, 'carol'), path.join(data, 'carol'));
  const people = listPeople(data);
  t.same(people.map((p) => p.person), ['alice', 'bob', 'carol']);
  t.same(people[1].images.map((f) => path.basename(f)), ['b1.jpg', 'b2.jpg']);
  t.equal(people[2].images.length, 1, 'symlinked person folder followed');
  t.throws(() => listPeople(path.join(root, 'nope')), /cannot read image folder .*nope/);
  t.same(expandInputs([path.join(data, 'bob'), path.join(root, 'missing.jpg')]).map((f) => path.basename(f)), ['b1.jpg', 'b2.jpg', 'missing.jpg']);
});
