/**
 * @resnet-ts/core: the Module tree, state dicts, safetensors, backend selection, seeded
 * randomness and the kernels that let TensorFlow.js train on a CPU. Importing it registers
 * tfjs-core's gradients.
 */
import './gradients.js';
import './kernels/index.js';

export { hasGradient } from './gradients.js';
export { wasmTrainingKernels } from './kernels/index.js';
export { ResnetError, ValueError, describe } from './errors.js';
export { Generator, type GeneratorState, defaultGenerator, manualSeed } from './generator.js';
export {
  Module,
  type Parameter,
  type StateDict,
  type LoadResult,
  type ShapeMismatch,
  StateDictError,
} from './module.js';
export {
  type BackendName,
  type BackendAttempt,
  type BackendSelection,
  type SelectBackendOptions,
  BACKEND_NAMES,
  defaultBackendOrder,
  formatBackendReport,
  isNode,
  selectBackend,
} from './backends.js';
export {
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsFile,
  type RawTensor,
  type EncodableTensor,
  type EncodeSafetensorsOptions,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  safetensorsToTensors,
  stateDictToSafetensors,
  loadSafetensorsIntoModule,
} from './safetensors.js';
