import t from 'tap';
import path from 'node:path';
import { lfwImagePath, parsePairs } from '../../src/eval/pairs';

t.test('parses the header, matched and mismatched lines (tabs or spaces)', async (t) => {
  const f = parsePairs('2\nAaron_Peirsol\t1\t2\nAbc 3 4\nAl_Gore\t1\tBob\t12\nX 1 Y 2\n', 'p.txt');
  t.same(f.header, { sets: 1, perSet: 2 });
  t.equal(f.pairs.length, 4);
  t.same(f.pairs[0], { line: 2, a: { name: 'Aaron_Peirsol', number: 1 }, b: { name: 'Aaron_Peirsol', number: 2 }, same: true });
  t.same(f.pairs[2], { line: 4, a: { name: 'Al_Gore', number: 1 }, b: { name: 'Bob', number: 12 }, same: false });
});

t.test('the header is optional, "SETS N" form is understood, blank lines ignored', async (t) => {
  t.equal(parsePairs('A 1 2\n\nB 1 C 1\n', 'p').header, undefined);
  const f = parsePairs('2 1\r\nA 1 2\r\nB 1 C 1\r\nD 1 2\r\nE 1 F 1\r\n', 'p');
  t.same(f.header, { sets: 2, perSet: 1 });
  t.equal(f.pairs.length, 4);
});

t.test('errors name the file and line', async (t) => {
  t.throws(() => parsePairs('1\nA 1 2\nB 1\nD 1 E 2\n', 'pairs.txt'), /pairs\.txt:3: expected 'name n1 n2' \(matched\) or 'name1 n1 name2 n2' \(mismatched\), got 2 field/);
  t.throws(() => parsePairs('1\nA 1 2\nB 1 C\nD 1 E 2\n', 'pairs.txt'), /pairs\.txt:3: 'C' is not an image number/);
  t.throws(() => parsePairs('A 1 x\n', 'p.txt'), /p\.txt:1: 'x' is not an image number/);
  t.throws(() => parsePairs('A 0 2\n', 'p.txt'), /p\.txt:1: '0' is not an image number/);
  t.throws(() => parsePairs('A 1 2 3 4 5\n', 'p.txt'), /p\.txt:1: .*got 6 field/);
  t.throws(() => parsePairs('3\nA 1 2\nB 1 C 1\n', 'p.txt'), /p\.txt:1: the header promises 3 matched and 3 mismatched pairs, the file has 1 and 1/);
  t.throws(() => parsePairs('\n\n', 'p.txt'), /p\.txt: no pairs found/);
});

t.test('image paths follow the LFW convention', async (t) => {
  t.equal(lfwImagePath('/d', { name: 'Al_Gore', number: 7 }), path.join('/d', 'Al_Gore', 'Al_Gore_0007.jpg'));
  t.equal(lfwImagePath('d', { name: 'X', number: 12345 }), path.join('d', 'X', 'X_12345.jpg'));
});
