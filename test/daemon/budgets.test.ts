/**
 * The daemon's time budgets (src/daemon/budgets.ts) against the shipped systemd unit: systemd must
 * not kill a start or a stop that is still inside the daemon's own bounds.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ConfigSchema } from '../../src/config/schema';
import { checkUnitTimeouts, COMPONENTS, daemonBudgets, parseTimespan, parseUnitTimeouts } from '../../src/daemon/budgets';
import { packageRoot } from '../../src/paths';

const unitText = readFileSync(path.join(packageRoot(), 'systemd', 'lfr-edge.service'), 'utf8');
const defaults = ConfigSchema.parse({}).daemon;

t.test('systemd/lfr-edge.service holds the default budgets with margin', async (t) => {
  const unit = parseUnitTimeouts(unitText);
  const b = daemonBudgets(defaults);
  t.same(checkUnitTimeouts(b, unit), [], `unit ${JSON.stringify(unit)}; worst start ${b.startWorstMs} ms, hard exit ${b.hardExitMs} ms`);
  t.ok(unit.timeoutStartS * 1000 > b.startWorstMs, 'TimeoutStartSec above the worst start');
  t.ok(unit.timeoutStopS * 1000 > b.hardExitMs && b.hardExitMs > b.stopTotalMs, 'graceful stop < hard exit < TimeoutStopSec');
});

t.test('the sums: every component counted, overruns included', async (t) => {
  const b = daemonBudgets(defaults);
  const starts = COMPONENTS.reduce((a, c) => a + b.startMs[c], 0);
  const stops = COMPONENTS.reduce((a, c) => a + b.stopMs[c], 0);
  t.equal(b.startTotalMs, b.verifyModelsMs + starts + b.readyMs);
  t.equal(b.startWorstMs, b.verifyModelsMs + starts + COMPONENTS.length * b.cancelGraceMs + stops + b.readyMs);
  t.equal(b.stopTotalMs, b.sessionEndMs + b.flushMs + b.cancelGraceMs + stops);
  t.ok(b.startMs['camera+vision'] > b.startMs.audit, 'the vision start is the long one');
});

t.test('the unit timeouts before this fix did not hold the budgets', async (t) => {
  const old = unitText.replace(/^TimeoutStartSec=.*$/m, 'TimeoutStartSec=120').replace(/^TimeoutStopSec=.*$/m, 'TimeoutStopSec=45');
  const problems = checkUnitTimeouts(daemonBudgets(defaults), parseUnitTimeouts(old));
  t.equal(problems.length, 2);
  t.match(problems[0], /^TimeoutStartSec=120 is less than the worst start/);
  t.match(problems[1], /^TimeoutStopSec=45 is less than the hard exit/);
});

t.test('a budget raised in the config is reported against the unit', async (t) => {
  const d = ConfigSchema.parse({ daemon: { startBudgetS: { 'camera+vision': 300 }, flushTimeoutS: 30 } }).daemon;
  const b = daemonBudgets(d);
  t.equal(b.startMs['camera+vision'], 300_000);
  t.equal(b.startMs.mqtt, daemonBudgets(defaults).startMs.mqtt, 'the others keep their defaults');
  const problems = checkUnitTimeouts(b, parseUnitTimeouts(unitText));
  t.match(problems.join('\n'), /TimeoutStartSec=180 is less than the worst start/);
  t.match(problems.join('\n'), /TimeoutStopSec=50 is less than the hard exit/);
  t.same(checkUnitTimeouts(b, { timeoutStartS: 600, timeoutStopS: 120, watchdogS: 30 }), []);
});

t.test('a watchdog too short for the event-loop allowance is reported', async (t) => {
  const problems = checkUnitTimeouts(daemonBudgets(defaults), { timeoutStartS: 600, timeoutStopS: 120, watchdogS: 10 });
  t.same(problems.length, 1);
  t.match(problems[0], /^WatchdogSec=10 leaves no room/);
});

t.test('config: an unknown component or a bad budget is refused naming it', async (t) => {
  t.throws(() => ConfigSchema.parse({ daemon: { startBudgetS: { camera: 10 } } }), /camera/);
  t.throws(() => ConfigSchema.parse({ daemon: { stopBudgetS: { mqtt: -1 } } }), /mqtt/);
});

t.test('systemd time spans', async (t) => {
  t.equal(parseTimespan('45'), 45);
  t.equal(parseTimespan('45s'), 45);
  t.equal(parseTimespan('2min'), 120);
  t.equal(parseTimespan('1min 30s'), 90);
  t.equal(parseTimespan('500ms'), 0.5);
  t.throws(() => parseTimespan('soon'), /'soon' is not a systemd time span/);
  t.throws(() => parseTimespan('5 fortnights'), /unknown time unit 'fortnights'/);
  t.throws(() => parseUnitTimeouts('[Service]\nTimeoutStartSec=10\n'), /the unit file sets no TimeoutStopSec/);
});
