import { PipelineTemplateError, renderPipeline, PIPELINE_TEMPLATES } from '../camera/pipeline-template';
import { configFrom, parse, UsageError, UserError, type Command } from './common';

export const usage = `lfr-edge camera render [--config FILE] [--template NAME] [--set KEY=VALUE ...]
  Print the GStreamer pipeline the unit would run (from the config's camera section, or the
  template and settings given), ready for: gst-launch-1.0 -v <pipeline with the appsink replaced
  by fakesink>. Templates: ${PIPELINE_TEMPLATES.join(', ')}.`;

export const cameraCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'render') throw new UsageError(`unknown camera subcommand '${sub ?? ''}'`);
  const { values } = parse(rest, { config: { type: 'string' }, template: { type: 'string' }, set: { type: 'string', multiple: true } }, false);
  const cfg = configFrom(values.config, io);
  const settings: Record<string, string | number | boolean> = values.template ? {} : { ...cfg.camera.settings };
  for (const kv of values.set ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--set takes KEY=VALUE, got '${kv}'`);
    const raw = kv.slice(i + 1);
    settings[kv.slice(0, i)] = /^(-?\d+(\.\d+)?|true|false)$/.test(raw) ? (JSON.parse(raw) as number | boolean) : raw;
  }
  let rendered;
  try {
    rendered = renderPipeline(values.template ?? cfg.camera.template, settings);
  } catch (err) {
    if (err instanceof PipelineTemplateError) throw new UserError(err.message);
    throw err;
  }
  io.stdout(`${rendered.launch}\n`);
  io.stdout(`# check it on the unit: gst-launch-1.0 -v ${rendered.launch.replace(/appsink name=sink[^!]*$/, 'fakesink sync=false')}\n`);
  return 0;
};
