/**
 * @resnet-ts/core: the Module tree, state dicts, safetensors, backend selection, seeded
 * randomness and the kernels that let TensorFlow.js train on a CPU. Importing it registers
 * tfjs-core's gradients.
 */
import './gradients.js';

export { hasGradient } from './gradients.js';
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
