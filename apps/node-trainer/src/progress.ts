import { type BatchLogs, type Callback, countCorrect, crossEntropy } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import type { Reporter } from './reporter.js';

/**
 * Follows an epoch batch by batch for the progress bar: running loss, running accuracy,
 * throughput and ETA. `fit` reports accuracy only per epoch, so the accuracy is counted by
 * {@link TrainingProgress.loss}, which sees the logits of every training batch; the counts
 * stay on the device until a batch is reported.
 */
export class TrainingProgress implements Callback {
  private correct: tf.Scalar = tf.keep(tf.scalar(0, 'int32'));
  private epoch = 0;
  private epochStart = 0;
  private seen = 0;
  private lossSum = 0;
  private lossCount = 0;

  constructor(
    private readonly report: Reporter,
    private readonly isTraining: () => boolean,
    private readonly epochs: number,
    private readonly batches: number,
  ) {}

  /** Cross entropy, counting correct predictions of training batches on the way. */
  readonly loss = (out: tf.Tensor, y: tf.Tensor): tf.Tensor => {
    if (this.isTraining()) {
      const previous = this.correct;
      this.correct = tf.keep(tf.add(previous, countCorrect(out, y)) as tf.Scalar);
      previous.dispose();
    }
    return crossEntropy(out, y);
  };

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = performance.now();
    this.seen = 0;
    this.lossSum = 0;
    this.lossCount = 0;
    this.correct.dispose();
    this.correct = tf.keep(tf.scalar(0, 'int32'));
  }

  async onBatchEnd(batch: number, logs: BatchLogs): Promise<void> {
    // A macrotask turn per batch lets Node deliver Ctrl-C; on the CPU backends every other
    // await of a step resolves as a microtask, which would hold the signal until epoch end.
    await new Promise((r) => setImmediate(r));
    this.seen += logs.size;
    if (logs.loss === undefined) return;
    // An asynchronous read: GPU backends in Node cannot read synchronously.
    const hits = (await this.correct.data())[0];
    this.lossSum += logs.loss;
    this.lossCount++;
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const done = batch + 1;
    this.report.batch({
      epoch: this.epoch + 1,
      epochs: this.epochs,
      batch: done,
      batches: this.batches,
      loss: this.lossSum / this.lossCount,
      accuracy: hits / this.seen,
      lr: logs.lr,
      imagesPerSec: this.seen / Math.max(elapsed, 1e-6),
      etaSeconds: (elapsed / done) * (this.batches - done),
    });
  }

  /** Frees the device-side counter. */
  dispose(): void {
    this.correct.dispose();
  }
}
