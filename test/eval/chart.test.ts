import t from 'tap';
import { formatTick, lineChartSvg, ticks } from '../../src/eval/chart';

t.test('a log-scale chart with title, axes, legend, markers; zero values break the line', async (t) => {
  const svg = lineChartSvg({
    title: 'False-match rate by group <race>',
    xLabel: 'threshold',
    yLabel: 'false-match rate',
    yScale: 'log',
    series: [
      { name: 'race=african', points: [[0.2, 1e-2], [0.3, 1e-3], [0.4, 0], [0.5, 1e-5]] },
      { name: 'race=caucasian & co', points: [[0.2, 5e-3], [0.3, 5e-4]] },
    ],
    markers: [{ x: 0.335, label: 'FMR 1e-3' }],
  });
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /False-match rate by group &lt;race&gt;/, 'text is escaped');
  t.match(svg, />false-match rate \(log scale\)</);
  t.match(svg, />threshold</);
  t.match(svg, />race=african</);
  t.match(svg, />race=caucasian &amp; co</);
  t.match(svg, />FMR 1e-3</);
  t.match(svg, />1e-5</, 'decade ticks');
  const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
  t.equal(paths.length, 2);
  t.equal(paths[0].split('M').length - 1, 2, 'the zero point starts a new subpath');
  t.notMatch(svg, /NaN|Infinity/);
});

t.test('ticks and labels', async (t) => {
  t.same(ticks([1e-5, 1], 'log'), [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1]);
  t.same(ticks([0, 1], 'linear'), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.equal(formatTick(1e-4, 'log'), '1e-4');
  t.equal(formatTick(0.1, 'log'), '0.1');
  t.equal(formatTick(0.30000000000000004, 'linear'), '0.3');
});
