import * as tf from '@tensorflow/tfjs-core';

/** max(x, 0), as `torch.nn.functional.relu`. */
export function relu(x: tf.Tensor): tf.Tensor {
  return tf.relu(x);
}

/** x for x >= 0, `negativeSlope`·x otherwise, as `torch.nn.functional.leaky_relu`. */
export function leakyRelu(x: tf.Tensor, negativeSlope = 0.01): tf.Tensor {
  return tf.leakyRelu(x, negativeSlope);
}
