/**
 * @resnet-ts/core: the Module tree, state dicts, safetensors, backend selection, seeded
 * randomness and the kernels that let TensorFlow.js train on a CPU. Importing it registers
 * tfjs-core's gradients.
 */
import './gradient-registry.js';
import './kernels/index.js';

export {
  assertBackendReady,
  BACKEND_NAMES,
  BACKEND_PACKAGES,
  type BackendAttempt,
  type BackendName,
  type BackendSelection,
  defaultBackendOrder,
  formatBackendReport,
  isNode,
  type SelectBackendOptions,
  selectBackend,
} from './backends.js';
export { type Conv2dBiasPadding, conv2dBias } from './conv2d-bias.js';
export {
  dtypeByteSize,
  isInt64Buffer,
  isSafetensorsDtype,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  safetensorsDtypeOf,
  tfjsDtypeOf,
} from './dtypes.js';
export {
  capMessage,
  FileFormatError,
  formatValue,
  MAX_MESSAGE_LENGTH,
  ResnetError,
  sanitizeForTerminal,
  ValueError,
} from './errors.js';
export { defaultGenerator, Generator, type GeneratorState, manualSeed } from './generator.js';
export { hasGradient } from './gradient-registry.js';
export { checkJsonLimits, DEFAULT_JSON_LIMITS, type JsonLimits } from './json-limits.js';
export {
  type AdamUpdate,
  type AdamUpdateOptions,
  adamUpdate,
  batchMoments,
  batchNormGrad,
  maxPoolRelu,
  registerWasmTrainingKernels,
  type SgdUpdateOptions,
  sgdUpdate,
  wasmTrainingKernels,
} from './kernels/index.js';
export {
  type BrowserThreadedWasmOptions,
  registerBrowserThreadedWasm,
  type WasmBackendModule,
} from './kernels/threaded-wasm-browser.js';
export {
  type LoadResult,
  type LoadStateDictOptions,
  Module,
  type Parameter,
  type Shaped,
  type ShapeMismatch,
  type StateDict,
  StateDictError,
  type StateDictTransform,
} from './module.js';
export {
  opfsAvailable,
  opfsDirectory,
  type ReadOpfsFileOptions,
  readOpfsFile,
  removeOpfsFile,
  writeOpfsFileAtomic,
} from './opfs.js';
export {
  decodeSafetensors,
  decodeSafetensorsData,
  decodeSafetensorsHeader,
  type EncodableTensor,
  type EncodeSafetensorsOptions,
  encodeSafetensors,
  loadSafetensorsIntoModule,
  type RawTensor,
  readTensors,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsHeader,
  type SafetensorsHeaderEntry,
  type SafetensorsTensor,
  safetensorsHeaderLength,
  safetensorsToTensors,
  stateDictToSafetensors,
} from './safetensors.js';
export { parseJson, validate } from './schema.js';
export { type InputSpec, isTensor, sameShape } from './tensors.js';
export {
  detectWasmFeatures,
  formatWasmFeatures,
  type WasmFeatures,
} from './wasm-features.js';
