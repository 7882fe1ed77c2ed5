import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** How per-element losses are combined, as PyTorch's `reduction` argument. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of {@link nllLoss}, as `torch.nn.functional.nll_loss`. */
export interface NllLossOptions {
  /** A rescaling weight per class, shape `[C]`. */
  weight?: tf.Tensor1D;
  /** Targets equal to this class index contribute nothing (default -100). */
  ignoreIndex?: number;
  /** Default 'mean': the weighted mean over non-ignored targets. */
  reduction?: Reduction;
}

/** Options of {@link crossEntropy}, as `torch.nn.functional.cross_entropy`. */
export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: `(1 - ε)·target + ε/C` (default 0). */
  labelSmoothing?: number;
}

/** Options of {@link bceWithLogits}, as `binary_cross_entropy_with_logits`. */
export interface BceWithLogitsOptions {
  /** A weight per element, broadcast against the input. */
  weight?: tf.Tensor;
  /** A weight for positive examples per class (the last axis), broadcast against the input. */
  posWeight?: tf.Tensor;
  /** Default 'mean'. */
  reduction?: Reduction;
}

function reduce(loss: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'mean') return tf.mean(loss);
  if (reduction === 'sum') return tf.sum(loss);
  if (reduction === 'none') return loss;
  throw new ValueError(`reduction must be 'mean', 'sum' or 'none', got ${formatValue(reduction)}`);
}

function checkWeight(weight: tf.Tensor | undefined, classes: number): void {
  if (weight && (weight.rank !== 1 || weight.shape[0] !== classes)) {
    throw new ValueError(
      `weight must have shape [${classes}] (one per class), got ${formatValue(weight.shape)}`,
    );
  }
}

/**
 * Splits class-index targets into a one-hot matrix and the per-row weight of each target
 * (the class weight, or 1; 0 for ignored rows), both flattened to the rows of `logProbs2d`.
 */
function classTargets(
  target: tf.Tensor,
  classes: number,
  weight: tf.Tensor1D | undefined,
  ignoreIndex: number,
): { oneHot: tf.Tensor2D; rowWeight: tf.Tensor1D } {
  const flat = tf.reshape(target, [-1]) as tf.Tensor1D;
  // Indices outside [0, C) give all-zero rows in oneHot, so an ignored target (usually -100)
  // drops out of every sum without a gather.
  let oneHot = tf.oneHot(flat, classes) as tf.Tensor2D;
  if (ignoreIndex >= 0 && ignoreIndex < classes) {
    oneHot = tf.mul(oneHot, tf.expandDims(tf.cast(tf.notEqual(flat, ignoreIndex), 'float32'), 1));
  }
  const rowWeight = (weight ? tf.sum(tf.mul(oneHot, weight), 1) : tf.sum(oneHot, 1)) as tf.Tensor1D;
  return { oneHot, rowWeight };
}

function checkClassShapes(input: tf.Tensor, target: tf.Tensor, fn: string): number {
  if (input.rank < 2) {
    throw new ValueError(
      `${fn}: input must be [N, C] or [N, ..., C], got ${formatValue(input.shape)}`,
    );
  }
  const lead = input.shape.slice(0, -1);
  if (target.rank !== lead.length || target.shape.some((d, i) => d !== lead[i])) {
    throw new ValueError(
      `${fn}: class-index target must have shape ${formatValue(lead)} for input ${formatValue(input.shape)}, got ${formatValue(target.shape)}`,
    );
  }
  return input.shape[input.rank - 1];
}

/**
 * The negative log-likelihood loss, as `torch.nn.functional.nll_loss`, for log-probabilities
 * `[N, C]` (or `[N, ..., C]`: classes on the LAST axis, the channels-last counterpart of
 * PyTorch's `[N, C, ...]`) and int32 class indices `[N]` (`[N, ...]`). With `reduction:
 * 'mean'` the sum is divided by the total weight of the non-ignored targets, as PyTorch does.
 * Targets are not range-checked (that would force a device read): an index outside `[0, C)`
 * contributes nothing.
 */
export function nllLoss(
  logProbs: tf.Tensor,
  target: tf.Tensor,
  { weight, ignoreIndex = -100, reduction = 'mean' }: NllLossOptions = {},
): tf.Tensor {
  const classes = checkClassShapes(logProbs, target, 'nllLoss');
  checkWeight(weight, classes);
  return tf.tidy(() => {
    const lp = tf.reshape(logProbs, [-1, classes]);
    const { oneHot, rowWeight } = classTargets(target, classes, weight, ignoreIndex);
    const picked = tf.sum(tf.mul(lp, oneHot), 1);
    const rowLoss = tf.neg(weight ? tf.mul(picked, rowWeight) : picked);
    if (reduction === 'mean') return tf.div(tf.sum(rowLoss), tf.sum(rowWeight));
    if (reduction === 'none') return tf.reshape(rowLoss, target.shape);
    return reduce(rowLoss, reduction);
  });
}

