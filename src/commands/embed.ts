import { createStderrLogger } from '../log';
import { expandInputs } from '../vision/files';
import { decodeImageFile } from '../vision/image';
import { openVision } from '../vision/open';
import { createProgress } from '../vision/progress';
import type { Face } from '../vision/types';
import { configFrom, parse, UsageError, type Command } from './common';

export const usage = `lfr-edge embed IMAGE|DIR... [--json] [--config FILE]
  Detects every face, with its box, 68 landmarks, five points, quality (and the reasons a face
  fails it) and L2-normalised 512-d embedding. Directories are walked; a file that cannot be
  decoded is reported and the run goes on (exit 1 at the end if any failed).
  --json   one JSON object per image per line on stdout (errors as {"file","error"})`;

const r = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export function faceToJson(f: Face) {
  return {
    box: f.box.map((v) => r(v)),
    detScore: r(f.detScore, 4),
    fivePoints: f.fivePoints.map((p) => p.map((v) => r(v))),
    landmarks: f.landmarks.map((p) => p.map((v) => r(v))),
    quality: { ...f.quality, interOcularPx: r(f.quality.interOcularPx), sharpness: r(f.quality.sharpness, 1), yawDeg: r(f.quality.yawDeg, 1), pitchDeg: r(f.quality.pitchDeg, 1), detScore: r(f.quality.detScore, 4) },
    embedding: Array.from(f.embedding, (v) => r(v, 6)),
  };
}

export const embedCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, config: { type: 'string' } });
  if (positionals.length === 0) throw new UsageError('give at least one IMAGE or DIR');
  const cfg = configFrom(values.config, io);
  const files = expandInputs(positionals);
  const vision = await openVision(cfg, createStderrLogger('warn'));
  const progress = createProgress('embed', files.length, files.length > 20 ? io.stderr : undefined);
  let failed = 0;
  try {
    for (const file of files) {
      try {
        const img = await decodeImageFile(file);
        const res = await vision.analyze(img, { transfer: true, withLandmarks: true });
        if (values.json) {
          io.stdout(JSON.stringify({ file, width: res.width, height: res.height, faces: res.faces.map(faceToJson) }) + '\n');
        } else {
          io.stdout(`${file}: ${res.width}x${res.height}, ${res.faces.length} face(s)\n`);
          res.faces.forEach((f, i) => {
            const q = f.quality;
            io.stdout(
              `  face ${i + 1}: box [${f.box.map((v) => v.toFixed(0)).join(', ')}] score ${f.detScore.toFixed(3)}` +
                ` iod ${q.interOcularPx.toFixed(0)}px sharpness ${q.sharpness.toFixed(0)} yaw ${q.yawDeg.toFixed(0)} pitch ${q.pitchDeg.toFixed(0)}` +
                ` quality ${q.passed ? 'ok' : 'FAILED: ' + q.reasons.join(', ')}` +
                ` embedding [${Array.from(f.embedding.subarray(0, 4), (v) => v.toFixed(4)).join(', ')}, ...] (${f.embedding.length}-d)\n`,
            );
          });
        }
      } catch (err) {
        failed++;
        const message = (err as Error).message;
        io.stderr(`lfr-edge embed: ${message}\n`);
        if (values.json) io.stdout(JSON.stringify({ file, error: message }) + '\n');
      }
      progress.tick();
    }
  } finally {
    await vision.close();
  }
  progress.done();
  if (failed) io.stderr(`lfr-edge embed: ${failed} of ${files.length} file(s) could not be read\n`);
  return failed ? 1 : 0;
};
