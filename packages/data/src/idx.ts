import { DatasetFileError } from './errors.js';

/** An IDX array (the MNIST file format): its dimensions and uint8 values. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** The largest IDX array this package reads (the MNIST training images are 47 MB). */
export const MAX_IDX_BYTES = 2 ** 31 - 1;

/**
 * The total byte length an IDX file of unsigned bytes promises in its header, or undefined
 * while `head` is too short to tell. Checks the magic number and dimension count as soon as
 * their bytes are there, so a wrong file is refused before the rest of it is read or
 * decompressed. `file` names the file in errors.
 */
export function idxByteLength(
  head: Uint8Array,
  file: string,
  expectedDims: number,
): number | undefined {
  if (head.length < 4) return undefined;
  if (head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08) {
    const magic = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DatasetFileError(
      file,
      `wrong IDX magic number ${magic}, expected 00 00 08 0${expectedDims} (unsigned bytes, ${expectedDims} dimension${expectedDims === 1 ? '' : 's'})`,
    );
  }
  const ndims = head[3];
  if (ndims !== expectedDims) {
    throw new DatasetFileError(
      file,
      `IDX file has ${ndims} dimension(s), expected ${expectedDims} (${expectedDims === 1 ? 'a labels file' : 'an images file'})`,
    );
  }
  const header = 4 + 4 * ndims;
  if (head.length < header) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const total = header + dims.reduce((a, b) => a * b, 1);
  if (total > MAX_IDX_BYTES) {
    throw new DatasetFileError(
      file,
      `IDX header promises an array of shape [${dims.join(',')}] (${total} bytes), more than the ${MAX_IDX_BYTES}-byte limit`,
    );
  }
  return total;
}

/**
 * Reads an IDX file of unsigned bytes (`00 00 08 <ndims>`, big-endian uint32 sizes, then
 * the values), checking the magic number, the dimension count (`expectedDims`) and that the
 * size matches. `file` names the file in errors. Works in browsers; `data` is a view.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  if (bytes.length === 0) {
    throw new DatasetFileError(
      file,
      `empty file, expected an IDX array (magic number 00 00 08 0${expectedDims})`,
    );
  }
  const expected = idxByteLength(bytes, file, expectedDims);
  const header = 4 + 4 * expectedDims;
  if (expected === undefined) {
    throw new DatasetFileError(
      file,
      `${bytes.length} bytes is shorter than the ${header}-byte IDX header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: expectedDims }, (_, i) => view.getUint32(4 + 4 * i, false));
  if (bytes.length !== expected) {
    throw new DatasetFileError(
      file,
      `${bytes.length} bytes, expected ${expected} for an IDX array of shape [${dims.join(',')}] (truncated or corrupt)`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}

/** Throws unless every label is a class index below `classes`, naming the first offender. */
export function checkLabels(labels: Uint8Array, file: string, classes = 10): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) {
      throw new DatasetFileError(
        file,
        `label ${labels[i]} at index ${i} is outside 0-${classes - 1}`,
      );
    }
  }
}
