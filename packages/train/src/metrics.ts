import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

function checkPair(output: tf.Tensor, target: tf.Tensor, fn: string): void {
  if (output.rank !== 2 || target.rank !== 1 || output.shape[0] !== target.shape[0]) {
    throw new ValueError(
      `${fn}: expected scores [N, C] and int labels [N], got ${formatValue(output.shape)} and ${formatValue(target.shape)}`,
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
    throw new ValueError(`topKAccuracy: k must be a positive integer, got ${formatValue(k)}`);
  }
  const n = output.shape[0];
  if (n === 0) return 0;
  const c = countCorrect(output, target, k);
  const v = c.dataSync()[0];
  c.dispose();
  return v / n;
}

/**
 * Each class's recall from a confusion matrix (`m[label][predicted]`): the share of its
 * examples predicted as it (the diagonal over the row), 0 for a class with no examples.
 */
export function classRecall(matrix: readonly (readonly number[])[]): number[] {
  return matrix.map(
    (row, i) =>
      row[i] /
      Math.max(
        1,
        row.reduce((a, b) => a + b, 0),
      ),
  );
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
      `confusionMatrix: numClasses must be a positive integer, got ${formatValue(numClasses)}`,
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

/**
 * A weighted running sum kept on the device, and the mean it gives: the one meter behind
 * `fit`'s and `evaluate`'s loss and accuracy and the {@link TopKAccuracy} and
 * {@link ConfusionMatrix} metrics. Adding never reads the device; the total is read once, when
 * the mean (or {@link RunningMean.total}) is asked for, so a training loop syncs once per epoch
 * or log interval instead of once per batch.
 *
 * The meter owns its total: it is kept out of any enclosing `tf.tidy`, replaced on each add
 * and freed by {@link RunningMean.reset}. Numbers are added on the device too (float32).
 *
 * @example
 * const loss = new RunningMean();
 * for (const batch of batches) loss.update(batchMeanLoss, batchSize); // no device read
 * console.log(await loss.read());
 * loss.reset();
 */
export class RunningMean {
  private sum: tf.Tensor | null = null;
  private n = 0;

  /** Adds a mean over `count` items (e.g. a batch's mean loss and the batch size). */
  update(mean: number | tf.Tensor, count = 1): void {
    this.add(
      () => (typeof mean === 'number' ? tf.scalar(mean * count) : tf.mul(mean, count)),
      count,
    );
  }

  /** Adds a total over `count` items (e.g. the hits in a batch and the batch size). */
  addSum(sum: number | tf.Tensor, count: number): void {
    this.add(() => (typeof sum === 'number' ? tf.scalar(sum) : sum), count);
  }

  private add(term: () => tf.Tensor, count: number): void {
    if (!(Number.isFinite(count) && count >= 0)) {
      throw new ValueError(
        `RunningMean: count must be a non-negative number, got ${formatValue(count)}`,
      );
    }
    const old = this.sum;
    // A clone for the first term, so the meter never owns (nor keeps alive) a caller's tensor.
    this.sum = tf.keep(tf.tidy(() => (old ? tf.add(old, term()) : tf.clone(term()))));
    old?.dispose();
    this.n += count;
  }

  /** The total so far, on the device (null before any add); the meter owns it. */
  get total(): tf.Tensor | null {
    return this.sum;
  }

  /** The total weight added. */
  get count(): number {
    return this.n;
  }

  /** The mean so far, read synchronously (NaN before anything is counted). */
  get value(): number {
    return this.meanOf(this.scalarTotal()?.dataSync());
  }

  /** The mean so far, read without blocking (NaN before anything is counted). */
  async read(): Promise<number> {
    return this.meanOf(await this.scalarTotal()?.data());
  }

  /** Starts again, freeing the total. */
  reset(): void {
    this.sum?.dispose();
    this.sum = null;
    this.n = 0;
  }

  private scalarTotal(): tf.Tensor | undefined {
    if (!this.sum || this.n === 0) return undefined;
    if (this.sum.size !== 1) {
      throw new ValueError(
        `RunningMean: the mean of a total of shape ${formatValue(this.sum.shape)} is not one number; read \`total\``,
      );
    }
    return this.sum;
  }

  private meanOf(total: ArrayLike<number> | undefined): number {
    return total ? total[0] / this.n : Number.NaN;
  }
}

/**
 * A metric accumulated over batches; `update` runs inside a `tf.tidy` and should keep its
 * running totals on the device (no reads) until `result`.
 */
export interface Metric<R = unknown> {
  update(output: tf.Tensor, target: tf.Tensor): void;
  result(): R;
  /** The result read without blocking, where GPU backends cannot read synchronously. */
  read?(): Promise<R>;
  reset(): void;
}

/** A {@link Metric} counting top-k hits on the device; `result()` is the accuracy. */
export class TopKAccuracy implements Metric<number> {
  private readonly hits = new RunningMean();
  constructor(readonly k = 1) {}
  update(output: tf.Tensor, target: tf.Tensor): void {
    this.hits.addSum(countCorrect(output, target, this.k), output.shape[0]);
  }
  result(): number {
    return this.hits.value;
  }
  reset(): void {
    this.hits.reset();
  }
}

/**
 * A {@link Metric} building the confusion matrix (`m[label][predicted]`) on the device, one
 * `[C, C]` matrix product per batch; `result()` reads it once.
 */
export class ConfusionMatrix implements Metric<number[][]> {
  private readonly counts = new RunningMean();
  constructor(readonly numClasses: number) {
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) {
      throw new ValueError(
        `ConfusionMatrix: numClasses must be a positive integer, got ${formatValue(numClasses)}`,
      );
    }
  }
  update(output: tf.Tensor, target: tf.Tensor): void {
    const c = this.numClasses;
    const predicted = output.rank === 2 ? tf.argMax(output, 1) : output;
    // float32 one-hots: the wasm and WebGL backends multiply no int32 matrices.
    const oneHot = (t: tf.Tensor) =>
      tf.cast(tf.oneHot(tf.cast(t, 'int32') as tf.Tensor1D, c), 'float32');
    const batch = tf.matMul(oneHot(target), oneHot(predicted), true, false);
    this.counts.addSum(batch, target.shape[0]);
  }
  result(): number[][] {
    return this.matrixOf(this.counts.total?.arraySync());
  }
  async read(): Promise<number[][]> {
    return this.matrixOf(await this.counts.total?.array());
  }
  private matrixOf(total: unknown): number[][] {
    if (!total)
      return Array.from({ length: this.numClasses }, () => new Array(this.numClasses).fill(0));
    return (total as number[][]).map((row) => row.map((v) => Math.round(v)));
  }
  reset(): void {
    this.counts.reset();
  }
}
