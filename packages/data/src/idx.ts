import { DatasetFileError } from './errors.js';

/** An IDX array (the MNIST file format): its dimensions and uint8 values. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads an IDX file of unsigned bytes (`00 00 08 <ndims>`, big-endian uint32 sizes, then
 * the values), checking the magic number, the dimension count (`expectedDims`) and that the
 * size matches. `file` names the file in errors. Works in browsers; `data` is a view.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(
      ' ',
    );
    throw new DatasetFileError(
      file,
      `wrong IDX magic number ${magic || '(empty file)'}, expected 00 00 08 0${expectedDims} (unsigned bytes, ${expectedDims} dimension${expectedDims === 1 ? '' : 's'})`,
    );
  }
  const ndims = bytes[3];
  if (ndims !== expectedDims) {
    throw new DatasetFileError(
      file,
      `IDX file has ${ndims} dimension(s), expected ${expectedDims} (${expectedDims === 1 ? 'a labels file' : 'an images file'})`,
    );
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) {
    throw new DatasetFileError(
      file,
      `${bytes.length} bytes is shorter than the ${header}-byte IDX header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = header + dims.reduce((a, b) => a * b, 1);
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
