import type { DataType } from '@tensorflow/tfjs-core';
import { formatValue, ValueError } from './errors.js';

/** The element types of the safetensors format that resnet-ts reads and writes. */
export type SafetensorsDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'BOOL';

const BYTE_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Every {@link SafetensorsDtype}, in the order error messages list them. */
export const SAFETENSORS_DTYPES = Object.keys(BYTE_SIZE) as readonly SafetensorsDtype[];

/** Whether `value` names a {@link SafetensorsDtype}. */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(BYTE_SIZE, value);
}

/** Bytes per element of a safetensors dtype. */
export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return BYTE_SIZE[dtype];
}

/**
 * The tfjs dtype a safetensors dtype is read as: every float width as float32, every
 * integer width and U8 as int32 (I64 under the {@link isInt64Buffer} policy), BOOL as bool.
 */
export function tfjsDtypeOf(dtype: SafetensorsDtype): 'float32' | 'int32' | 'bool' {
  if (!isSafetensorsDtype(dtype)) {
    throw new ValueError(
      `unsupported safetensors dtype ${formatValue(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`,
    );
  }
  if (dtype === 'BOOL') return 'bool';
  return dtype.startsWith('F') || dtype === 'BF16' ? 'float32' : 'int32';
}

/**
 * The one int64 policy. tfjs has no int64: an I64 tensor is read as int32 and refused when
 * a value lies outside int32's range; an int32 tensor is written as I64 exactly when it is
 * one of the integer buffers PyTorch keeps in int64 (`num_batches_tracked`), so PyTorch
 * loads back the dtype it saved. Every other int32 tensor is written as I32.
 */
export function isInt64Buffer(name: string): boolean {
  return name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked');
}

/**
 * The safetensors dtype a tfjs tensor is written as: float32 → F32, bool → BOOL, int32 →
 * I32, or I64 when `name` is an int64 buffer ({@link isInt64Buffer}) or `int64` is set.
 * Other tfjs dtypes (complex64, string) have no safetensors form and throw.
 */
export function safetensorsDtypeOf(
  tfDtype: DataType,
  { name = '', int64 = isInt64Buffer(name) }: { name?: string; int64?: boolean } = {},
): SafetensorsDtype {
  const where = name ? `tensor ${formatValue(name)}: ` : '';
  if (int64 && tfDtype !== 'int32') {
    throw new ValueError(
      `${where}only int32 tensors can be written as I64, this one is ${tfDtype}`,
    );
  }
  if (tfDtype === 'float32') return 'F32';
  if (tfDtype === 'int32') return int64 ? 'I64' : 'I32';
  if (tfDtype === 'bool') return 'BOOL';
  throw new ValueError(
    `${where}cannot write tfjs dtype ${formatValue(tfDtype).replace(/^"|"$/g, '')}; expected float32, int32 or bool`,
  );
}
