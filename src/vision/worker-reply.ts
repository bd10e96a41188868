/**
 * How the vision worker sends an analysis back: cloned, never transferred, and then its own copies
 * of the face data zeroed (no biometric data is left behind in the worker, as with a transfer).
 *
 * Why not transfer: detaching any ArrayBuffer (which a transfer does, on the sending side)
 * invalidates V8's array-buffer-detaching protector for the whole isolate, for good; from then on
 * optimised code checks for a detached buffer on typed-array accesses. Measured in one process,
 * before and after detaching one unrelated 16-byte buffer: resizeToPlanar 1.02 -> 1.5-1.6 ms,
 * laplacianVariance +50%, embedderInput +40%. The worker transferred every result's embeddings, so
 * all its pre-processing ran that much slower than the same code in-thread (the "worker overhead").
 * Receiving a transferred frame detaches nothing in the worker. An embedding is 2 KB to clone; the
 * crops (aligned, context) are cloned only when asked for.
 */
import type { FrameAnalysis } from './types';

export interface ReplyPort {
  postMessage(msg: unknown): void;
}

/** Post `msg` (its result cloned), then zero the worker's copies of every face's embedding and crops. */
export function postAnalysis<M extends { result: FrameAnalysis }>(port: ReplyPort, msg: M): void {
  port.postMessage(msg);
  for (const f of msg.result.faces) {
    f.embedding.fill(0);
    f.flipAveraged?.fill(0);
    f.aligned?.data.fill(0);
    f.context?.data.fill(0);
  }
}
