/**
 * @resnet-ts/models: the seed article's VanResNet, torchvision's ResNet family built from one
 * table, the registry that builds either by name and the metadata that lets a weights file
 * rebuild its own model, a torchinfo-like `summary`, and PyTorch state-dict interop
 * (safetensors in and out, with every layout difference handled in one place).
 */

export { freezeBackbone } from './freeze-backbone.js';
export { type ExportOnnxOptions, exportOnnx } from './onnx-export.js';
export {
  type PickleKey,
  type PickleValue,
  PyTuple,
  type StorageRef,
  type TensorRef,
  unpickle,
} from './pickle.js';
export {
  type ReadTorchFileOptions,
  readTorchFile,
  type TorchFileTensor,
  type TorchFileValue,
  type TorchValue,
  writeTorchFile,
} from './pth.js';
export {
  buildModel,
  isModelName,
  MODEL_NAMES,
  type ModelName,
  type ModelSpec,
  modelSpec,
  type SpecShapes,
  type StateDictSize,
  specShapes,
  stateDictSize,
} from './registry.js';
export {
  RESNET_ARCHITECTURES,
  ResNet,
  type ResNetArchitecture,
  type ResNetBlock,
  type ResNetName,
  type ResNetOptions,
  type ResNetStem,
  resnet,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  wide_resnet50_2,
} from './resnet.js';
export { type ModelSummary, type SummaryRow, summary } from './summary.js';
export {
  fromTorchOptimizerState,
  fromTorchSchedulerState,
  type OptimizerStateLike,
  type TorchCheckpointParts,
  toTorchOptimizerState,
  toTorchSchedulerState,
  writeTorchCheckpoint,
} from './torch-checkpoint.js';
export { TorchFileError, UnsafeGlobalError } from './torch-file-error.js';
export {
  loadPretrainedWeights,
  loadTorchStateDict,
  type PretrainedWeightsReport,
  selectStateDict,
  type TorchFlattenedInputs,
  type TorchRawTensor,
  type TorchStateDictOptions,
  type TorchStateDictSource,
  type TorchTensor,
  toTorchSafetensors,
  toTorchStateDict,
} from './torch-interop.js';
export { VanResNet, type VanResNetOptions } from './van-resnet.js';
export { type SniffResult, sniffWeightsFormat, type WeightsFormat } from './weights-format.js';
export {
  checkWeightsFitSpec,
  describeForeignModel,
  encodeWeightsMeta,
  loadModelFromSafetensors,
  MODEL_META_KEY,
  modelSpecSchema,
  parseWeightsMeta,
  readWeightsMeta,
  sameModelSpec,
  WEIGHTS_META_LIMITS,
  type WeightsMeta,
} from './weights-meta.js';
export {
  readZip,
  writeZip,
  type ZipArchive,
  type ZipEntry,
  type ZipFile,
  type ZipLimits,
} from './zip.js';
