import type { BatchLogs, Callback } from './fit.js';

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
}

/**
 * A `fit` callback following an epoch batch by batch for a progress bar: running loss,
 * running accuracy (`fit`'s own device-side count over the epoch's training batches),
 * throughput and ETA.
 *
 * @example
 * const progress = new TrainingProgress({ epochs, batches: loader.length, onBatch: show });
 * await fit({ model, optimizer, trainLoader: loader, epochs, callbacks: [progress] });
 */
export class TrainingProgress implements Callback {
  private epoch = 0;
  private epochStart = 0;
  private seen = 0;
  private lossSum = 0;
  private lossCount = 0;

  constructor(private readonly options: TrainingProgressOptions) {}

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = performance.now();
    this.seen = 0;
    this.lossSum = 0;
    this.lossCount = 0;
  }

  onBatchEnd(batch: number, logs: BatchLogs): void {
    this.seen += logs.size;
    if (logs.loss === undefined) return;
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
      accuracy: logs.epochAccuracy ?? Number.NaN,
      lr: logs.lr,
      imagesPerSec: this.seen / Math.max(elapsed, 1e-6),
      etaSeconds: (elapsed / done) * (batches - done),
    });
  }
}
