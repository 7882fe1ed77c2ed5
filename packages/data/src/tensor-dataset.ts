import { formatValue, ValueError } from '@resnet-ts/core';
import { gather, type Tensor, tidy } from '@tensorflow/tfjs-core';
import { checkIndex, type Dataset } from './dataset.js';

/**
 * Rows of tensors that share their first dimension, like `torch.utils.data.TensorDataset`:
 * `get(i)` returns `[t0[i], t1[i], ...]`. The dataset borrows the tensors (dispose them
 * yourself when done with the dataset); each returned row is a new tensor owned by the
 * caller. {@link defaultCollate} stacks rows into `[B, ...]` tensors and frees them.
 */
export class TensorDataset implements Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new ValueError('TensorDataset needs at least one tensor');
    const n = tensors[0].shape[0];
    for (const t of tensors) {
      if (t.rank === 0 || t.shape[0] !== n) {
        throw new ValueError(
          `TensorDataset tensors must share their first dimension: got shapes ${formatValue(tensors.map((x) => x.shape))}`,
        );
      }
    }
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(index: number): Tensor[] {
    checkIndex(index, this.length, 'TensorDataset');
    return this.tensors.map((t) => tidy(() => gather(t, index)));
  }
}
