import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DatasetFileError } from '../errors.js';
import {
  type MnistDigitsOptions,
  type MnistDigitsSplit,
  parseMnistDigits,
  splitMnistDigits,
} from '../mnist-digits.js';

// Built code sits in dist/node/, sources in src/node/ (tests run those): the asset is
// dist/assets/ from either.
const CANDIDATES = ['../assets/mnist-digits.bin', '../../dist/assets/mnist-digits.bin'];

/** The path of the embedded digits asset that ships with this package. */
export function mnistDigitsPath(): string {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new DatasetFileError(
    fileURLToPath(new URL(CANDIDATES[0], import.meta.url)),
    'the embedded MNIST digits asset is missing; build @resnet-ts/data (`pnpm --filter @resnet-ts/data build`) to generate it',
  );
}

/**
 * The 10,000 real MNIST digits embedded in this package, split 8,000 / 2,000 (by default)
 * into train and test datasets of 28 × 28 × 1 uint8 images. No download needed.
 */
export async function mnistDigits(
  options: MnistDigitsOptions & { path?: string } = {},
): Promise<MnistDigitsSplit> {
  const path = options.path ?? mnistDigitsPath();
  return splitMnistDigits(parseMnistDigits(await readFile(path), path), options);
}
