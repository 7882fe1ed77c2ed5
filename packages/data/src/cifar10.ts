import { DatasetFileError } from './errors.js';
import { checkLabels } from './idx.js';

/** CIFAR-10's classes in label order (what `batches.meta.txt` lists). */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/** Bytes per CIFAR-10 binary record: 1 label byte, then 32 × 32 red, green, blue planes. */
export const CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32;

/**
 * Reads one CIFAR-10 binary batch (`data_batch_1.bin`, `test_batch.bin`, ...) into NHWC uint8
 * images and labels, reordering each record's CHW planes to HWC. Works in browsers.
 */
export function parseCifar10Batch(
  bytes: Uint8Array,
  file: string,
): { images: Uint8Array; labels: Uint8Array } {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new DatasetFileError(
      file,
      `${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records (1 label byte + 3072 pixel bytes each)`,
    );
  }
  const n = bytes.length / CIFAR10_RECORD_BYTES;
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const rec = r * CIFAR10_RECORD_BYTES;
    labels[r] = bytes[rec];
    const red = rec + 1;
    const out = r * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + 3 * p] = bytes[red + p];
      images[out + 3 * p + 1] = bytes[red + 1024 + p];
      images[out + 3 * p + 2] = bytes[red + 2048 + p];
    }
  }
  checkLabels(labels, file);
  return { images, labels };
}

/** Class names from the text of `batches.meta.txt`: one per non-empty line. */
export function parseCifar10Meta(text: string, file: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length !== 10) {
    throw new DatasetFileError(file, `lists ${names.length} class names, expected 10`);
  }
  return names;
}
