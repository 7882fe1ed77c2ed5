import { formatValue, type Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteLossError } from './errors.js';
import { evaluate, forwardTensor, isClassification, type LossFn } from './evaluate.js';
import {
  clipGradNorm,
  clipGradValue,
  GradientAccumulator,
  type ValueAndGrads,
  valueAndGrads,
} from './gradients.js';
import type { Batch, Loader } from './loader.js';
import { crossEntropy } from './losses.js';
import { countCorrect, type Metric, RunningMean } from './metrics.js';
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
  /**
   * The batch's top-1 accuracy, read with `loss` (so `undefined` when it is, and when the
   * task is not classification).
   */
  accuracy?: number;
  /**
   * Top-1 accuracy over the epoch's training batches so far, this one included, read with
   * `loss` from the same device-side sum as the epoch's `trainAcc`.
   */
  epochAccuracy?: number;
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

function checkCount(name: string, value: number, min: 0 | 1): void {
  if (!(Number.isInteger(value) && value >= min)) {
    const kind = min === 0 ? 'a non-negative' : 'a positive';
    throw new ValueError(`fit: ${name} must be ${kind} integer, got ${formatValue(value)}`);
  }
}

/** {@link FitOptions} with the defaults filled in and checked. */
interface FitRun extends FitOptions {
  loss: LossFn;
  callbacks: Callback[];
  accumulate: number;
  startEpoch: number;
  logEvery: number;
  interval: SchedulerInterval;
}

function withDefaults(options: FitOptions): FitRun {
  const run: FitRun = {
    ...options,
    loss: options.loss ?? crossEntropy,
    callbacks: options.callbacks ?? [],
    accumulate: options.accumulate ?? 1,
    startEpoch: options.startEpoch ?? 0,
    logEvery: options.logEvery ?? 1,
    interval: options.schedulerInterval ?? options.scheduler?.interval ?? 'epoch',
  };
  checkCount('epochs', run.epochs, 0);
  checkCount('startEpoch', run.startEpoch, 0);
  checkCount('logEvery', run.logEvery, 1);
  checkCount('accumulate', run.accumulate, 1);
  return run;
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
  const run = withDefaults(options);
  const history: History = { epochs: [...(options.history ?? [])], stopReason: 'completed' };
  const stopper = run.earlyStopping
    ? new EarlyStopper(run.earlyStopping, !!run.valLoader)
    : undefined;
  // Replaying the resumed history restores the stopper's best value and patience count, so a
  // resumed run stops where an uninterrupted one would.
  for (const logs of history.epochs) stopper?.update(logs);
  const step = new OptimizerStep(run);

  for (const cb of run.callbacks) await cb.onTrainBegin?.();
  run.model.train();
  try {
    for (let epoch = run.startEpoch; epoch < run.epochs; epoch++) {
      const stopReason = await runEpoch(run, step, stopper, history, epoch);
      if (stopReason) {
        history.stopReason = stopReason;
        break;
      }
    }
  } finally {
    run.model.train();
  }
  for (const cb of run.callbacks) await cb.onTrainEnd?.(history);
  return history;
}

/**
 * One epoch: train, validate, step a per-epoch scheduler, log, call back, check early
 * stopping and checkpoint. Returns why training stops here, if it does.
 */
async function runEpoch(
  run: FitRun,
  step: OptimizerStep,
  stopper: EarlyStopper | undefined,
  history: History,
  epoch: number,
): Promise<'aborted' | 'earlyStopping' | undefined> {
  if (run.signal?.aborted) return 'aborted';
  for (const cb of run.callbacks) await cb.onEpochBegin?.(epoch);
  const trained = await trainEpoch(run, step, epoch);
  if (!trained) return 'aborted';
  const validated = await validate(run);
  if (run.scheduler && run.interval === 'epoch') {
    run.scheduler.step(run.valLoader ? validated.valLoss : trained.trainLoss);
  }
  const logs: EpochLogs = {
    epoch,
    trainLoss: trained.trainLoss,
    trainAcc: trained.trainAcc,
    valLoss: validated.valLoss,
    valAcc: validated.valAcc,
    lr: trained.lr,
    imagesPerSec: trained.imagesPerSec,
    seconds: (now() - trained.start) / 1000,
    ...(validated.valMetrics ? { valMetrics: validated.valMetrics } : {}),
  };
  history.epochs.push(logs);
  for (const cb of run.callbacks) await cb.onEpochEnd?.(epoch, logs);
  const stop = stopper?.update(logs) ?? false;
  await checkpointAfter(run, epoch, history, stop);
  return stop ? 'earlyStopping' : undefined;
}

/** What one training pass over the loader measured. */
interface TrainedEpoch {
  /** When the epoch's training began (`now()`), for its wall time. */
  start: number;
  trainLoss: number;
  trainAcc: number;
  /** Learning rate of the first parameter group for the epoch's last batch. */
  lr: number;
  imagesPerSec: number;
}

