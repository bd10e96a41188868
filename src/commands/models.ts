import { verifyModels } from '../models/manifest';
import { configFrom, parse, type Command } from './common';

export const usage = `lfr-edge models verify [--config FILE]   check every model file against models/manifest.json`;

export const modelsCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, { config: { type: 'string' } });
  if (positionals[0] !== 'verify') {
    io.stderr(`usage:\n${usage}\n`);
    return 2;
  }
  const cfg = configFrom(values.config, io);
  const v = verifyModels(cfg.models);
  for (const [key, p] of Object.entries(v.paths)) io.stdout(`${v.manifest.models[key].kind}: ${p} ok (${key})\n`);
  io.stdout(`embedder sha256 ${v.embedderSha256}\n`);
  return 0;
};
