/**
 * The camera opens and yields a frame: the configured template through the same CameraSource the
 * daemon uses, with no restarts (a failure is reported, not retried) and a bounded wait.
 */
import { cameraSourceTimings, type CameraConfig } from '../camera/config';
import { renderPipeline } from '../camera/pipeline-template';
import { CameraSource } from '../camera/source';
import type { Logger } from '../log';
import { fail, pass, type CheckResult } from './check';

export async function checkCamera(cfg: CameraConfig, logger: Logger, timeoutMs: number): Promise<CheckResult> {
  const name = 'camera';
  const pipeline = renderPipeline(cfg.template, cfg.settings);
  const source = new CameraSource({
    ...cameraSourceTimings(cfg),
    pipeline,
    logger,
    mode: 'latest',
    restartOnEos: false,
    startTimeoutMs: timeoutMs,
    maxRestarts: 0,
  });
  let failure: string | undefined;
  source.on('failed', (f: { reason: string; message: string }) => {
    failure = f.message;
  });
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    source.start();
    // The source's own start timeout ends it (as 'failed'); this guard only bounds a hung stop.
    const frame = await Promise.race([
      source.next(),
      new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs + 2000); }),
    ]);
    if (!frame) {
      const why = failure ?? source.stats().lastError ?? `no frame within ${(timeoutMs / 1000).toFixed(0)} s`;
      return fail(name, `template ${cfg.template}: ${why}; check the camera is connected and the template settings, and try the pipeline with gst-launch-1.0 (docs/camera.md)`);
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    return pass(name, `template ${cfg.template}: ${frame.image.width}x${frame.image.height} frame after ${secs} s`);
  } finally {
    clearTimeout(timer);
    await source.stop();
  }
}
