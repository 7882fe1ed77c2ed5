import { isMainThread } from 'node:worker_threads';
import { readRegularFile } from '@resnet-ts/core/node';
import sharp from 'sharp';
import { ImageFileError } from '../errors.js';
import { checkPixelLimit, DEFAULT_MAX_PIXELS, readImageHeader } from '../image-header.js';
import { decodeSimpleFormat, isSimpleFormat } from '../simple-formats.js';
import type { RgbaImage } from '../to-model-input.js';
import { decodeJpegWasm } from './jpeg-decoder.js';

/** The largest picture file read: far above any photo, well below what would hurt. */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/** Options of {@link decodeImage} and {@link readImage}. */
export interface DecodeImageOptions {
  /** Refuse pictures with more pixels than this, judged from the header (default 50 MP). */
  maxPixels?: number;
}

/** A decoded picture: `height` rows of `width` pixels of `channels` bytes each (HWC). */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

/**
 * The size a picture declares, from its header: parsed here for PNG and JPEG, asked of the
 * decoder (which reads only the header) for the other formats.
 */
async function declaredSize(bytes: Uint8Array, file: string) {
  const header = readImageHeader(bytes, file);
  if (header) return header;
  try {
    const meta = await sharp(bytes).metadata();
    return { width: meta.width ?? 0, height: meta.height ?? 0 };
  } catch (error) {
    throw new ImageFileError(
      file,
      `not a picture this package can decode (${(error as Error).message})`,
    );
  }
}

/** BMP, PGM or PPM, which sharp does not read, decoded in JavaScript. */
function simpleFormat(
  bytes: Uint8Array,
  file: string,
  maxPixels: number,
  alpha: boolean | undefined,
): DecodedImage {
  const { image, shape } = decodeSimpleFormat(bytes, file, maxPixels);
  const [height, width] = shape;
  if (!alpha) return { width, height, channels: 3, data: image as Uint8Array };
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let i = 0; i < width * height; i++) data.set(image.subarray(i * 3, i * 3 + 3), i * 4);
  return { width, height, channels: 4, data };
}

/**
 * Decodes a picture (JPEG, PNG, WebP, TIFF, GIF, AVIF; BMP, PGM and PPM in JavaScript) to 8-bit sRGB, RGB or RGBA (`alpha`),
 * turned upright by its EXIF orientation as a photo viewer shows it. The pixel count is
 * checked against `maxPixels` from the header before any pixel is decoded. Decodes with
 * sharp; in a worker thread, a baseline JPEG to RGB with this package's WebAssembly decoder,
 * whose pixels are the same.
 */
export async function decodeImage(
  bytes: Uint8Array,
  file: string,
  options: DecodeImageOptions & { alpha?: boolean } = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isSimpleFormat(bytes)) return simpleFormat(bytes, file, maxPixels, options.alpha);
  const { width, height } = await declaredSize(bytes, file);
  checkPixelLimit(width, height, maxPixels, file);
  if (!options.alpha && !isMainThread && bytes[0] === 0xff && bytes[1] === 0xd8) {
    // Off the main thread (a worker pool's worker), a JPEG decodes right here in
    // WebAssembly: the same pixels for less CPU than sharp's threads, and nothing left
    // to do that a blocked event loop would delay.
    const rgb = decodeJpegWasm(bytes);
    if (rgb) return { ...rgb, channels: 3 };
  }
  try {
    const pipeline = sharp(bytes, { limitInputPixels: maxPixels }).rotate().toColourspace('srgb');
    const { data, info } = await (options.alpha ? pipeline.ensureAlpha() : pipeline.removeAlpha())
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      channels: info.channels as 3 | 4,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (error) {
    throw new ImageFileError(file, `cannot decode the picture (${(error as Error).message})`);
  }
}

/**
 * Reads and decodes a picture file (a regular file only) to RGBA, told apart by its first
 * bytes rather than its name; pictures over `maxPixels` (default 50 MP) are refused from
 * their header before decoding.
 */
export async function readImage(
  path: string,
  options: DecodeImageOptions = {},
): Promise<RgbaImage> {
  const bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES, what: 'picture' });
  const image = await decodeImage(bytes, path, { ...options, alpha: true });
  return { width: image.width, height: image.height, data: image.data };
}
