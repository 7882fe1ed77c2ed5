// The benchmark models written directly on tfjs-core ops: the baseline that measures the
// library's overhead, and a model the benchmark can run before higher layers exist.
import { batchMoments, batchNormGrad, conv2dBias, maxPoolRelu } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** @returns {tf.Variable<any>} a variable of any rank, so 4-D filters and 2-D weights both type-check */
function uniform(shape, bound) {
  return tf.variable(tf.randomUniform(shape, -bound, bound));
}

/**
 * Conv parameters with PyTorch's default init bounds (1/sqrt(fan_in)).
 * @returns {{ w: tf.Variable<tf.Rank.R4>, b: tf.Variable<tf.Rank.R1> }}
 */
function conv(kh, ci, co) {
  const b = 1 / Math.sqrt(kh * kh * ci);
  return { w: uniform([kh, kh, ci, co], b), b: uniform([co], b) };
}
function linear(i, o) {
  const b = 1 / Math.sqrt(i);
  return { w: uniform([i, o], b), b: uniform([o], b) };
}

/** SGD with momentum and PyTorch's update rule, over a flat list of variables. */
export function sgd(vars, lr = 0.01, momentum = 0.9) {
  const bufs = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  return (grads) => {
    tf.tidy(() => {
      vars.forEach((v, i) => {
        const g = grads[v.name];
        const buf = bufs[i];
        buf.assign(buf.mul(momentum).add(g));
        v.assign(v.sub(buf.mul(lr)));
      });
    });
  };
}

function withStep(forward, vars) {
  const update = sgd(vars);
  return {
    vars,
    forward,
    step(x, yOneHot) {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(yOneHot, forward(x)),
        vars,
      );
      update(grads);
      const loss = value.dataSync()[0];
      tf.dispose([value, grads]);
      return loss;
    },
  };
}

/**
 * @param {tf.Tensor4D} x
 * @param {{ w: tf.Tensor4D, b: tf.Tensor }} p
 * @param {'same' | 'valid'} pad
 * @returns {tf.Tensor4D}
 */
/**
 * A convolution with a bias as the library's layers run it: one FusedConv2D whose gradient
 * is taken per input (so the step is the same kernels, and the comparison measures the
 * library's own overhead).
 * @param {tf.Tensor4D} x
 * @param {{ w: tf.Tensor4D, b: tf.Tensor1D }} p
 * @param {'same' | 'valid'} pad
 */
const conv2d = (x, p, stride = 1, pad = 'same') => conv2dBias(x, p.w, p.b, stride, pad);
const dense = (x, p) => tf.add(tf.matMul(x, p.w), p.b);

/** The seed article's VanResNet: conv-pool, conv-pool, conv + skip-pool, fc, fc. */
export function vanResNetCore({ inChannels = 3, inputSize = 32, classes = 10 } = {}) {
  const side = Math.floor(inputSize / 8);
  const p = {
    conv1: conv(3, inChannels, 32),
    conv2: conv(3, 32, 64),
    conv3: conv(3, 64, 64),
    fc1: linear(side * side * 64, 32),
    fc2: linear(32, classes),
  };
  const vars = Object.values(p).flatMap((l) => [l.w, l.b]);
  /** @param {tf.Tensor4D} x */
  const forward = (x) =>
    tf.tidy(() => {
      /** @type {tf.Tensor4D} */
      // ReLU after each pooling, in the pooling's kernel, as models' VanResNet computes it
      // (the same values as relu(maxPool)).
      let h = maxPoolRelu(conv2d(x, p.conv1), 2, 2);
      h = maxPoolRelu(conv2d(h, p.conv2), 2, 2);
      const skip = /** @type {tf.Tensor4D} */ (tf.add(conv2d(h, p.conv3), h));
      h = maxPoolRelu(skip, 2, 2);
      const flat = tf.reshape(h, [h.shape[0], -1]);
      return dense(tf.relu(dense(flat, p.fc1)), p.fc2);
    });
  return withStep(forward, vars);
}

function batchNorm(c) {
  return {
    gamma: tf.variable(tf.ones([c])),
    beta: tf.variable(tf.zeros([c])),
    runningMean: tf.variable(tf.zeros([c]), false),
    runningVar: tf.variable(tf.ones([c]), false),
  };
}

/**
 * Training-mode batch norm over N, H, W with the same work as the library's: batch
 * statistics, running statistics updated as PyTorch does, and the fused backward pass
 * (`batchNormGrad`), so the overhead comparison is between equal steps.
 * @param {tf.Tensor4D} x
 * @returns {tf.Tensor4D}
 */
function bn(x, p) {
  const n = x.size / x.shape[3];
  const f = tf.customGrad((...args) => {
    // customGrad types every argument as a tensor or the save function; these are which.
    const [input, gamma, beta, save] =
      /** @type {[tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc]} */ (args);
    const { mean, variance } = batchMoments(input);
    tf.tidy(() => {
      p.runningMean.assign(tf.add(tf.mul(p.runningMean, 0.9), tf.mul(mean, 0.1)));
      p.runningVar.assign(
        tf.add(tf.mul(p.runningVar, 0.9), tf.mul(tf.mul(variance, n / (n - 1)), 0.1)),
      );
    });
    const invStd = tf.rsqrt(tf.add(variance, 1e-5));
    save([input, mean, invStd, gamma]);
    return {
      value: tf.batchNorm(input, mean, variance, beta, gamma, 1e-5),
      gradFunc: (dy, [i, m, s, g]) => batchNormGrad(dy, i, m, s, g),
    };
  });
  return /** @type {tf.Tensor4D} */ (f(x, p.gamma, p.beta));
}

/** ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), bias-free convs + batch norm. */
export function resNet18Core({ inChannels = 3, classes = 10 } = {}) {
  const noBias = (k, ci, co) => ({ w: conv(k, ci, co).w });
  const layers = [];
  const stem = { c: noBias(3, inChannels, 64), bn: batchNorm(64) };
  let ci = 64;
  for (const [co, stride] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ]) {
    for (let i = 0; i < 2; i++) {
      const s = i === 0 ? stride : 1;
      const block = {
        stride: s,
        c1: noBias(3, ci, co),
        bn1: batchNorm(co),
        c2: noBias(3, co, co),
        bn2: batchNorm(co),
      };
      if (s !== 1 || ci !== co) {
        block.down = noBias(1, ci, co);
        block.bnd = batchNorm(co);
      }
      layers.push(block);
      ci = co;
    }
  }
  const fc = linear(512, classes);
  const vars = [];
  const collect = (o) => {
    for (const v of Object.values(o)) {
      if (v instanceof tf.Variable) {
        if (v.trainable) vars.push(v);
      } else if (v && typeof v === 'object') collect(v);
    }
  };
  collect({ stem, layers, fc });
  /** @param {tf.Tensor4D} x */
  const forward = (x) =>
    tf.tidy(() => {
      let h = tf.relu(bn(tf.conv2d(x, stem.c.w, 1, 'same'), stem.bn));
      for (const b of layers) {
        let out = tf.relu(bn(tf.conv2d(h, b.c1.w, b.stride, 'same'), b.bn1));
        out = bn(tf.conv2d(out, b.c2.w, 1, 'same'), b.bn2);
        const id = b.down ? bn(tf.conv2d(h, b.down.w, b.stride, 'same'), b.bnd) : h;
        h = tf.relu(/** @type {tf.Tensor4D} */ (tf.add(out, id)));
      }
      return dense(tf.mean(h, [1, 2]), fc);
    });
  return withStep(forward, vars);
}
