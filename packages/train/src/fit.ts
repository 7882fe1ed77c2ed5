import { describe, type Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteLossError } from './errors.js';
import { evaluate, forwardTensor, isClassification, type LossFn } from './evaluate.js';
import { clipGradNorm, clipGradValue, GradientAccumulator, valueAndGrads } from './gradients.js';
import type { Loader } from './loader.js';
import { crossEntropy } from './losses.js';
import { countCorrect, type Metric } from './metrics.js';
import type { Optimizer } from './optim/optimizer.js';
import type { Scheduler, SchedulerInterval } from './schedulers/scheduler.js';

/** What one epoch measured; `fit` returns one per epoch. */
export interface EpochLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** Mean training loss per example. */
  trainLoss: number;
  /** Training top-1 accuracy (NaN when the task is not classification). */
  trainAcc: number;
  /** Mean validation loss (NaN without a validation loader). */
  valLoss: number;
  /** Validation top-1 accuracy (NaN without a validation loader). */
  valAcc: number;
  /** Learning rate of the first parameter group for the epoch's last batch. */
  lr: number;
  /** Training throughput over the epoch (validation excluded). */
  imagesPerSec: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Results of `valMetrics` on this epoch's validation pass, by name. */
  valMetrics?: Record<string, unknown>;
}

/** What `onBatchEnd` receives. */
export interface BatchLogs {
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Examples in the batch. */
  size: number;
  /**
   * The batch's loss, read from the device on every `logEvery`-th batch and on the last;
   * `undefined` on the others (reading forces a device sync).
   */
  loss?: number;
  /** Learning rate of the first parameter group used for this batch. */
  lr: number;
  /**
   * Training throughput measured between the last two reads (0 until the first read of the
   * epoch); only read batches measure, since without a device sync the time is meaningless.
   */
  imagesPerSec: number;
  /** 0-based epoch index. */
  epoch: number;
}

/** Hooks called by `fit`; each may be async (fit awaits it). */
export interface Callback {
  onTrainBegin?(): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
  onEpochBegin?(epoch: number): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
}

/** What a checkpoint hook is given at the end of an epoch. */
export interface TrainingState {
  model: Module;
  optimizer: Optimizer;
  scheduler?: Scheduler;
  /** Epochs completed (resume with `startEpoch: epoch`). */
  epoch: number;
  history: EpochLogs[];
}

/** Saves training state; `@resnet-ts/train/node`'s `checkpointTo(dir)` writes a directory. */
export interface CheckpointHook {
  save(state: TrainingState): void | Promise<void>;
  /** Save every this many epochs (default 1); the last epoch is always saved. */
  every?: number;
}

/** Stops training when a monitored value stops improving. */
export interface EarlyStoppingOptions {
  /** Default 'valLoss' ('trainLoss' without a validation loader). */
  monitor?: 'valLoss' | 'valAcc' | 'trainLoss' | 'trainAcc';
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Default: 'max' for accuracies, 'min' for losses. */
  mode?: 'min' | 'max';
}

/** Options of {@link fit}. */
export interface FitOptions {
  model: Module;
  optimizer: Optimizer;
  scheduler?: Scheduler;
  /** When to step the scheduler; defaults to the scheduler's own `interval`. */
  schedulerInterval?: SchedulerInterval;
  /** Default {@link crossEntropy}. */
  loss?: LossFn;
  trainLoader: Loader;
  valLoader?: Loader;
  /** Total epochs, counting those done before `startEpoch`. */
  epochs: number;
  callbacks?: Callback[];
  /** Clip gradients by joint norm (as `clip_grad_norm_`) or by value before each step. */
  gradClip?: { maxNorm: number; normType?: number } | { value: number };
  /** Average gradients over this many batches per optimizer step (default 1). */
  accumulate?: number;
  checkpoint?: CheckpointHook;
  earlyStopping?: EarlyStoppingOptions;
  /** Epochs already done, when resuming (default 0). */
  startEpoch?: number;
  /** History of the epochs already done, when resuming; new epochs are appended. */
  history?: EpochLogs[];
  /** Read the loss from the device every this many batches (default 1). */
  logEvery?: number;
  /** Aborting stops training at the end of the current batch. */
  signal?: AbortSignal;
  /** Extra metrics computed on the validation set each epoch (reset before each pass). */
  valMetrics?: Record<string, Metric>;
}

/** What {@link fit} returns. */
export interface History {
  /** One entry per completed epoch, the resumed ones included. */
  epochs: EpochLogs[];
  /** Why training ended. */
  stopReason: 'completed' | 'earlyStopping' | 'aborted';
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function checkLoss(loss: number, epoch: number, batch: number): void {
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, epoch, batch);
}