/** One epoch's device-side sums and the training throughput measured at loss reads. */
class EpochProgress {
  readonly loss = new RunningMean();
  readonly correct = new RunningMean();
  imagesPerSec = 0;
  private lastRead: number;
  private seenAtLastRead = 0;

  constructor(
    readonly epoch: number,
    readonly start: number,
  ) {
    this.lastRead = start;
  }

  /** Examples trained on so far. */
  get seen(): number {
    return this.loss.count;
  }

  /** Times the examples since the last read: only a read syncs the device, so only it times anything. */
  markRead(): void {
    const t = now();
    this.imagesPerSec =
      ((this.seen - this.seenAtLastRead) * 1000) / Math.max(t - this.lastRead, 1e-3);
    this.lastRead = t;
    this.seenAtLastRead = this.seen;
  }

  dispose(): void {
    this.loss.reset();
    this.correct.reset();
  }
}

/** Trains one pass over the loader; `undefined` when aborted before its end. */
async function trainEpoch(
  run: FitRun,
  step: OptimizerStep,
  epoch: number,
): Promise<TrainedEpoch | undefined> {
  step.beginEpoch();
  const progress = new EpochProgress(epoch, now());
  let lr = run.optimizer.paramGroups[0].lr;
  let batch = 0;
  try {
    const batches = run.trainLoader.length;
    for await (const { x, y } of run.trainLoader) {
      lr = run.optimizer.paramGroups[0].lr;
      await trainBatch(run, step, progress, { x, y, batch, last: batch === batches - 1, lr });
      batch++;
      if (run.signal?.aborted) return undefined;
    }
    const [trainLoss, trainAcc] = await Promise.all([
      progress.loss.read(),
      progress.correct.read(),
    ]);
    checkLoss(trainLoss, epoch, batch - 1);
    const trainSeconds = (now() - progress.start) / 1000;
    return {
      start: progress.start,
      trainLoss,
      trainAcc,
      lr,
      imagesPerSec: progress.seen / Math.max(trainSeconds, 1e-6),
    };
  } finally {
    progress.dispose();
    step.endEpoch();
  }
}

/** One batch of an epoch, as {@link trainBatch} takes it. */
interface BatchInput extends Batch {
  /** 0-based index within the epoch. */
  batch: number;
  /** Whether it is the epoch's last batch. */
  last: boolean;
  /** Learning rate of the first parameter group for this batch. */
  lr: number;
}

/**
 * Forward, loss and gradients for one batch, handed to the optimizer step; the loss and the
 * hits are added on the device, and the loss is read every `logEvery` batches and at the last.
 * The batch is disposed.
 */
async function trainBatch(
  run: FitRun,
  step: OptimizerStep,
  progress: EpochProgress,
  { x, y, batch, last, lr }: BatchInput,
): Promise<void> {
  let result: BatchGradients | undefined;
  try {
    const n = x.shape[0];
    result = lossAndGradients(run, step.trainable, x, y);
    step.addGradients(result.grads, last);
    progress.loss.update(result.value, n);
    if (result.correct) progress.correct.addSum(result.correct, n);
    let batchLoss: number | undefined;
    let accuracy: number | undefined;
    let epochAccuracy: number | undefined;
    if ((batch + 1) % run.logEvery === 0 || last) {
      const [loss, correct, running] = await Promise.all([
        result.value.data(),
        result.correct?.data(),
        result.correct ? progress.correct.read() : undefined,
      ]);
      batchLoss = loss[0];
      checkLoss(batchLoss, progress.epoch, batch);
      if (correct) accuracy = correct[0] / n;
      epochAccuracy = running;
      progress.markRead();
    }
    const logs: BatchLogs = {
      batch,
      epoch: progress.epoch,
      size: n,
      loss: batchLoss,
      accuracy,
      epochAccuracy,
      lr,
      imagesPerSec: progress.imagesPerSec,
    };
    for (const cb of run.callbacks) await cb.onBatchEnd?.(batch, logs);
  } finally {
    result?.correct?.dispose();
    result?.value.dispose();
    tf.dispose([x, y]);
  }
}

/** A batch's mean loss and gradients, and its hit count when the task is classification. */
interface BatchGradients extends ValueAndGrads {
  correct?: tf.Scalar;
}

/** The forward and backward pass of one batch; the caller owns every tensor returned. */
function lossAndGradients(
  run: FitRun,
  trainable: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
): BatchGradients {
  let correct: tf.Scalar | undefined;
  try {
    const result = valueAndGrads(() => {
      const out = forwardTensor(run.model, x);
      if (isClassification(out, y)) correct = tf.keep(countCorrect(out, y));
      const l = run.loss(out, y);
      if (l.rank !== 0) {
        throw new ValueError(
          `fit: the loss must be a scalar (reduction 'mean'), got shape ${formatValue(l.shape)}`,
        );
      }
      return l as tf.Scalar;
    }, trainable);
    return { ...result, correct };
  } catch (e) {
    correct?.dispose();
    throw e;
  }
}

