/**
 * Ground truth for independent review of a replay: which watchlist subjects appear in a video and,
 * optionally, when. Pure: parse and score.
 *
 *   {"present": ["lin-manuel-miranda", "barack-obama"]}
 *   {"present": {"barack-obama": [[5.0, 9.3]], "lin-manuel-miranda": null}, "toleranceSec": 1}
 *
 *   the generators' truth.json (../shared/tools/make_walkpast.py, make_crowd.py):
 *   {"fps": 25, "appearances": [{"person": "A_B", "enrolled": true, "first": 0, "last": 39}, ...]}
 *   (frame numbers; appearances with "enrolled": false are passers-by, not watchlist subjects)
 *
 * An alert is true when its subject is present (and, with intervals, its video time lies within one
 * of them, widened by toleranceSec); otherwise it is a false alert. A present subject on the
 * watchlist without a true alert is a miss.
 *
 * A photo can show more people than the one it is filed under (LFW holds such photos). An
 * "also shows" list (parseAlsoShows: `Person/Person_0002.jpg  Other_Person`) says so; with it, a
 * generator's appearance of that photo makes the other person present too, during that
 * appearance. An alert for them then is true (their face was in view) and is counted apart
 * (`trueViaAlsoShown`); their being only also shown never makes them missed.
 */
export interface GroundTruth {
  /** subject -> intervals in seconds of video; null = anywhere in the video. */
  present: Map<string, [number, number][] | null>;
  toleranceSec: number;
  /** People present only because a photo filed under someone else shows them (see AlsoShows). */
  alsoPresent?: Map<string, [number, number][]>;
}

/** 'Person/photo.jpg' -> the other people that photo shows. */
export type AlsoShows = Map<string, string[]>;

export interface ScoredAlert {
  subject: string;
  videoTimeSec: number;
}

export interface GroundTruthReport {
  /** Watchlist subjects the truth says appear, and how many of them had a true alert. */
  subjectsPresent: number;
  subjectsFound: number;
  trueAlerts: number;
  /** True alerts whose subject was in view only in a photo filed under someone else (an "also shows" entry). */
  trueViaAlsoShown?: number;
  falseAlerts: number;
  falseAlertSubjects: string[];
  missed: string[];
  notOnWatchlist?: string[];
  alerts: { subject: string; videoTimeSec: number; verdict: 'true' | 'false'; alsoShown?: true }[];
}

export class GroundTruthError extends Error {
  override name = 'GroundTruthError';
}

const FORMAT = 'expected {"present": ["subject", ...]} or {"present": {"subject": [[fromSec, toSec], ...] | null}} (subject = watchlist folder name), or a generator\'s truth.json {"fps": N, "appearances": [{"person", "first", "last"}, ...]}';

/** The generators' truth.json: appearances in frame numbers at `fps`. */
function fromAppearances(obj: { fps?: unknown; appearances: unknown; toleranceSec?: unknown }, source: string, alsoShows?: AlsoShows): GroundTruth {
  const fps = obj.fps;
  if (typeof fps !== 'number' || !(fps > 0)) throw new GroundTruthError(`ground truth ${source}: "fps" must be a number > 0 with "appearances"`);
  if (!Array.isArray(obj.appearances)) throw new GroundTruthError(`ground truth ${source}: "appearances" must be an array`);
  const present = new Map<string, [number, number][]>();
  const alsoPresent = new Map<string, [number, number][]>();
  obj.appearances.forEach((a: { person?: unknown; first?: unknown; last?: unknown; enrolled?: unknown; photo?: unknown }, i) => {
    if (!a || typeof a.person !== 'string' || typeof a.first !== 'number' || typeof a.last !== 'number' || a.first > a.last) {
      throw new GroundTruthError(`ground truth ${source}: appearances[${i}] must be {"person": string, "first": frame, "last": frame} with first <= last`);
    }
    const shown = typeof a.photo === 'string' ? alsoShows?.get(`${a.person}/${a.photo}`) : undefined;
    for (const other of shown ?? []) {
      const iv = alsoPresent.get(other) ?? [];
      iv.push([a.first / fps, a.last / fps]);
      alsoPresent.set(other, iv);
    }
    if (a.enrolled === false) return;
    const iv = present.get(a.person) ?? [];
    iv.push([a.first / fps, a.last / fps]);
    present.set(a.person, iv);
  });
  const tol = obj.toleranceSec ?? 1;
  if (typeof tol !== 'number' || !(tol >= 0)) throw new GroundTruthError(`ground truth ${source}: toleranceSec must be a number >= 0`);
  return alsoShows ? { present, toleranceSec: tol, alsoPresent } : { present, toleranceSec: tol };
}