/**
 * Trains `model` for `epochs` epochs, like the loop people write around `torch.optim`:
 * forward, loss, gradients (tfjs tape), optional clipping, `optimizer.step`, scheduler steps
 * (per batch or per epoch as the scheduler declares; {@link ReduceLROnPlateau} gets the
 * validation loss), validation in eval mode, callbacks, checkpoints and early stopping.
 *
 * Every tensor a step creates is freed within the step and the batches are disposed, so
 * memory is flat across epochs. Loss and accuracy are summed on the device and read every
 * `logEvery` batches and at each epoch's end. A NaN or infinite loss throws
 * {@link NonFiniteLossError} before that epoch is checkpointed, so the last checkpoint on
 * disk stays the last good one.
 *
 * @example
 * const history = await fit({ model, optimizer, scheduler, trainLoader, valLoader, epochs: 10 });
 */
export async function fit(options: FitOptions): Promise<History> {
  const {
    model,
    optimizer,
    scheduler,
    loss = crossEntropy,
    trainLoader,
    valLoader,
    epochs,
    callbacks = [],
    gradClip,
    accumulate = 1,
    checkpoint,
    earlyStopping,
    startEpoch = 0,
    logEvery = 1,
    signal,
    valMetrics,
  } = options;
  if (!(Number.isInteger(epochs) && epochs >= 0)) {
    throw new ValueError(`fit: epochs must be a non-negative integer, got ${describe(epochs)}`);
  }
  if (!(Number.isInteger(startEpoch) && startEpoch >= 0)) {
    throw new ValueError(
      `fit: startEpoch must be a non-negative integer, got ${describe(startEpoch)}`,
    );
  }
  if (!(Number.isInteger(logEvery) && logEvery >= 1)) {
    throw new ValueError(`fit: logEvery must be a positive integer, got ${describe(logEvery)}`);
  }
  if (!(Number.isInteger(accumulate) && accumulate >= 1)) {
    throw new ValueError(`fit: accumulate must be a positive integer, got ${describe(accumulate)}`);
  }
  const interval = options.schedulerInterval ?? scheduler?.interval ?? 'epoch';
  const history: History = { epochs: [...(options.history ?? [])], stopReason: 'completed' };
  const params = optimizer.params;
  const stopper = earlyStopping ? new EarlyStopper(earlyStopping, !!valLoader) : undefined;
  // Replaying the resumed history restores the stopper's best value and patience count, so a
  // resumed run stops where an uninterrupted one would.
  for (const logs of history.epochs) stopper?.update(logs);
  const accumulator = accumulate > 1 ? new GradientAccumulator() : undefined;

  // Frozen parameters (trainable = false) get no gradient and no update, as with
  // requires_grad = False; the list is taken per epoch so freezing between epochs works.
  let trainable: tf.Variable[] = [];
  const applyGrads = (grads: tf.Tensor[]) => {
    let g = grads;
    if (gradClip) {
      if ('value' in gradClip) {
        g = clipGradValue(grads, gradClip.value);
      } else {
        const clipped = clipGradNorm(grads, gradClip.maxNorm, gradClip.normType ?? 2);
        clipped.totalNorm.dispose();
        g = clipped.grads;
      }
    }
    optimizer.step(new Map(trainable.map((p, i) => [p, g[i]])));
    if (g !== grads) tf.dispose(g);
    if (scheduler && interval === 'batch') scheduler.step();
  };

  for (const cb of callbacks) await cb.onTrainBegin?.();
  model.train();
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      if (signal?.aborted) {
        history.stopReason = 'aborted';
        break;
      }
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
      trainable = params.filter((p) => p.trainable);
      if (trainable.length === 0) {
        throw new ValueError('fit: the optimizer has no trainable parameters (all are frozen)');
      }
      const epochStart = now();
      let lossSum = tf.scalar(0);
      let correctSum = tf.scalar(0, 'int32');
      let seen = 0;
      let classified = 0;
      let batch = 0;
      let lr = optimizer.paramGroups[0].lr;
      let lastRead = epochStart;
      let seenAtLastRead = 0;
      let throughput = 0;
      let aborted = false;
      try {
        const batches = trainLoader.length;
        for await (const { x, y } of trainLoader) {
          let value: tf.Scalar | undefined;
          try {
            const n = x.shape[0];
            let correct: tf.Scalar | undefined;
            lr = optimizer.paramGroups[0].lr;
            let result: ReturnType<typeof valueAndGrads>;
            try {
              result = valueAndGrads(() => {
                const out = forwardTensor(model, x);
                if (isClassification(out, y)) correct = tf.keep(countCorrect(out, y));
                const l = loss(out, y);
                if (l.rank !== 0) {
                  throw new ValueError(
                    `fit: the loss must be a scalar (reduction 'mean'), got shape ${describe(l.shape)}`,
                  );
                }
                return l as tf.Scalar;
              }, trainable);
            } catch (e) {
              correct?.dispose();
              throw e;
            }
            value = result.value;
            if (accumulator) {
              accumulator.add(result.grads);
              tf.dispose(result.grads);
              if (accumulator.count === accumulate || batch === batches - 1) {
                const mean = accumulator.mean();
                accumulator.reset();
                applyGrads(mean);
                tf.dispose(mean);
              }
            } else {
              applyGrads(result.grads);
              tf.dispose(result.grads);
            }
            const prevLoss = lossSum;
            const prevCorrect = correctSum;
            const v = value;
            lossSum = tf.tidy(() => tf.add(prevLoss, tf.mul(v, n)));
            prevLoss.dispose();
            if (correct) {
              const c = correct;
              correctSum = tf.tidy(() => tf.add(prevCorrect, c));
              prevCorrect.dispose();
              c.dispose();
              classified += n;
            }
            seen += n;
            const read = (batch + 1) % logEvery === 0 || batch === batches - 1;
            let batchLoss: number | undefined;
            if (read) {
              batchLoss = (await value.data())[0];
              checkLoss(batchLoss, epoch, batch);
              const t = now();
              throughput = ((seen - seenAtLastRead) * 1000) / Math.max(t - lastRead, 1e-3);
              lastRead = t;
              seenAtLastRead = seen;
            }
            for (const cb of callbacks) {
              await cb.onBatchEnd?.(batch, {
                batch,
                epoch,
                size: n,
                loss: batchLoss,
                lr,
                imagesPerSec: throughput,
              });
            }
          } finally {
            value?.dispose();
            tf.dispose([x, y]);
          }
          batch++;
          if (signal?.aborted) {
            aborted = true;
            break;
          }
        }
        if (aborted) {
          history.stopReason = 'aborted';
          break;
        }
        const [l, c] = await Promise.all([lossSum.data(), correctSum.data()]);
        const trainLoss = seen ? l[0] / seen : Number.NaN;
        checkLoss(trainLoss, epoch, batch - 1);
        const trainSeconds = (now() - epochStart) / 1000;
        let valLoss = Number.NaN;
        let valAcc = Number.NaN;
        let metricResults: Record<string, unknown> | undefined;
        if (valLoader) {
          for (const m of Object.values(valMetrics ?? {})) m.reset();
          const r = await evaluate(model, valLoader, { loss, metrics: valMetrics });
          valLoss = r.loss;
          valAcc = r.accuracy;
          if (valMetrics) metricResults = r.metrics;
          model.train();
        }
        if (scheduler && interval === 'epoch') scheduler.step(valLoader ? valLoss : trainLoss);
        const logs: EpochLogs = {
          epoch,
          trainLoss,
          trainAcc: classified ? c[0] / classified : Number.NaN,
          valLoss,
          valAcc,
          lr,
          imagesPerSec: seen / Math.max(trainSeconds, 1e-6),
          seconds: (now() - epochStart) / 1000,
          ...(metricResults ? { valMetrics: metricResults } : {}),
        };
        history.epochs.push(logs);
        for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs);
        const stop = stopper?.update(logs) ?? false;
        const every = checkpoint?.every ?? 1;
        if (checkpoint && ((epoch + 1) % every === 0 || epoch === epochs - 1 || stop)) {
          await checkpoint.save({
            model,
            optimizer,
            scheduler,
            epoch: epoch + 1,
            history: history.epochs,
          });
        }
        if (stop) {
          history.stopReason = 'earlyStopping';
          break;
        }
      } finally {
        tf.dispose([lossSum, correctSum]);
        accumulator?.reset();
      }
    }
  } finally {
    model.train();
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(history);
  return history;
}

