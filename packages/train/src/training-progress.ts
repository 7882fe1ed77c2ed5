import type { Module } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from './evaluate.js';
import type { BatchLogs, Callback } from './fit.js';
import { crossEntropy } from './losses.js';
import { countCorrect } from './metrics.js';

/** Where an epoch stands after a batch, with running figures since the epoch began. */
export interface BatchProgress {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** 1-based. */
  batch: number;
  batches: number;
  /** Mean of the batch losses read so far this epoch. */
  loss: number;
  /** Training accuracy so far this epoch. */
  accuracy: number;
  lr: number;
  imagesPerSec: number;
  etaSeconds: number;
}

/** Options of {@link TrainingProgress}. */
export interface TrainingProgressOptions {
  /** Total epochs of the run. */
  epochs: number;
  /** Batches per epoch (the training loader's length). */
  batches: number;
  /** Receives the progress after every batch whose loss `fit` read. */
  onBatch: (progress: BatchProgress) => void;
  /** The loss to train with (default {@link crossEntropy}). */
  loss?: LossFn;
}

/**
 * A `fit` callback following an epoch batch by batch for a progress bar: running loss,
 * running accuracy, throughput and ETA. `fit` reports accuracy only per epoch, so the
 * accuracy is counted by {@link TrainingProgress.loss} (pass it as `fit`'s `loss`), which
 * sees the logits of every training batch; the counts stay on the device until a batch is
 * reported. Call `dispose()` after training.
 *
 * @example
 * const progress = new TrainingProgress(model, { epochs, batches: loader.length, onBatch: show });
 * await fit({ model, optimizer, trainLoader: loader, epochs, loss: progress.loss, callbacks: [progress] });
 * progress.dispose();
 */
export class TrainingProgress implements Callback {
  private correct: tf.Scalar = tf.keep(tf.scalar(0, 'int32'));
  private epoch = 0;
  private epochStart = 0;
  private seen = 0;
  private lossSum = 0;
  private lossCount = 0;
  private readonly baseLoss: LossFn;

  constructor(
    private readonly model: Module,
    private readonly options: TrainingProgressOptions,
  ) {
    this.baseLoss = options.loss ?? crossEntropy;
  }

  /** The training loss, counting correct predictions of training batches on the way. */
  readonly loss: LossFn = (out, y) => {
    // `fit` uses the same loss in validation, which is not training progress.
    if (this.model.training) {
      const previous = this.correct;
      this.correct = tf.keep(tf.add(previous, countCorrect(out, y)) as tf.Scalar);
      previous.dispose();
    }
    return this.baseLoss(out, y);
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
    this.seen += logs.size;
    if (logs.loss === undefined) return;
    // An asynchronous read: GPU backends in Node cannot read synchronously.
    const hits = (await this.correct.data())[0];
    this.lossSum += logs.loss;
    this.lossCount++;
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const done = batch + 1;
    const { epochs, batches } = this.options;
    this.options.onBatch({
      epoch: this.epoch + 1,
      epochs,
      batch: done,
      batches,
      loss: this.lossSum / this.lossCount,
      accuracy: hits / this.seen,
      lr: logs.lr,
      imagesPerSec: this.seen / Math.max(elapsed, 1e-6),
      etaSeconds: (elapsed / done) * (batches - done),
    });
  }

  /** Frees the device-side counter. */
  dispose(): void {
    this.correct.dispose();
  }
}