/**
 * An "also shows" list: one photo per line, `Person/Person_0002.jpg  Other_Person [More_People]`,
 * `#` starts a comment, blank lines are ignored. Throws naming the line when one is malformed.
 */
export function parseAlsoShows(text: string, source: string): AlsoShows {
  const out: AlsoShows = new Map();
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    const [photo, ...others] = fields;
    if (!/^[^/]+\/[^/]+$/.test(photo) || others.length === 0) {
      throw new GroundTruthError(`${source}:${i + 1}: expected 'Person/photo.jpg Other_Person ...', got '${raw.trim()}'`);
    }
    if (others.includes(photo.split('/')[0])) throw new GroundTruthError(`${source}:${i + 1}: ${photo} is filed under ${photo.split('/')[0]} already`);
    out.set(photo, [...new Set([...(out.get(photo) ?? []), ...others])]);
  });
  return out;
}

/**
 * `alsoShows` applies to a generator's truth.json only (its appearances name their photos);
 * with any other format it is refused.
 */
export function parseGroundTruth(raw: unknown, source: string, alsoShows?: AlsoShows): GroundTruth {
  const obj = raw as { present?: unknown; toleranceSec?: unknown; appearances?: unknown; fps?: unknown };
  if (!obj || typeof obj !== 'object') throw new GroundTruthError(`ground truth ${source}: ${FORMAT}`);
  if (obj.present === undefined && obj.appearances !== undefined) return fromAppearances({ ...obj, appearances: obj.appearances }, source, alsoShows);
  if (alsoShows) throw new GroundTruthError(`ground truth ${source}: an "also shows" list needs a generator's truth.json (appearances that name their photo)`);
  const tol = obj.toleranceSec ?? 1;
  if (typeof tol !== 'number' || !(tol >= 0)) throw new GroundTruthError(`ground truth ${source}: toleranceSec must be a number >= 0`);
  const present = new Map<string, [number, number][] | null>();
  if (Array.isArray(obj.present)) {
    for (const s of obj.present) {
      if (typeof s !== 'string') throw new GroundTruthError(`ground truth ${source}: ${FORMAT}`);
      present.set(s, null);
    }
  } else if (obj.present && typeof obj.present === 'object') {
    for (const [s, iv] of Object.entries(obj.present as Record<string, unknown>)) {
      if (iv === null) {
        present.set(s, null);
        continue;
      }
      const ok = Array.isArray(iv) && iv.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'number') && p[0] <= p[1]);
      if (!ok) throw new GroundTruthError(`ground truth ${source}: intervals of '${s}' must be [[fromSec, toSec], ...] with from <= to`);
      present.set(s, iv as [number, number][]);
    }
  } else {
    throw new GroundTruthError(`ground truth ${source}: ${FORMAT}`);
  }
  return { present, toleranceSec: tol };
}

export function scoreAlerts(truth: GroundTruth, alerts: ScoredAlert[], watchlist: string[]): GroundTruthReport {
  const within = (t: number, iv: [number, number][]) => iv.some(([from, to]) => t >= from - truth.toleranceSec && t <= to + truth.toleranceSec);
  const judged = alerts.map((a) => {
    const iv = truth.present.get(a.subject);
    const hit = truth.present.has(a.subject) && (iv === null || iv === undefined || within(a.videoTimeSec, iv));
    const also = !hit && within(a.videoTimeSec, truth.alsoPresent?.get(a.subject) ?? []);
    return { subject: a.subject, videoTimeSec: a.videoTimeSec, verdict: hit || also ? ('true' as const) : ('false' as const), ...(also ? { alsoShown: true as const } : {}) };
  });
  const truly = new Set(judged.filter((j) => j.verdict === 'true').map((j) => j.subject));
  const notOnWatchlist = [...truth.present.keys()].filter((s) => !watchlist.includes(s));
  const presentListed = [...truth.present.keys()].filter((s) => watchlist.includes(s));
  return {
    subjectsPresent: presentListed.length,
    subjectsFound: presentListed.filter((s) => truly.has(s)).length,
    trueAlerts: judged.filter((j) => j.verdict === 'true').length,
    ...(truth.alsoPresent ? { trueViaAlsoShown: judged.filter((j) => j.alsoShown).length } : {}),
    falseAlerts: judged.filter((j) => j.verdict === 'false').length,
    falseAlertSubjects: [...new Set(judged.filter((j) => j.verdict === 'false').map((j) => j.subject))],
    missed: presentListed.filter((s) => !truly.has(s)),
    ...(notOnWatchlist.length ? { notOnWatchlist } : {}),
    alerts: judged,
  };
}
