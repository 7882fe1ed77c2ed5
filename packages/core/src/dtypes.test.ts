import { describe, expect, it } from 'vitest';
import {
  dtypeByteSize,
  isInt64Buffer,
  SAFETENSORS_DTYPES,
  safetensorsDtypeOf,
  tfjsDtypeOf,
  ValueError,
} from './index.js';

describe('the one dtype mapping', () => {
  it('reads every float width as float32, every integer width as int32, BOOL as bool', () => {
    const read = Object.fromEntries(SAFETENSORS_DTYPES.map((d) => [d, tfjsDtypeOf(d)]));
    expect(read).toEqual({
      F64: 'float32',
      F32: 'float32',
      F16: 'float32',
      BF16: 'float32',
      I64: 'int32',
      I32: 'int32',
      I16: 'int32',
      I8: 'int32',
      U8: 'int32',
      BOOL: 'bool',
    });
    expect(() => tfjsDtypeOf('F8_E4M3' as never)).toThrow(ValueError);
  });

  it('knows each byte size', () => {
    expect(SAFETENSORS_DTYPES.map(dtypeByteSize)).toEqual([8, 4, 2, 2, 8, 4, 2, 1, 1, 1]);
  });

  it('writes int32 as I64 only for the buffers PyTorch keeps in int64', () => {
    expect(isInt64Buffer('bn1.num_batches_tracked')).toBe(true);
    expect(isInt64Buffer('num_batches_tracked')).toBe(true);
    expect(isInt64Buffer('labels')).toBe(false);
    expect(safetensorsDtypeOf('int32', { name: 'layer1.0.bn1.num_batches_tracked' })).toBe('I64');
    expect(safetensorsDtypeOf('int32', { name: 'step' })).toBe('I32');
    expect(safetensorsDtypeOf('int32')).toBe('I32');
    expect(safetensorsDtypeOf('int32', { int64: true })).toBe('I64');
    expect(safetensorsDtypeOf('float32', { name: 'fc.weight' })).toBe('F32');
    expect(safetensorsDtypeOf('bool')).toBe('BOOL');
  });

  it('refuses what safetensors cannot hold', () => {
    expect(() => safetensorsDtypeOf('complex64', { name: 'c' })).toThrow(
      'tensor "c": cannot write tfjs dtype complex64',
    );
    expect(() => safetensorsDtypeOf('float32', { int64: true })).toThrow(
      'only int32 tensors can be written as I64',
    );
  });
});
