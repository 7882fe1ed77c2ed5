import { batchMoments, batchNormGrad, formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link batchNorm}, as `torch.nn.functional.batch_norm`'s. */
export interface BatchNormOptions {
  /** Normalise with the batch's statistics and update the running ones; default false. */
  training?: boolean;
  /** Weight of the new batch in the running averages; a scalar tensor is accepted too. */
  momentum?: number | tf.Scalar;
  /** Added to the variance for numerical stability; default 1e-5. */
  eps?: number;
}

type Four = [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];

function blend(running: tf.Variable, batch: tf.Tensor, factor: number | tf.Scalar): void {
  tf.tidy(() => {
    const keep = typeof factor === 'number' ? 1 - factor : tf.sub(1, factor);
    running.assign(tf.add(tf.mul(running, keep), tf.mul(batch, factor)));
  });
}

/**
 * Batch normalisation over the last (channel) axis, as `torch.nn.functional.batch_norm`.
 * In training it normalises with the batch mean and biased variance and, when running
 * statistics are given, updates them in place with the unbiased variance (n/(n-1)), as
 * PyTorch does; gradients flow through the batch statistics. Otherwise it uses the running
 * statistics. `label` names the caller in errors.
 */
export function batchNorm(
  x: tf.Tensor,
  runningMean: tf.Variable | null,
  runningVar: tf.Variable | null,
  weight?: tf.Tensor | null,
  bias?: tf.Tensor | null,
  { training = false, momentum = 0.1, eps = 1e-5 }: BatchNormOptions = {},
  label = 'batchNorm',
): tf.Tensor {
  if (x.rank < 2) {
    throw new ValueError(
      `${label}: expected an input of rank >= 2 with channels last, got shape ${formatValue(x.shape)}`,
    );
  }
  const c = x.shape[x.rank - 1];
  for (const [name, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== c)) {
      throw new ValueError(
        `${label}: ${name} must have shape [${c}] to match the input's channels, got ${formatValue(t.shape)} (input shape ${formatValue(x.shape)})`,
      );
    }
  }
  if (!training && (!runningMean || !runningVar)) {
    throw new ValueError(`${label}: running statistics are required when not training`);
  }
  const n = x.size / c;
  if (training && n <= 1) {
    throw new ValueError(
      `${label}: expected more than 1 value per channel when training, got input shape ${formatValue(x.shape)}`,
    );
  }
  // tfjs's FusedBatchNorm kernels are written for 4-D inputs; fold other ranks into one.
  const x4 = (x.rank === 4 ? x : tf.reshape(x, [-1, 1, 1, c])) as tf.Tensor4D;
  const y = tf.tidy(() => {
    const scale = weight ?? tf.ones([c]);
    const offset = bias ?? tf.zeros([c]);
    if (!training) {
      return tf.batchNorm(x4, runningMean!, runningVar!, offset, scale, eps);
    }
    // The batch statistics are computed inside the op, so the tape holds one node whose
    // gradient is the fused backward pass instead of tfjs's many-kernel FusedBatchNorm one.
    const normalise = tf.customGrad((...args) => {
      const [input, gamma, beta, save] = args as [
        tf.Tensor4D,
        tf.Tensor,
        tf.Tensor,
        tf.GradSaveFunc,
      ];
      const { mean, variance } = batchMoments(input);
      if (runningMean && runningVar) {
        blend(runningMean, mean, momentum);
        blend(runningVar, tf.mul(variance, n / (n - 1)), momentum);
      }
      const invStd = tf.rsqrt(tf.add(variance, eps));
      save([input, mean, invStd, gamma]);
      return {
        value: tf.batchNorm(input, mean, variance, beta, gamma, eps),
        gradFunc: (dy, saved) => batchNormGrad(dy as tf.Tensor, ...(saved as Four)),
      };
    });
    return normalise(x4, scale, offset);
  });
  if (x.rank === 4) return y;
  const out = tf.reshape(y, x.shape);
  y.dispose();
  return out;
}
