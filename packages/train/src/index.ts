/**
 * @resnet-ts/train: what `torch.optim`, `torch.optim.lr_scheduler`, `torch.nn.functional`'s
 * losses and the usual training loop give PyTorch users, on TensorFlow.js. Browser-safe;
 * checkpoint files are written by `@resnet-ts/train/node`.
 */

export {
  CHECKPOINT_META_KEY,
  type CheckpointFile,
  decodeCheckpointFile,
  encodeCheckpointFile,
  restoreCheckpointFile,
} from './checkpoint-file.js';
export {
  type CheckpointJson,
  type CheckpointSource,
  checkpointJsonFromText,
  checkpointJsonSchema,
  checkpointJsonToText,
  joinCheckpointTensors,
  jsonFromText,
  jsonToText,
  type PackedCheckpoint,
  packCheckpoint,
  type RestoredState,
  splitCheckpointTensors,
  unpackCheckpoint,
} from './checkpoint-packing.js';
export { NonFiniteLossError } from './errors.js';
export {
  type EvaluateOptions,
  type EvaluateResult,
  evaluate,
  type LossFn,
  predict,
} from './evaluate.js';
export {
  type BatchLogs,
  type Callback,
  type CheckpointHook,
  type EarlyStoppingOptions,
  type EpochLogs,
  type FitOptions,
  fit,
  type History,
  type TrainingState,
} from './fit.js';
export { type FreezeOptions, freeze, unfreeze } from './freeze.js';
export {
  type ClippedGrads,
  clipGradNorm,
  clipGradValue,
  GradientAccumulator,
  type ValueAndGrads,
  valueAndGrads,
} from './gradients.js';
export type { Batch, Loader } from './loader.js';
export {
  type BceWithLogitsOptions,
  bceWithLogits,
  type CrossEntropyOptions,
  crossEntropy,
  mseLoss,
  type NllLossOptions,
  nllLoss,
  type Reduction,
} from './losses.js';
export {
  accuracy,
  ConfusionMatrix,
  classRecall,
  confusionMatrix,
  countCorrect,
  type Metric,
  RunningMean,
  TopKAccuracy,
  topKAccuracy,
} from './metrics.js';
export { Adagrad, type AdagradOptions } from './optim/adagrad.js';
export { Adam, type AdamOptions, AdamW } from './optim/adam.js';
export {
  createOptimizer,
  isOptimizerName,
  OPTIMIZER_NAMES,
  type OptimizerName,
  type OptimizerSettings,
} from './optim/create-optimizer.js';
export {
  type Gradients,
  Optimizer,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
} from './optim/optimizer.js';
export { RMSprop, type RMSpropOptions } from './optim/rmsprop.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { ChainedScheduler, SequentialLR } from './schedulers/composite.js';
export {
  CosineAnnealingLR,
  type CosineAnnealingLROptions,
  CosineAnnealingWarmRestarts,
  type CosineAnnealingWarmRestartsOptions,
} from './schedulers/cosine.js';
export {
  createScheduler,
  isSchedulerName,
  SCHEDULER_NAMES,
  type SchedulerName,
  type SchedulerSettings,
} from './schedulers/create-scheduler.js';
export { CyclicLR, type CyclicLROptions } from './schedulers/cyclic.js';
export {
  ConstantLR,
  type ConstantLROptions,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  type LinearLROptions,
  type LrLambda,
  MultiplicativeLR,
  MultiStepLR,
  type MultiStepLROptions,
  PolynomialLR,
  type PolynomialLROptions,
  StepLR,
  type StepLROptions,
} from './schedulers/factor-schedules.js';
export { OneCycleLR, type OneCycleLROptions } from './schedulers/one-cycle.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './schedulers/plateau.js';
export {
  type AnyOptimizer,
  LRScheduler,
  type Scheduler,
  SchedulerBase,
  type SchedulerInterval,
  type SchedulerStateDict,
} from './schedulers/scheduler.js';
export {
  type BatchProgress,
  TrainingProgress,
  type TrainingProgressOptions,
} from './training-progress.js';
