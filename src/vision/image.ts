/**
 * Still images (JPEG, PNG, and whatever else libvips reads) decoded to packed 8-bit RGB, with EXIF
 * orientation applied. Used for enrollment and evaluation (never a GStreamer pipeline per still).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbImage } from './types';

export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(readonly file: string, reason: string) {
    super(`${file}: cannot decode image (${reason})`);
  }
}

/** Decode an in-memory encoded image; `label` names it in errors. */
export async function decodeImage(bytes: Buffer, label: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new ImageDecodeError(label, (err as Error).message.replace(/\s+/g, ' ').trim());
  }
}

export async function decodeImageFile(file: string): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ImageDecodeError(file, e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message);
  }
  if (bytes.length === 0) throw new ImageDecodeError(file, 'file is empty');
  return decodeImage(bytes, file);
}

/** Encode a packed RGB image as JPEG (alerts' optional face crop). */
export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .jpeg({ quality })
    .toBuffer();
}
