/**
 * lfr-edge <command>: the one entry point. Each command lives in src/commands/ and is loaded
 * only when called, so `lfr-edge config validate` never loads ONNX Runtime or GStreamer.
 */
import { ConfigError } from './config';
import { ModelError } from './models/manifest';
import { StartupError } from './daemon/lifecycle';
import { processIO, UsageError, UserError, type Command, type CommandIO } from './commands/common';

interface CommandEntry {
  summary: string;
  load: () => { command: Command; usage: string };
}

const COMMANDS: Record<string, CommandEntry> = {
  calibrate: {
    summary: "turn a force's own labelled faces into the unit's calibration and an HTML report",
    load: () => { const m = require('./commands/calibrate') as typeof import('./commands/calibrate'); return { command: m.calibrateCommand, usage: m.usage }; },
  },
  camera: {
    summary: 'print the GStreamer pipeline the unit would run (to check it with gst-launch-1.0)',
    load: () => { const m = require('./commands/camera') as typeof import('./commands/camera'); return { command: m.cameraCommand, usage: m.usage }; },
  },
  central: {
    summary: 'watch units (status, health, alerts) and send them signed commands over MQTT',
    load: () => { const m = require('./commands/central') as typeof import('./commands/central'); return { command: m.centralCommand, usage: m.usage }; },
  },
  config: {
    summary: 'validate or show configuration',
    load: () => { const m = require('./commands/config') as typeof import('./commands/config'); return { command: m.configCommand, usage: m.usage }; },
  },
  demo: {
    summary: 'a whole deployment on this machine with nothing set up (npm start)',
    load: () => { const m = require('./commands/demo') as typeof import('./commands/demo'); return { command: m.demoCommand, usage: m.usage }; },
  },
  embed: {
    summary: 'detect, align, quality-score and embed the faces in image files',
    load: () => { const m = require('./commands/embed') as typeof import('./commands/embed'); return { command: m.embedCommand, usage: m.usage }; },
  },
  eval: {
    summary: 'measure accuracy on labelled faces (verify, identify) and write a calibration file',
    load: () => { const m = require('./commands/eval') as typeof import('./commands/eval'); return { command: m.evalCommand, usage: m.usage }; },
  },
  models: {
    summary: 'verify the installed models against the manifest',
    load: () => { const m = require('./commands/models') as typeof import('./commands/models'); return { command: m.modelsCommand, usage: m.usage }; },
  },
  run: {
    summary: 'the unit daemon (what systemd runs)',
    load: () => { const m = require('./commands/run') as typeof import('./commands/run'); return { command: m.runCommand, usage: m.usage }; },
  },
  selftest: {
    summary: 'check the unit before work: keys, clock, disk, models on a sample, camera, broker',
    load: () => { const m = require('./commands/selftest') as typeof import('./commands/selftest'); return { command: m.selftestCommand, usage: m.usage }; },
  },
  wipe: {
    summary: 'remove leftover watchlist files before the daemon starts (boot)',
    load: () => { const m = require('./commands/wipe') as typeof import('./commands/wipe'); return { command: m.wipeCommand, usage: m.usage }; },
  },
  audit: {
    summary: 'check the hash chain of an audit log',
    load: () => { const m = require('./commands/audit') as typeof import('./commands/audit'); return { command: m.auditCommand, usage: m.usage }; },
  },
  keys: {
    summary: 'make unit or authority key pairs',
    load: () => { const m = require('./commands/keys') as typeof import('./commands/keys'); return { command: m.keysCommand, usage: m.usage }; },
  },
  replay: {
    summary: 'run camera -> vision -> tracker -> matcher -> decision on a recorded video',
    load: () => { const m = require('./commands/replay') as typeof import('./commands/replay'); return { command: m.replayCommand, usage: m.usage }; },
  },
  watchlist: {
    summary: 'build, inspect or verify an encrypted, signed watchlist bundle',
    load: () => { const m = require('./commands/watchlist') as typeof import('./commands/watchlist'); return { command: m.watchlistCommand, usage: m.usage }; },
  },
};

function topUsage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: lfr-edge <command> [options]\n\ncommands:\n${rows.join('\n')}\n\n'lfr-edge <command> --help' for a command's options.\n`;
}

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topUsage());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr(`lfr-edge: unknown command '${name}'\n\n${topUsage()}`);
    return 2;
  }
  const { command, usage } = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${usage}\n`);
    return 0;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`lfr-edge ${name}: ${err.message}\n\nusage:\n${usage}\n`);
      return 2;
    }
    if (err instanceof UserError || err instanceof ConfigError || err instanceof ModelError || err instanceof StartupError) {
      io.stderr(`lfr-edge ${name}: ${err.message}\n`);
      return 1;
    }
    io.stderr(`lfr-edge ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
