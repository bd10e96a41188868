/**
 * Two central serve instances on one PostgreSQL share the events through the MQTT 5 shared
 * subscription: every alert is stored once, both instances take part, and a change made through
 * one instance (an adjudication) reaches the other's page.
 */
import path from 'node:path';
import t from 'tap';
import { startConsole } from '../../src/central/serve';
import { serveSubscriptions } from '../../src/central/service';
import { createMemoryLogger } from '../../src/log';
import { testAlert } from '../helpers/alerts';
import { addUser, consoleConfig, WebClient } from '../helpers/console';
import { mosquittoAvailable, waitFor } from '../helpers/mosquitto';
import { freshDatabase, postgresSkip } from '../helpers/postgres';
import { startCommandUnit, tempDir } from '../helpers/unit';

t.test('subscriptions: state plainly, events shared (MQTT 5) or plain (3.1.1)', async (t) => {
  t.same(serveSubscriptions('5', 'g'), ['lfr/v1/+/status', 'lfr/v1/+/health', 'lfr/v1/+/session', '$share/g/lfr/v1/+/alert', '$share/g/lfr/v1/+/record', '$share/g/lfr/v1/+/cmd-result']);
  t.same(serveSubscriptions('3.1.1', 'g').slice(3), ['lfr/v1/+/alert', 'lfr/v1/+/record', 'lfr/v1/+/cmd-result']);
});

t.test('two instances on one PostgreSQL: each alert stored once', { skip: mosquittoAvailable() ?? postgresSkip(), timeout: 90_000 }, async (t) => {
  const unitId = 'van-pg';
  const unit = await startCommandUnit(t, unitId);
  t.ok(await unit.link.waitConnected(5000));
  const url = await freshDatabase();
  const dir = tempDir('lfr-shared-');
  const over = { authorityKeyFile: unit.authority.privateFile, store: { kind: 'postgres', url }, units: { [unitId]: { ed25519PublicKeyFile: path.join(unit.dir, 'unit-ed25519.pub') } } };
  const a = await startConsole(consoleConfig(unit.broker, 'central-a', dir, over), createMemoryLogger('warn'));
  t.teardown(() => a.close());
  const b = await startConsole(consoleConfig(unit.broker, 'central-b', dir, over), createMemoryLogger('warn'));
  t.teardown(() => b.close());
  const N = 40;
  for (let i = 0; i < N; i++) unit.link.publishAlert(testAlert(unitId, `pg-${i}`, i));
  await waitFor(() => a.service.counts.alerts + b.service.counts.alerts + a.service.counts.duplicateAlerts + b.service.counts.duplicateAlerts >= N, 20_000, 'every alert handled');
  await a.service.idle();
  await b.service.idle();
  const stored = await a.store.listAlerts(1000);
  t.equal(stored.length, N, 'each alert stored once');
  t.equal(new Set(stored.map((r) => r.alertId)).size, N);
  t.equal(a.service.counts.alerts + b.service.counts.alerts, N, 'and handled once between the two');
  t.comment(`instance a handled ${a.service.counts.alerts}, b ${b.service.counts.alerts}`);
  t.ok(a.service.counts.alerts > 0 && b.service.counts.alerts > 0, 'both instances took a share');

  const pw = await addUser(a.store, 'pc-1', 'officer');
  const wa = new WebClient(a.url);
  await wa.signIn('pc-1', pw);
  const r = await wa.req('POST', '/api/alerts/pg-3/adjudicate', { verdict: 'confirmed' });
  t.equal(r.status, 200);
  const wb = new WebClient(b.url);
  t.equal((await wb.signIn('pc-1', pw)).status, 200, 'the users are shared');
  await waitFor(() => unit.session.calls.some((c) => c.op === 'adjudicate'), 5000, 'the unit got the verdict');
  let seen: any;
  for (let i = 0; i < 100 && !seen?.unitResult; i++) {
    seen = ((await wb.req('GET', '/api/alerts')).body as any[]).find((x) => x.alertId === 'pg-3');
    if (!seen?.unitResult) await new Promise((res) => setTimeout(res, 100));
  }
  t.match(seen, { verdict: 'confirmed', officer: 'pc-1', unitResult: { accepted: true } }, "the other instance shows the verdict and the unit's answer");
});
