/**
 * ReLU's gradient dy · step(x) as one kernel where the backend has it (wasm: one pass in
 * resnet-ts's own threaded kernel, relu-grad-wasm.ts), else tfjs-core's own formula,
 * Step + Cast + Multiply: the same values either way, NaN included.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel's name in tfjs's registry. */
export const RELU_GRAD = 'ResnetTsReluGrad';

/** dy · step(x): the gradient of relu(x) for the output gradient `dy`. */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (tf.getKernel(RELU_GRAD, tf.getBackend()) != null) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }, {}) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}

/**
 * Relu's gradient, replacing tfjs-core's (which runs the three kernels everywhere); as
 * tfjs's, it saves x.
 */
export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => reluGrad(dy as tf.Tensor, x) };
  },
};

/**
 * The kernel's own gradient, so that a gradient of a gradient works as with tfjs's formula:
 * step(x) passes the incoming gradient to dy, and nothing reaches x (step's gradient is 0).
 */
export const reluGradGradConfig: tf.GradConfig = {
  kernelName: RELU_GRAD,
  inputsToSave: ['x'],
  gradFunc: (g, saved) => {
    const [x] = saved;
    return { dy: () => reluGrad(g as tf.Tensor, x), x: () => tf.zerosLike(x) };
  },
};
