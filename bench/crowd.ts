/**
 * Crowd benchmark: `lfr-edge replay --realtime` on the crowd video of ../shared/tools/make_crowd.py
 * (1280x720 25 fps, ~12 people in view, 30 watchlisted among 120; lfw-dev people only), as a
 * camera would deliver it: processed fps, frames dropped, frame-to-decision latency p50/p95,
 * embeddings per track, the share of tracks embedded at least 3 times, faces not embedded by
 * reason, and alerts against the video's truth.json, at the threshold the unit computes.
 *
 * The video folder (walkpast.mp4, watchlist/, truth.json) is LFR_EDGE_CROWD_DIR, else
 * <tmp>/lfr-edge-bench-crowd, built there once from ../shared/data/lfw-dev with the generator when
 * Debian's python3-opencv is present; otherwise the part is skipped with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { replayCommand } from '../src/commands/replay';
import { resolveFromRoot } from '../src/paths';

const PYTHON = '/usr/bin/python3';
/** lfw-dev photos that show a second, named person (the crowd video walks one of them past). */
const ALSO_SHOWS = 'docs/lfw-dev-also-shows.txt';

/** The crowd video folder, built if need be; a string reason when it cannot be had. */
export function crowdVideo(sharedData: string, log: (s: string) => void): { dir: string } | { skip: string } {
  const dir = process.env.LFR_EDGE_CROWD_DIR ?? path.join(tmpdir(), 'lfr-edge-bench-crowd');
  const ready = ['walkpast.mp4', 'truth.json', 'watchlist'].every((f) => existsSync(path.join(dir, f)));
  if (ready) return { dir };
  if (process.env.LFR_EDGE_CROWD_DIR) return { skip: `LFR_EDGE_CROWD_DIR=${dir} lacks walkpast.mp4, truth.json or watchlist/ (make it with ../shared/tools/make_crowd.py DATA ${dir})` };
  const tool = path.resolve(sharedData, '../tools/make_crowd.py');
  const data = path.join(sharedData, 'lfw-dev');
  if (!existsSync(tool) || !existsSync(data)) return { skip: `no crowd video at ${dir}, and no generator (${tool}) or data (${data}) to make one` };
  const cv = spawnSync(PYTHON, ['-c', 'import cv2, numpy'], { stdio: 'ignore' });
  if (cv.status !== 0) return { skip: `no crowd video at ${dir}, and ${PYTHON} cannot import cv2 to make one (apt-get install python3-opencv), or set LFR_EDGE_CROWD_DIR` };
  log(`crowd: making ${dir} with ${tool} (about a minute) ...`);
  execFileSync(PYTHON, [tool, data, dir], { stdio: 'inherit' });
  return { dir };
}

export async function benchCrowd(sharedData: string, log: (s: string) => void): Promise<unknown> {
  const video = crowdVideo(sharedData, log);
  if ('skip' in video) {
    log(`crowd: skipped: ${video.skip}`);
    return { skipped: video.skip };
  }
  const lines: string[] = [];
  const code = await replayCommand(
    [
      path.join(video.dir, 'walkpast.mp4'), '--realtime', '--json', '--watchlist-photos', path.join(video.dir, 'watchlist'),
      '--ground-truth', path.join(video.dir, 'truth.json'), '--also-shows', resolveFromRoot(ALSO_SHOWS),
    ],
    { stdout: (s) => lines.push(...s.split('\n').filter(Boolean)), stderr: (s) => process.stderr.write(s), env: process.env },
  );
  const summary = JSON.parse(lines.filter((l) => l.includes('"type":"summary"')).at(-1) ?? '{}') as Record<string, unknown>;
  const gt = summary.groundTruth as { subjectsPresent: number; subjectsFound: number; falseAlerts: number; trueViaAlsoShown?: number; missed: string[] } | undefined;
  const frames = Number(summary.frames);
  const result = {
    video: video.dir,
    exitCode: code,
    processedFps: summary.processedFps,
    framesIn: frames,
    framesProcessed: summary.framesProcessed,
    framesDropped: summary.framesDropped,
    droppedPct: frames ? Math.round((1000 * Number(summary.framesDropped)) / frames) / 10 : null,
    latencyMs: summary.latencyMs,
    cpuMsPerFrame: summary.cpuMsPerFrame,
    embeddingsPerTrack: summary.embeddingsPerTrack,
    facesDetected: summary.facesDetected,
    facesEmbedded: summary.facesEmbedded,
    facesNotEmbedded: summary.facesNotEmbedded,
    notEmbeddedBy: summary.notEmbeddedBy,
    tracks: summary.tracks,
    alerted: gt ? `${gt.subjectsFound}/${gt.subjectsPresent}` : null,
    falseAlerts: gt?.falseAlerts ?? null,
    trueViaAlsoShown: gt?.trueViaAlsoShown ?? null,
    missed: gt?.missed ?? null,
    threshold: summary.threshold,
    provider: summary.provider,
  };
  log(`crowd: ${JSON.stringify(result, null, 1)}`);
  return result;
}
