import { formatValue, Generator, ValueError } from '@resnet-ts/core';
import { DatasetFileError } from './errors.js';
import { ImageArrayDataset } from './image-array-dataset.js';
import type { Transform } from './transforms/transform.js';

/** The 10,000 embedded digits, as {@link parseMnistDigits} returns them. */
export interface MnistDigits {
  /** `count * 28 * 28` bytes, image after image, row-major, 0 = background. */
  images: Uint8Array;
  /** One label 0..9 per image. */
  labels: Uint8Array;
  count: number;
  height: 28;
  width: 28;
}

const MAGIC = [0x4d, 0x4e, 0x44, 0x47]; // "MNDG"
const HEADER = 12;

/**
 * Reads `mnist-digits.bin` (the asset `@resnet-ts/data/mnist-digits.bin`): "MNDG", version
 * byte 1, height, width, a zero byte, the count as uint32 little-endian, `count` labels,
 * then `count` images of height × width bytes. Works in browsers; the arrays are views of
 * `bytes`, not copies.
 */
export function parseMnistDigits(
  bytes: Uint8Array | ArrayBuffer,
  file = 'mnist-digits.bin',
): MnistDigits {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < HEADER || MAGIC.some((m, i) => b[i] !== m)) {
    throw new DatasetFileError(file, 'not an mnist-digits file: expected it to start with "MNDG"');
  }
  if (b[4] !== 1) throw new DatasetFileError(file, `format version ${b[4]}, expected 1`);
  const height = b[5];
  const width = b[6];
  if (height !== 28 || width !== 28) {
    throw new DatasetFileError(file, `images are ${height}x${width}, expected 28x28`);
  }
  const count = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(8, true);
  const expected = HEADER + count + count * height * width;
  if (b.length !== expected) {
    throw new DatasetFileError(file, `${b.length} bytes, expected ${expected} for ${count} digits`);
  }
  const labels = b.subarray(HEADER, HEADER + count);
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0)
    throw new DatasetFileError(file, `label ${labels[bad]} at index ${bad}, expected 0-9`);
  return { images: b.subarray(HEADER + count), labels, count, height: 28, width: 28 };
}

/** Options of {@link splitMnistDigits} and `mnistDigits`. */
export interface MnistDigitsOptions {
  /** Digits held out for testing (default 2,000 of the 10,000). */
  testSize?: number;
  /** Seed of the split's permutation (default 0); the same seed gives the same split. */
  seed?: number;
  /** Transform of the training images (default none: uint8 [0, 255]). */
  transform?: Transform;
  /** Transform of the test images (default: `transform`). */
  testTransform?: Transform;
}

/** The two halves of the embedded digits. */
export interface MnistDigitsSplit {
  train: ImageArrayDataset;
  test: ImageArrayDataset;
}

const DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/**
 * Splits the embedded digits into train and test datasets of 28 × 28 × 1 uint8 images:
 * a permutation from `Generator(seed)`; its first `testSize` indices are the test set, the
 * rest the training set, each in permuted order. Deterministic for a given seed.
 */
export function splitMnistDigits(
  digits: MnistDigits,
  options: MnistDigitsOptions = {},
): MnistDigitsSplit {
  const { testSize = 2000, seed = 0, transform } = options;
  if (!Number.isInteger(testSize) || testSize < 0 || testSize > digits.count) {
    throw new ValueError(
      `testSize must be an integer in [0, ${digits.count}], got ${formatValue(testSize)}`,
    );
  }
  const perm = new Generator(seed).permutation(digits.count);
  const take = (indices: Int32Array, t: Transform | undefined) => {
    const size = digits.height * digits.width;
    const images = new Uint8Array(indices.length * size);
    const labels = new Uint8Array(indices.length);
    indices.forEach((src, dst) => {
      images.set(digits.images.subarray(src * size, (src + 1) * size), dst * size);
      labels[dst] = digits.labels[src];
    });
    return new ImageArrayDataset(images, labels, [digits.height, digits.width, 1], {
      transform: t,
      classes: DIGIT_CLASSES,
    });
  };
  return {
    test: take(perm.subarray(0, testSize), options.testTransform ?? transform),
    train: take(perm.subarray(testSize), transform),
  };
}

/** One half of {@link splitMnistDigits}: `split: 'train'` (default) or `'test'`. */
export function mnistDigitsDataset(
  digits: MnistDigits,
  options: MnistDigitsOptions & { split?: 'train' | 'test' } = {},
): ImageArrayDataset {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') {
    throw new ValueError(`split must be 'train' or 'test', got ${formatValue(split)}`);
  }
  const halves = splitMnistDigits(digits, {
    ...options,
    testTransform: options.testTransform ?? options.transform,
  });
  return halves[split];
}

/**
 * Fetches and splits the embedded digits in a browser (or anywhere `fetch` works), e.g. with
 * Vite: `fetchMnistDigits((await import('@resnet-ts/data/mnist-digits.bin?url')).default)`.
 */
export async function fetchMnistDigits(
  url: string | URL,
  options: MnistDigitsOptions = {},
): Promise<MnistDigitsSplit> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new DatasetFileError(String(url), `HTTP ${response.status} ${response.statusText}`);
  }
  return splitMnistDigits(parseMnistDigits(await response.arrayBuffer(), String(url)), options);
}
