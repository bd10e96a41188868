/** The systemd units verify, hold the hardening the brief asks for, and stay at exposure <= 2.0. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/paths';

const dir = path.join(packageRoot(), 'systemd');
const main = path.join(dir, 'lfr-edge.service');
const wipe = path.join(dir, 'lfr-edge-wipe.service');

t.test('systemd-analyze verify passes on both units', async (t) => {
  const r = spawnSync('systemd-analyze', ['verify', wipe, main], { encoding: 'utf8' });
  t.equal(r.status, 0, `systemd-analyze verify: ${r.stderr}`);
  t.equal(r.stderr.trim(), '', 'no warnings');
});

t.test('the daemon unit: notify + watchdog + restart, own user, tmpfs runtime dir, hardening', async (t) => {
  const text = readFileSync(main, 'utf8');
  for (const line of [
    'Type=notify', 'WatchdogSec=30', 'Restart=on-failure', 'User=lfr-edge', 'RuntimeDirectory=lfr-edge',
    'StateDirectory=lfr-edge', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'NoNewPrivileges=yes',
    'CapabilityBoundingSet=', 'DevicePolicy=closed', 'DeviceAllow=char-video4linux rw', 'Requires=lfr-edge-wipe.service',
    'After=lfr-edge-wipe.service',
  ]) {
    t.ok(text.split('\n').some((l) => l === line || l.startsWith(line + ' ')), `has ${line}`);
  }
  t.match(readFileSync(wipe, 'utf8'), /ExecStart=.* wipe --boot/);
  t.match(readFileSync(wipe, 'utf8'), /Before=lfr-edge\.service/);
});

t.test('systemd-analyze security exposure <= 2.0', async (t) => {
  for (const unit of [main, wipe]) {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--threshold=100', unit], { encoding: 'utf8' });
    const m = /Overall exposure level for [^:]+: ([0-9.]+)/.exec(out);
    t.ok(m, 'exposure reported');
    const exposure = Number(m![1]);
    t.ok(exposure <= 2.0, `${path.basename(unit)} exposure ${exposure} <= 2.0`);
  }
});
