import t from 'tap';
import { parseDemographics, splitCsvLine } from '../../src/eval/demographics';

t.test('header with image + attributes; blank = unknown; quotes; paths normalised', async (t) => {
  const d = parseDemographics('\uFEFFimage,sex,race\r\nA/A_0001.jpg,F,\r\n./B\\B_0001.jpg,M,"east, asian"\n\n', 'd.csv');
  t.same(d.attributes, ['sex', 'race']);
  t.same(d.labels.get('A/A_0001.jpg'), ['F', undefined]);
  t.same(d.labels.get('B/B_0001.jpg'), ['M', 'east, asian']);
  const d2 = parseDemographics('sex,image\nF,x.jpg\n', 'd');
  t.same(d2.labels.get('x.jpg'), ['F']);
  t.same(splitCsvLine('a,"say ""hi""",,c'), ['a', 'say "hi"', '', 'c']);
});

t.test('errors name the file and line', async (t) => {
  t.throws(() => parseDemographics('', 'd.csv'), /d\.csv: empty file; expected a header row/);
  t.throws(() => parseDemographics('file,sex\n', 'd.csv'), /d\.csv:1: the header has no 'image' column \(found: file, sex\)/);
  t.throws(() => parseDemographics('image\n', 'd.csv'), /d\.csv:1: no attribute columns/);
  t.throws(() => parseDemographics('image,sex,sex\n', 'd.csv'), /d\.csv:1: attribute column 'sex' appears twice/);
  t.throws(() => parseDemographics('image,sex\na.jpg,F\nb.jpg\n', 'd.csv'), /d\.csv:3: 1 field\(s\), the header has 2/);
  t.throws(() => parseDemographics('image,sex\na.jpg,F\na.jpg,M\n', 'd.csv'), /d\.csv:3: image 'a\.jpg' is listed twice/);
  t.throws(() => parseDemographics('image,sex\n,F\n', 'd.csv'), /d\.csv:2: the 'image' cell is blank/);
  t.throws(() => parseDemographics('image,sex\n"a.jpg,F\n', 'd.csv'), /d\.csv:2: unterminated quoted field/);
});

t.test('exclusion lists: people and single images, comments, errors with line numbers', async (t) => {
  const { parseExclusions, applyExclusions } = await import('../../src/eval/exclude');
  const list = parseExclusions('# known label errors\nCarlos_Ruckauf   # is Eduardo Duhalde\n\nWang_Nan/Wang_Nan_0001.jpg\n', 'x.txt');
  t.same([...list.people], ['Carlos_Ruckauf']);
  t.same([...list.images], ['Wang_Nan/Wang_Nan_0001.jpg']);
  const r = applyExclusions(
    [
      { person: 'Carlos_Ruckauf', images: ['d/Carlos_Ruckauf/a.jpg'] },
      { person: 'Wang_Nan', images: ['d/Wang_Nan/Wang_Nan_0001.jpg', 'd/Wang_Nan/Wang_Nan_0002.jpg'] },
      { person: 'Kept', images: ['d/Kept/k.jpg'] },
    ],
    list,
    (f) => f.slice(2),
  );
  t.equal(r.excludedImages, 2);
  t.same(r.people.map((p) => [p.person, p.images.length]), [['Wang_Nan', 1], ['Kept', 1]]);
  t.throws(() => parseExclusions('ok\nA/B/C.jpg\n', 'x.txt'), /x\.txt:2: expected 'Person' or 'Person\/image\.jpg'/);
  t.throws(() => parseExclusions('two words\n', 'x.txt'), /x\.txt:1: one person or image path per line/);
});