/**
 * One optimizer step per `accumulate` batches, as the loop around `torch.optim` takes it:
 * average the accumulated gradients, clip them, `optimizer.step`, then step a per-batch
 * scheduler. Frozen parameters (trainable = false) get no gradient and no update, as with
 * requires_grad = False; the list is taken per epoch so freezing between epochs works.
 */
class OptimizerStep {
  /** The parameters that get gradients this epoch. */
  trainable: tf.Variable[] = [];
  private readonly params: tf.Variable[];
  private readonly accumulator?: GradientAccumulator;

  constructor(private readonly run: FitRun) {
    this.params = run.optimizer.params;
    if (run.accumulate > 1) this.accumulator = new GradientAccumulator();
  }

  beginEpoch(): void {
    this.trainable = this.params.filter((p) => p.trainable);
    if (this.trainable.length === 0) {
      throw new ValueError('fit: the optimizer has no trainable parameters (all are frozen)');
    }
  }

  /**
   * Takes one batch's gradients (aligned with {@link OptimizerStep.trainable}) and disposes
   * them; steps once `accumulate` batches are in, and at the epoch's last batch.
   */
  addGradients(grads: tf.Tensor[], lastOfEpoch: boolean): void {
    const accumulator = this.accumulator;
    if (!accumulator) {
      try {
        this.apply(grads);
      } finally {
        tf.dispose(grads);
      }
      return;
    }
    accumulator.add(grads);
    tf.dispose(grads);
    if (accumulator.count === this.run.accumulate || lastOfEpoch) {
      const mean = accumulator.mean();
      accumulator.reset();
      try {
        this.apply(mean);
      } finally {
        tf.dispose(mean);
      }
    }
  }

  /** Drops gradients left from an epoch cut short. */
  endEpoch(): void {
    this.accumulator?.reset();
  }

  private apply(grads: tf.Tensor[]): void {
    const { optimizer, scheduler, gradClip } = this.run;
    const clipped = gradClip ? clip(grads, gradClip) : grads;
    try {
      optimizer.step(new Map(this.trainable.map((p, i) => [p, clipped[i]])));
    } finally {
      if (clipped !== grads) tf.dispose(clipped);
    }
    if (scheduler && this.run.interval === 'batch') scheduler.step();
  }
}

function clip(grads: tf.Tensor[], gradClip: NonNullable<FitOptions['gradClip']>): tf.Tensor[] {
  if ('value' in gradClip) return clipGradValue(grads, gradClip.value);
  const { grads: clipped, totalNorm } = clipGradNorm(
    grads,
    gradClip.maxNorm,
    gradClip.normType ?? 2,
  );
  totalNorm.dispose();
  return clipped;
}

/** The validation pass in eval mode (the model back in train mode after); NaN without a loader. */
async function validate(
  run: FitRun,
): Promise<Pick<EpochLogs, 'valLoss' | 'valAcc' | 'valMetrics'>> {
  const { valLoader, valMetrics } = run;
  if (!valLoader) return { valLoss: Number.NaN, valAcc: Number.NaN };
  for (const m of Object.values(valMetrics ?? {})) m.reset();
  const r = await evaluate(run.model, valLoader, { loss: run.loss, metrics: valMetrics });
  run.model.train();
  return { valLoss: r.loss, valAcc: r.accuracy, ...(valMetrics ? { valMetrics: r.metrics } : {}) };
}

/** Saves every `checkpoint.every` epochs, after the last epoch and when stopping early. */
async function checkpointAfter(
  run: FitRun,
  epoch: number,
  history: History,
  stopping: boolean,
): Promise<void> {
  const { checkpoint, model, optimizer, scheduler } = run;
  if (!checkpoint) return;
  const every = checkpoint.every ?? 1;
  if ((epoch + 1) % every !== 0 && epoch !== run.epochs - 1 && !stopping) return;
  await checkpoint.save({ model, optimizer, scheduler, epoch: epoch + 1, history: history.epochs });
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
        `fit: earlyStopping monitors ${formatValue(this.monitor)} but there is no valLoader`,
      );
    }
    this.mode = o.mode ?? (this.monitor.endsWith('Acc') ? 'max' : 'min');
    this.minDelta = Math.abs(o.minDelta ?? 0);
    if (!(Number.isInteger(o.patience) && o.patience >= 0)) {
      throw new ValueError(
        `fit: earlyStopping.patience must be a non-negative integer, got ${formatValue(o.patience)}`,
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
