import { describe, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

function checkPair(output: tf.Tensor, target: tf.Tensor, fn: string): void {
  if (output.rank !== 2 || target.rank !== 1 || output.shape[0] !== target.shape[0]) {
    throw new ValueError(
      `${fn}: expected scores [N, C] and int labels [N], got ${describe(output.shape)} and ${describe(target.shape)}`,
    );
  }
}

/**
 * The number of rows whose top-`k` scores include the label, as an int32 scalar on the
 * device (no read): the building block of the accuracy metrics and of `fit`'s counters.
 */
export function countCorrect(output: tf.Tensor, target: tf.Tensor, k = 1): tf.Scalar {
  checkPair(output, target, 'countCorrect');
  return tf.tidy(() => {
    const labels = tf.cast(target, 'int32');
    if (k === 1)
      return tf.sum(tf.cast(tf.equal(tf.argMax(output, 1), labels), 'int32')) as tf.Scalar;
    const { indices } = tf.topk(output, Math.min(k, output.shape[1] as number));
    const hit = tf.equal(indices, tf.expandDims(labels, 1));
    return tf.sum(tf.cast(hit, 'int32')) as tf.Scalar;
  });
}

/** The fraction of rows of `output` ([N, C] scores) whose arg-max equals `target` ([N] labels). */
export function accuracy(output: tf.Tensor, target: tf.Tensor): number {
  return topKAccuracy(output, target, 1);
}

/** The fraction of rows whose `k` highest scores include the label (top-5 accuracy for k = 5). */
export function topKAccuracy(output: tf.Tensor, target: tf.Tensor, k: number): number {
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new ValueError(`topKAccuracy: k must be a positive integer, got ${describe(k)}`);
  }
  const n = output.shape[0];
  if (n === 0) return 0;
  const c = countCorrect(output, target, k);
  const v = c.dataSync()[0];
  c.dispose();
  return v / n;
}

/**
 * The confusion matrix of predictions against labels: `m[label][predicted]` counts, as
 * torchmetrics' and scikit-learn's layout. `output` is either scores `[N, C]` (the arg-max
 * is taken) or int predictions `[N]`.
 */
export function confusionMatrix(
  output: tf.Tensor,
  target: tf.Tensor,
  numClasses: number,
): number[][] {
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) {
    throw new ValueError(
      `confusionMatrix: numClasses must be a positive integer, got ${describe(numClasses)}`,
    );
  }
  const predicted = output.rank === 2 ? tf.argMax(output, 1) : output;
  const p = predicted.dataSync();
  const t = target.dataSync();
  if (predicted !== output) predicted.dispose();
  if (p.length !== t.length) {
    throw new ValueError(`confusionMatrix: ${p.length} predictions for ${t.length} labels`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < t.length; i++) {
    const label = t[i];
    const pred = p[i];
    if (!(label >= 0 && label < numClasses && pred >= 0 && pred < numClasses)) {
      throw new ValueError(
        `confusionMatrix: class index out of range [0, ${numClasses}) at row ${i}: label ${label}, prediction ${pred}`,
      );
    }
    m[label][pred] += 1;
  }
  return m;
}

/** A mean updated one value (or one batch of `n` values) at a time, as a loss meter. */
export class RunningMean {
  private total = 0;
  private n = 0;

  /** Adds `value` with weight `count` (e.g. a batch mean and the batch size). */
  update(value: number, count = 1): void {
    this.total += value * count;
    this.n += count;
  }

  /** The mean so far (NaN before any update). */
  get value(): number {
    return this.n === 0 ? Number.NaN : this.total / this.n;
  }

  /** The total weight added. */
  get count(): number {
    return this.n;
  }

  /** Starts again. */
  reset(): void {
    this.total = 0;
    this.n = 0;
  }
}

/**
 * A metric accumulated over batches; `update` runs inside a `tf.tidy` and should keep its
 * running totals on the device (no reads) until `result`.
 */
export interface Metric<R = unknown> {
  update(output: tf.Tensor, target: tf.Tensor): void;
  result(): R;
  reset(): void;
}

/** A {@link Metric} counting top-k hits on the device; `result()` is the accuracy. */
export class TopKAccuracy implements Metric<number> {
  private hits: tf.Scalar | null = null;
  private n = 0;
  constructor(readonly k = 1) {}
  update(output: tf.Tensor, target: tf.Tensor): void {
    const c = countCorrect(output, target, this.k);
    const old = this.hits;
    this.hits = tf.keep(old ? (tf.add(old, c) as tf.Scalar) : c);
    if (old) old.dispose();
    this.n += output.shape[0];
  }
  result(): number {
    return this.hits && this.n ? this.hits.dataSync()[0] / this.n : Number.NaN;
  }
  reset(): void {
    this.hits?.dispose();
    this.hits = null;
    this.n = 0;
  }
}

/**
 * A {@link Metric} building the confusion matrix (`m[label][predicted]`) on the device, one
 * `[C, C]` matrix product per batch; `result()` reads it once.
 */
export class ConfusionMatrix implements Metric<number[][]> {
  private counts: tf.Tensor2D | null = null;
  constructor(readonly numClasses: number) {
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) {
      throw new ValueError(
        `ConfusionMatrix: numClasses must be a positive integer, got ${describe(numClasses)}`,
      );
    }
  }
  update(output: tf.Tensor, target: tf.Tensor): void {
    const c = this.numClasses;
    const predicted = output.rank === 2 ? tf.argMax(output, 1) : output;
    const batch = tf.matMul(
      tf.oneHot(tf.cast(target, 'int32') as tf.Tensor1D, c),
      tf.oneHot(tf.cast(predicted, 'int32') as tf.Tensor1D, c),
      true,
      false,
    );
    const old = this.counts;
    this.counts = tf.keep(old ? tf.add(old, batch) : batch) as tf.Tensor2D;
    if (old) old.dispose();
  }
  result(): number[][] {
    if (!this.counts)
      return Array.from({ length: this.numClasses }, () => new Array(this.numClasses).fill(0));
    return (this.counts.arraySync() as number[][]).map((row) => row.map((v) => Math.round(v)));
  }
  reset(): void {
    this.counts?.dispose();
    this.counts = null;
  }
}
