import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Merges axes `startDim..endDim` into one, as `torch.flatten`. On an NHWC batch the merged
 * features come in (h, w, c) order, not PyTorch's (c, h, w): a Linear layer after it needs
 * its weight rows permuted when weights move between the two (see `nchwFlattenOrder`).
 */
export function flatten(x: tf.Tensor, startDim = 1, endDim = -1): tf.Tensor {
  const r = Math.max(x.rank, 1);
  const s = startDim < 0 ? startDim + r : startDim;
  const e = endDim < 0 ? endDim + r : endDim;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e >= r || s > e) {
    throw new ValueError(
      `flatten: startDim=${startDim} and endDim=${endDim} do not select axes of an input of shape ${formatValue(x.shape)}`,
    );
  }
  if (x.rank === 0) return tf.reshape(x, [1]);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return tf.reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}