class EarlyStopper {
  private best: number;
  private bad = 0;
  private readonly monitor: NonNullable<EarlyStoppingOptions['monitor']>;
  private readonly mode: 'min' | 'max';
  private readonly minDelta: number;
  private readonly patience: number;

  constructor(o: EarlyStoppingOptions, hasVal: boolean) {
    this.monitor = o.monitor ?? (hasVal ? 'valLoss' : 'trainLoss');
    if ((this.monitor === 'valLoss' || this.monitor === 'valAcc') && !hasVal) {
      throw new ValueError(
        `fit: earlyStopping monitors ${describe(this.monitor)} but there is no valLoader`,
      );
    }
    this.mode = o.mode ?? (this.monitor.endsWith('Acc') ? 'max' : 'min');
    this.minDelta = Math.abs(o.minDelta ?? 0);
    if (!(Number.isInteger(o.patience) && o.patience >= 0)) {
      throw new ValueError(
        `fit: earlyStopping.patience must be a non-negative integer, got ${describe(o.patience)}`,
      );
    }
    this.patience = o.patience;
    this.best = this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  /** Records an epoch; true when training should stop. */
  update(logs: EpochLogs): boolean {
    const v = logs[this.monitor];
    const better =
      this.mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta;
    if (better) {
      this.best = v;
      this.bad = 0;
      return false;
    }
    this.bad += 1;
    return this.bad >= this.patience;
  }
}
