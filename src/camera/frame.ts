/**
 * Frames from the camera process: pixel repacking (pure) and the wire format between the camera
 * process and the CameraSource (length-prefixed JSON header, then the packed RGB bytes).
 */
import type { RgbImage } from '../vision/types';

export interface Frame {
  /** Number of this frame among all the camera pulled (per source, across restarts; gaps = drops). */
  seq: number;
  /** When the frame left the appsink, ms since the epoch (sub-ms precision). */
  capturedAt: number;
  /** The stream's nominal frame rate from its caps (0 when unknown or variable). */
  fps?: number;
  image: RgbImage;
}

export class FrameFormatError extends Error {
  override name = 'FrameFormatError';
}

/** GStreamer's default row stride for packed 3-byte RGB: rows padded to 4 bytes. */
export function rgbStride(width: number): number {
  return (width * 3 + 3) & ~3;
}

/**
 * Any appsink format the templates produce -> packed RGB (stride = width * 3). RGB without row
 * padding is returned as is (no copy); padded RGB is de-padded; RGBA/RGBx/BGRx are repacked.
 */
export function toPackedRgb(buf: Uint8Array, width: number, height: number, format: string): Uint8Array {
  const packed = width * 3;
  switch (format) {
    case 'RGB': {
      const stride = rgbStride(width);
      if (buf.length < stride * (height - 1) + packed) {
        throw new FrameFormatError(`RGB frame ${width}x${height}: ${buf.length} bytes, expected ${stride * height}`);
      }
      if (stride === packed) return buf.length === packed * height ? buf : buf.subarray(0, packed * height);
      const out = new Uint8Array(packed * height);
      for (let y = 0; y < height; y++) out.set(buf.subarray(y * stride, y * stride + packed), y * packed);
      return out;
    }
    case 'RGBA':
    case 'RGBx':
    case 'BGRx': {
      const n = width * height;
      if (buf.length < n * 4) throw new FrameFormatError(`${format} frame ${width}x${height}: ${buf.length} bytes, expected ${n * 4}`);
      const out = new Uint8Array(packed * height);
      const bgr = format === 'BGRx';
      if (buf.byteOffset % 4 === 0) {
        const u = new Uint32Array(buf.buffer, buf.byteOffset, n);
        for (let i = 0, o = 0; i < n; i++, o += 3) {
          const v = u[i]; // little-endian: byte 0 in the low bits
          const a = v & 255;
          const c = (v >>> 16) & 255;
          out[o] = bgr ? c : a;
          out[o + 1] = (v >>> 8) & 255;
          out[o + 2] = bgr ? a : c;
        }
      } else {
        for (let i = 0, o = 0; i < n; i++, o += 3) {
          const s = i * 4;
          out[o] = buf[bgr ? s + 2 : s];
          out[o + 1] = buf[s + 1];
          out[o + 2] = buf[bgr ? s : s + 2];
        }
      }
      return out;
    }
    default:
      throw new FrameFormatError(`appsink format ${format} is not supported (use RGB, RGBA, RGBx or BGRx in the pipeline template)`);
  }
}

/** Messages from the camera process, in order on one pipe. */
export type CameraMessage =
  /** seq: frames pulled so far by this camera process; dropped: replaced before being asked for. */
  | { t: 'frame'; seq: number; dropped: number; capturedAt: number; fps: number; width: number; height: number; bytes: number }
  | { t: 'stats'; pulled: number; dropped: number; lastPullAt: number }
  | { t: 'error'; message: string; element?: string }
  | { t: 'eos' };

/** Messages to the camera process (IPC channel). */
export type CameraRequest = { t: 'next' } | { t: 'stop' };

export function encodeMessage(msg: CameraMessage, payload?: Uint8Array): Buffer[] {
  const header = Buffer.from(JSON.stringify(msg), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length, 0);
  return payload ? [len, header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)] : [len, header];
}

/** Incremental decoder for the camera pipe: feed chunks, get whole messages with their payload. */
export class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header?: CameraMessage;

  push(chunk: Buffer, onMessage: (msg: CameraMessage, payload?: Uint8Array) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (!this.header) {
        if (this.buffered < 4) return;
        const len = this.peek(4).readUInt32LE(0);
        if (len > 1 << 20) throw new FrameFormatError(`camera process sent a ${len}-byte header: the pipe is out of step`);
        if (this.buffered < 4 + len) return;
        this.take(4);
        this.header = JSON.parse(this.take(len).toString('utf8')) as CameraMessage;
      }
      const need = this.header.t === 'frame' ? this.header.bytes : 0;
      if (this.buffered < need) return;
      const msg = this.header;
      this.header = undefined;
      if (need > 0) {
        const bytes = this.take(need);
        onMessage(msg, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } else {
        onMessage(msg);
      }
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
      if (this.chunks[0].length === n) this.chunks.shift();
      else this.chunks[0] = this.chunks[0].subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - off);
        c.copy(out, off, 0, k);
        off += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