/**
 * Cross entropy between logits and targets, as `torch.nn.functional.cross_entropy` in
 * PyTorch 1.13 (and 2.x, which agrees). Classes are on the last axis of `logits`. `target` is
 * either int32 class indices (shape of `logits` without the last axis) or float class
 * probabilities (the shape of `logits`).
 *
 * With class indices, `weight`, `ignoreIndex` and `labelSmoothing` follow PyTorch exactly:
 * the loss is `(1 - ε)·nll + (ε/C)·smooth`, where `smooth` is `-Σ_c w_c·log p_c` per row,
 * and 'mean' divides both by the summed weight of the non-ignored targets (by their count
 * without `weight`). With probabilities, 'mean' divides by the number of rows and
 * `ignoreIndex` is not allowed.
 *
 * @example
 * const loss = crossEntropy(model.forward(x) as tf.Tensor2D, labels, { labelSmoothing: 0.1 });
 */
export function crossEntropy(
  logits: tf.Tensor,
  target: tf.Tensor,
  { weight, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 }: CrossEntropyOptions = {},
): tf.Tensor {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ValueError(`labelSmoothing must be in [0, 1], got ${formatValue(labelSmoothing)}`);
  }
  if (target.dtype !== 'int32') {
    if (target.rank !== logits.rank || target.shape.some((d, i) => d !== logits.shape[i])) {
      throw new ValueError(
        `crossEntropy: a float target holds class probabilities and must have the logits' shape ${formatValue(logits.shape)}, got ${formatValue(target.shape)} (class indices must be int32)`,
      );
    }
    return probabilityCrossEntropy(logits, target, weight, reduction, labelSmoothing);
  }
  const classes = checkClassShapes(logits, target, 'crossEntropy');
  checkWeight(weight, classes);
  return tf.tidy(() => {
    const lp = tf.logSoftmax(tf.reshape(logits, [-1, classes]));
    const { oneHot, rowWeight } = classTargets(target, classes, weight, ignoreIndex);
    // One weighted sum covers both terms: each row's target distribution is
    // (1 - ε)·onehot + ε/C on non-ignored rows.
    let dist: tf.Tensor = oneHot;
    if (labelSmoothing > 0) {
      const keep = tf.sum(oneHot, 1, true);
      dist = tf.add(tf.mul(oneHot, 1 - labelSmoothing), tf.mul(keep, labelSmoothing / classes));
    }
    const weighted = weight ? tf.mul(lp, weight) : lp;
    const rowLoss = tf.neg(tf.sum(tf.mul(weighted, dist), 1));
    if (reduction === 'mean') return tf.div(tf.sum(rowLoss), tf.sum(rowWeight));
    if (reduction === 'none') return tf.reshape(rowLoss, target.shape);
    return reduce(rowLoss, reduction);
  });
}

function probabilityCrossEntropy(
  logits: tf.Tensor,
  target: tf.Tensor,
  weight: tf.Tensor1D | undefined,
  reduction: Reduction,
  labelSmoothing: number,
): tf.Tensor {
  const classes = logits.shape[logits.rank - 1];
  checkWeight(weight, classes);
  return tf.tidy(() => {
    const lp = tf.logSoftmax(logits);
    const t =
      labelSmoothing > 0
        ? tf.add(tf.mul(target, 1 - labelSmoothing), labelSmoothing / classes)
        : target;
    const weighted = weight ? tf.mul(lp, weight) : lp;
    const rowLoss = tf.neg(tf.sum(tf.mul(weighted, t), -1));
    return reduce(rowLoss, reduction);
  });
}

/** The mean squared error, as `torch.nn.functional.mse_loss` (default 'mean'). */
export function mseLoss(
  input: tf.Tensor,
  target: tf.Tensor,
  { reduction = 'mean' }: { reduction?: Reduction } = {},
): tf.Tensor {
  return tf.tidy(() => reduce(tf.squaredDifference(input, target), reduction));
}

/**
 * Binary cross entropy on logits, as `torch.nn.functional.binary_cross_entropy_with_logits`,
 * in its numerically stable form `(1 - y)·x + (1 + (p - 1)·y)·(log(1 + e^-|x|) + max(-x, 0))`
 * where `p` is `posWeight`.
 */
export function bceWithLogits(
  logits: tf.Tensor,
  target: tf.Tensor,
  { weight, posWeight, reduction = 'mean' }: BceWithLogitsOptions = {},
): tf.Tensor {
  if (target.rank !== logits.rank || target.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ValueError(
      `bceWithLogits: target must have the logits' shape ${formatValue(logits.shape)}, got ${formatValue(target.shape)}`,
    );
  }
  return tf.tidy(() => {
    const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(logits)))), tf.relu(tf.neg(logits)));
    const logWeight = posWeight ? tf.add(tf.mul(tf.sub(posWeight, 1), target), 1) : undefined;
    let loss = tf.add(
      tf.mul(tf.sub(1, target), logits),
      logWeight ? tf.mul(logWeight, softplusNeg) : softplusNeg,
    );
    if (weight) loss = tf.mul(loss, weight);
    return reduce(loss, reduction);
  });
}
