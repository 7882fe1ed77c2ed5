/**
 * relu(maxPool(x)) as one kernel where the backend has it (wasm: the 2x2, stride-2 pool and
 * its ReLU in one pass of resnet-ts's own threaded kernel, max-pool-wasm.ts, and the
 * gradient's ReLU mask in MaxPoolGrad's pass), else tfjs's MaxPool and Relu: the same
 * values and gradients either way, NaN included. One kernel instead of two each way takes
 * two passes over the pooled map and two meetings of the threads out of a training step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatValue, ValueError } from '../errors.js';

/** The kernels' names in tfjs's registry. */
export const MAX_POOL_RELU = 'ResnetTsMaxPoolRelu';
export const MAX_POOL_RELU_GRAD = 'ResnetTsMaxPoolReluGrad';

/**
 * relu(maxPool(x)) of an NHWC batch: `filterSize` windows every `strides`, with tfjs's
 * 'valid' or 'same' padding (`tf.maxPool`'s arguments). ReLU is monotone, so this equals
 * maxPool(relu(x)), PyTorch's `max_pool2d(relu(x))`, on a quarter of the elements for 2x2
 * windows, and so do the gradients (a window whose maximum is not positive passes none back
 * either way).
 */
export function maxPoolRelu(
  x: tf.Tensor4D,
  filterSize: number | [number, number],
  strides: number | [number, number],
  pad: 'valid' | 'same' = 'valid',
): tf.Tensor4D {
  if (x.rank !== 4 || x.dtype !== 'float32') {
    throw new ValueError(
      `maxPoolRelu: x must be a float32 NHWC batch of rank 4, got ${x.dtype} of shape ${formatValue(x.shape)}`,
    );
  }
  const [fh, fw] = positivePair('filterSize', filterSize);
  positivePair('strides', strides);
  if (pad === 'valid' && (fh > x.shape[1] || fw > x.shape[2])) {
    throw new ValueError(
      `maxPoolRelu: a ${fh}x${fw} window does not fit the ${x.shape[1]}x${x.shape[2]} input (shape ${formatValue(x.shape)}) without padding`,
    );
  }
  if (tf.getKernel(MAX_POOL_RELU, tf.getBackend()) != null) {
    return tf.engine().runKernel(MAX_POOL_RELU, { x }, { filterSize, strides, pad }) as tf.Tensor4D;
  }
  return tf.tidy(() => tf.relu(tf.maxPool(x, filterSize, strides, pad)));
}

/** `value` as [height, width], each an integer >= 1, or a ValueError naming `name`. */
function positivePair(name: string, value: number | [number, number]): [number, number] {
  const pair: [number, number] = typeof value === 'number' ? [value, value] : value;
  if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ValueError(
      `maxPoolRelu: ${name} must be an integer >= 1 or a pair of them, got ${formatValue(value)}`,
    );
  }
  return pair;
}

/** The fused kernel's gradient: MaxPoolGrad of dy · step(y), as one kernel. */
export const maxPoolReluGradConfig: tf.GradConfig = {
  kernelName: MAX_POOL_RELU,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, y] = saved;
    return {
      x: () =>
        tf
          .engine()
          .runKernel(MAX_POOL_RELU_GRAD, { dy: dy as tf.Tensor, x, y }, attrs) as tf.Tensor,
    };
  },
};
