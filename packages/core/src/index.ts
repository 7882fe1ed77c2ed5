/**
 * @resnet-ts/core: the Module tree, state dicts, safetensors, backend selection, seeded
 * randomness and the kernels that let TensorFlow.js train on a CPU. Importing it registers
 * tfjs-core's gradients.
 */
import './gradients.js';
import './kernels/index.js';

export {
  BACKEND_NAMES,
  type BackendAttempt,
  type BackendName,
  type BackendSelection,
  defaultBackendOrder,
  formatBackendReport,
  isNode,
  type SelectBackendOptions,
  selectBackend,
} from './backends.js';
export { describe, ResnetError, ValueError } from './errors.js';
export { defaultGenerator, Generator, type GeneratorState, manualSeed } from './generator.js';
export { hasGradient } from './gradients.js';
export type { InputSpec } from './input-spec.js';
export { wasmTrainingKernels } from './kernels/index.js';
export {
  type LoadResult,
  Module,
  type Parameter,
  type ShapeMismatch,
  type StateDict,
  StateDictError,
} from './module.js';
export {
  decodeSafetensors,
  type EncodableTensor,
  type EncodeSafetensorsOptions,
  encodeSafetensors,
  loadSafetensorsIntoModule,
  type RawTensor,
  readTensors,
  type SafetensorsDtype,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsTensor,
  safetensorsToTensors,
  stateDictToSafetensors,
} from './safetensors.js';
