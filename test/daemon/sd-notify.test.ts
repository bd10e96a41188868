/** sd_notify against a real unix datagram socket (python3 listens, as systemd would). */
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { createSystemdNotifier } from '../../src/daemon/sd-notify';

t.test('not under systemd: inactive, no watchdog, nothing sent', async (t) => {
  const sent: string[] = [];
  const n = createSystemdNotifier({ WATCHDOG_USEC: '20000000' }, { sendState: (s) => { sent.push(s); } });
  t.equal(n.active, false);
  t.equal(n.watchdogMs, 0, 'WATCHDOG_USEC alone (no NOTIFY_SOCKET) asks for no pings');
  n.ready('x');
  n.watchdog();
  n.stopping();
  n.status('y');
  t.same(sent, [], 'the binding is never called');
  const active = createSystemdNotifier({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '20000000' }, { sendState: (s) => { sent.push(s); } });
  active.watchdog();
  t.same(sent, ['WATCHDOG=1'], 'the same calls reach the binding under systemd');
});

t.test('under systemd: READY, WATCHDOG, STATUS and STOPPING reach the notify socket', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-sd-'));
  const sock = path.join(dir, 'notify');
  const py = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
for _ in range(4):
    print(repr(s.recv(4096).decode()), flush=True)
`, sock]);
  let out = '';
  py.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => { const i = setInterval(() => { if (out.includes('bound') && existsSync(sock)) { clearInterval(i); resolve(); } }, 20); });
  // libsystemd reads NOTIFY_SOCKET from the process environment, as under systemd.
  process.env.NOTIFY_SOCKET = sock;
  t.teardown(() => { delete process.env.NOTIFY_SOCKET; });
  const killer = setTimeout(() => py.kill(), 5000);
  const n = createSystemdNotifier({ NOTIFY_SOCKET: sock, WATCHDOG_USEC: '20000000' });
  t.equal(n.active, true);
  t.equal(n.watchdogMs, 20000);
  n.ready('streaming\nnow');
  n.watchdog();
  n.status('2 faces/s');
  n.stopping('wiping session');
  await new Promise<void>((resolve) => py.on('exit', () => resolve()));
  clearTimeout(killer);
  const msgs = out.trim().split('\n').slice(1);
  t.same(msgs, ["'READY=1\\nSTATUS=streaming now'", "'WATCHDOG=1'", "'STATUS=2 faces/s'", "'STOPPING=1\\nSTATUS=wiping session'"]);
});

t.test('the watchdog is not ours when WATCHDOG_PID names another process', async (t) => {
  const n = createSystemdNotifier({ NOTIFY_SOCKET: '/nonexistent', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, { sendState: () => {} });
  t.equal(n.watchdogMs, 0);
});
