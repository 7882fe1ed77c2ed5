import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * `x · weight + bias` over the last axis, with `weight` stored `[in, out]` (PyTorch stores
 * `[out, in]`; see `ioToOi`). Inputs of any rank >= 1 keep their leading axes.
 */
export function linear(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias?: tf.Tensor | null,
  label = 'linear',
): tf.Tensor {
  if (weight.rank !== 2) {
    throw new ValueError(
      `${label}: weight must be [in, out], got shape ${formatValue(weight.shape)}`,
    );
  }
  const [inF, outF] = weight.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new ValueError(
      `${label}: expected input with ${inF} features, got ${x.rank ? x.shape[x.rank - 1] : 'a scalar'} (input shape ${formatValue(x.shape)})`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new ValueError(
      `${label}: bias must have shape [${outF}], got ${formatValue(bias.shape)}`,
    );
  }
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inF]);
    let y: tf.Tensor = tf.matMul(x2 as tf.Tensor2D, weight as tf.Tensor2D);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF]);
  });
}
