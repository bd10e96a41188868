/**
 * lfr-edge eval verify | identify | fairness: accuracy, open-set identification and per-group false
 * matches on labelled folder-per-person images, with an optional calibration file and SVG chart.
 * The maths lives in src/eval/ (pure); this file parses options, embeds the images and prints.
 */
import { fairness } from './eval/fairness';
import { identify } from './eval/identify';
import { quality } from './eval/quality';
import { OPTIONS, QUALITY_ONLY } from './eval/shared';
import { verify } from './eval/verify';
import { parse, UsageError, type Command } from './common';

export { fairnessText } from './eval/fairness';


export const usage = `lfr-edge eval verify   --images DIR [--pairs FILE | --max-per-person N --exclude FILE] [--json] [--plot FILE.svg] [--calibration-out FILE]
lfr-edge eval identify --images DIR [--enrol first|all] [--calibration-in FILE --calibration-out FILE] [--exclude FILE] [--json]
lfr-edge eval fairness --images DIR --demographics CSV [--far 1e-3,1e-4 | --threshold T[,T...]] [--max-per-person N]
                       [--exclude FILE] [--bootstrap N] [--seed N] [--json] [--plot FILE.svg] [--calibration-out FILE]
lfr-edge eval quality  --images DIR [--exclude FILE] [--mated N] [--non-mated N] [--copies N] [--bands 10,14,20,28,40]
                       [--iod-range 8,48] [--frame 1280x720] [--detector KEY] [--far 1e-2,1e-3,1e-4] [--seed N]
                       [--track-frames N] [--calibration-in FILE --calibration-out FILE] [--json] [--plot FILE.svg]

  verify     with --pairs (LFW pairs.txt format, images at DIR/<name>/<name>_<nnnn>.jpg): 10-fold
             accuracy (LFW protocol), TAR and threshold at FAR 1e-2, 1e-3, 1e-4. Without --pairs:
             every genuine and impostor pair among DIR/<person>/* (first --max-per-person images
             each, default 10), TAR down to FAR 1e-5 where the counts allow.
  identify   open-set 1:N: people with >= 2 images enrolled with their first image, their other
             images are mated searches, one-image people non-mated. TPIR at FPIR 1e-2 and 1e-3, rank-1.
             --enrol all: the same searches, reported beside first-photo enrolment (plain and
             flip-averaged) with each person enrolled as the unit does it: one template from all
             their photos, each averaged with its mirror image, the searched photo left out; and
             fused track templates (the best K of a person's other photos, K 1-8, uniform or quality
             weights) against first-photo enrolments: TAR at FMR. --calibration-in/-out: add the
             fused templates' impostors (recognition.decision.template K and weighting) to a
             calibration as its 'fused' section (the unit's fused threshold).
  fairness   false-match rate per demographic group (CSV: image,<attribute>,...; blank = unknown)
             at thresholds from all impostor pairs (--far, default 1e-3,1e-4) or given (--threshold),
             with 95% intervals from resampling people, and the threshold the worst group needs.
  quality    street-degraded faces: --mated people (default 500) enrolled with a clean photo, another
             photo of each and one of --non-mated others (250) degraded into --copies frames (8:
             downscaled to an inter-ocular distance in --iod-range px, motion/focus blur, low light,
             noise, JPEG) and found there by the live detector (vision.detector or --detector).
             TAR and FMR per inter-ocular band (--bands edges) at the unit's band thresholds, the
             detection rate per size, the gates where genuine matches collapse (the lowest size or
             sharpness from which a track of --track-frames such faces, default 10, reaches
             recognition.decision.minFrames matching frames with even odds); --calibration-in/-out
             add the per-band impostor distributions to a calibration (the unit's band thresholds).

  --json                 one JSON object on stdout (progress stays on stderr)
  --plot FILE.svg        verify: ROC chart; fairness: false-match rate against threshold per group;
                         quality: TAR per band
  --calibration-out FILE write the impostor score distribution (per group for fairness) for the unit
  --exclude FILE         leave out people ('Person') or images ('Person/Person_0001.jpg') listed one
                         per line (# comments): known label errors; the output counts them
  --workers N            vision workers in parallel (default 2)
  --config FILE          configuration (vision settings, model paths)

  The face closest to the image centre is used. An image with no face counts as a detection
  failure: its pairs score -1 (non-matches). An unreadable file is reported and the run goes on.`;


export const evalCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, OPTIONS);
  const sub = positionals[0];
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  if (sub !== 'quality') {
    const wrong = QUALITY_ONLY.filter((k) => values[k] !== undefined);
    if (wrong.length) throw new UsageError(`${wrong.map((k) => `--${k}`).join(', ')}: only for 'eval quality'`);
    if (values['calibration-in'] !== undefined && sub !== 'identify') throw new UsageError("--calibration-in: only for 'eval quality' and 'eval identify --enrol all'");
  }
  switch (sub) {
    case 'verify':
      return verify(values, io);
    case 'identify':
      return identify(values, io);
    case 'fairness':
      return fairness(values, io);
    case 'quality':
      return quality(values, io);
    case undefined:
      throw new UsageError('missing subcommand: verify, identify, fairness or quality');
    default:
      throw new UsageError(`unknown subcommand '${sub}': use verify, identify, fairness or quality`);
  }
};

