import { describe, type RawTensor, ValueError } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';

/** True for BatchNorm's counters, which PyTorch keeps as int64 and expects back that way. */
function isTorchInt64(name: string): boolean {
  return name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked');
}

/**
 * Reads tfjs tensors into plain data for `encodeSafetensors`/`saveSafetensors` with the
 * asynchronous `data()`: GPU backends in Node (webgpu) cannot read synchronously, which
 * encoding tfjs tensors directly would do. int32 `num_batches_tracked` counters become I64.
 *
 * @example
 * await saveSafetensors('model.safetensors', await readTensors(model.stateDict()));
 */
export async function readTensors(
  tensors: Record<string, tf.Tensor>,
): Promise<Record<string, RawTensor>> {
  const entries = Object.entries(tensors).map(([name, t]) => {
    let dtype: RawTensor['dtype'];
    if (t.dtype === 'float32') dtype = 'F32';
    else if (t.dtype === 'int32') dtype = isTorchInt64(name) ? 'I64' : 'I32';
    else if (t.dtype === 'bool') dtype = 'BOOL';
    else {
      throw new ValueError(
        `tensor ${describe(name)}: cannot write tfjs dtype ${t.dtype}; expected float32, int32 or bool`,
      );
    }
    return { name, dtype, shape: t.shape };
  });
  // Starting every read before awaiting any lets a GPU backend overlap the downloads.
  const data = await Promise.all(Object.values(tensors).map((t) => t.data()));
  return Object.fromEntries(
    entries.map(({ name, dtype, shape }, i) => [
      name,
      { dtype, shape, data: data[i] as ArrayLike<number> },
    ]),
  );
}
