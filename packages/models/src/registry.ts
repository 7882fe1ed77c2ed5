import { formatValue, type Generator, type Module, ValueError } from '@resnet-ts/core';
import { BasicBlock } from '@resnet-ts/layers';
import {
  RESNET_ARCHITECTURES,
  type ResNetArchitecture,
  type ResNetName,
  type ResNetStem,
  resnet,
} from './resnet.js';
import { VanResNet } from './van-resnet.js';

/**
 * Every model the registry builds by name: the seed's VanResNet, torchvision's ResNets and
 * `resnet18_w16`, ResNet-18 at a quarter of its width.
 */
export const MODEL_NAMES = [
  'vanresnet',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  'resnext50_32x4d',
  'wide_resnet50_2',
  'resnet18_w16',
] as const satisfies readonly ('vanresnet' | ResNetName)[];

/** A name in {@link MODEL_NAMES}. */
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * Everything needed to rebuild a model before loading its weights; written into every
 * weights file (see `encodeWeightsMeta`) so a file can be loaded without knowing its model.
 */
export interface ModelSpec {
  name: ModelName;
  inChannels: number;
  /** Height and width of the square images the model was built for. */
  inputSize: number;
  numClasses: number;
  /** ResNets only: the stem (`'cifar'` when absent, as files written before stems existed). */
  stem?: ResNetStem;
}

/** True when `name` is in {@link MODEL_NAMES}. */
export function isModelName(name: unknown): name is ModelName {
  return typeof name === 'string' && (MODEL_NAMES as readonly string[]).includes(name);
}

function checkName(name: unknown, where: string): asserts name is ModelName {
  if (!isModelName(name)) {
    throw new ValueError(
      `${where}: unknown model ${formatValue(name)}; expected one of ${MODEL_NAMES.join(', ')}`,
    );
  }
}

function checkCount(where: string, option: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new ValueError(`${where}: ${option} must be an integer >= 1, got ${formatValue(value)}`);
  }
}

/**
 * The spec of `name` for images of `inputSize`² × `inChannels`. ResNets get the CIFAR stem
 * below 64 pixels, because ImageNet's stem shrinks a 32×32 image to 1×1 before the last stage.
 */
export function modelSpec(
  name: ModelName,
  options: { inChannels: number; inputSize: number; numClasses: number },
): ModelSpec {
  checkName(name, 'modelSpec');
  const { inChannels, inputSize, numClasses } = options;
  for (const [option, value] of Object.entries({ inChannels, inputSize, numClasses })) {
    checkCount('modelSpec', option, value);
  }
  if (name === 'vanresnet') return { name, inChannels, inputSize, numClasses };
  return { name, inChannels, inputSize, numClasses, stem: inputSize < 64 ? 'cifar' : 'imagenet' };
}

/** Builds the model a spec describes, initialised from `generator`. */
export function buildModel(spec: ModelSpec, generator?: Generator): Module {
  checkName(spec.name, 'buildModel');
  if (spec.name === 'vanresnet') {
    return new VanResNet({
      inChannels: spec.inChannels,
      inputSize: spec.inputSize,
      numClasses: spec.numClasses,
      generator,
    });
  }
  return resnet(spec.name, {
    inChannels: spec.inChannels,
    numClasses: spec.numClasses,
    stem: spec.stem ?? 'cifar',
    generator,
  });
}

/** The size of a model's state dict, known from its spec alone. */
export interface StateDictSize {
  /** Entries of the state dict (parameters and persistent buffers). */
  tensors: number;
  /** Numbers in all of them together. */
  elements: number;
  /** Numbers in the trainable parameters alone, as `Module.numParameters()`. */
  parameters: number;
}

/** A tensor whose shape a spec fixes, keyed by its state-dict name. */
export type SpecShapes = Record<string, number[]>;

/** Side of VanResNet's last feature map after its three 2×2 max-pools. */
function vanResNetSide(inputSize: number): number {
  return Math.floor(Math.floor(Math.floor(inputSize / 2) / 2) / 2);
}

// VanResNet's fixed widths (its defaults; the spec does not carry them).
const VAN_FILTERS = 32;
const VAN_WIDE = 64;
const VAN_HIDDEN = 32;

/**
 * The shapes of the tensors that depend on a spec's numbers (input channels, input size,
 * classes, stem), in the layout resnet-ts writes (HWIO filters, `[in, out]` linear weights).
 * A weights file whose metadata disagrees with these shapes is refused before any model is
 * built.
 */
export function specShapes(spec: ModelSpec): SpecShapes {
  checkName(spec.name, 'specShapes');
  const { inChannels: c, numClasses: n } = spec;
  if (spec.name === 'vanresnet') {
    const side = vanResNetSide(spec.inputSize);
    return {
      'conv1.weight': [3, 3, c, VAN_FILTERS],
      'fc1.weight': [side * side * VAN_WIDE, VAN_HIDDEN],
      'fc2.weight': [VAN_HIDDEN, n],
      'fc2.bias': [n],
    };
  }
  const arch: ResNetArchitecture = RESNET_ARCHITECTURES[spec.name];
  const k = (spec.stem ?? 'cifar') === 'imagenet' ? 7 : 3;
  const width = arch.width ?? 64;
  return {
    'conv1.weight': [k, k, c, width],
    'fc.weight': [8 * width * arch.block.expansion, n],
    'fc.bias': [n],
  };
}

const conv = (k: number, cin: number, cout: number, groups = 1) => k * k * (cin / groups) * cout;

/**
 * The size of the state dict {@link buildModel} would allocate for `spec`, counted from the
 * architecture table without building anything, so a file's tensors can be checked against
 * it first.
 */
export function stateDictSize(spec: ModelSpec): StateDictSize {
  checkName(spec.name, 'stateDictSize');
  const { inChannels: c, numClasses: n } = spec;
  let tensors = 0;
  let parameters = 0;
  let buffers = 0;
  const addConv = (k: number, cin: number, cout: number, groups = 1, bias = false) => {
    tensors += bias ? 2 : 1;
    parameters += conv(k, cin, cout, groups) + (bias ? cout : 0);
  };
  // BatchNorm2d: weight and bias, running mean and variance, num_batches_tracked.
  const addNorm = (ch: number) => {
    tensors += 5;
    parameters += 2 * ch;
    buffers += 2 * ch + 1;
  };
  const addLinear = (fin: number, fout: number) => {
    tensors += 2;
    parameters += fin * fout + fout;
  };
  if (spec.name === 'vanresnet') {
    const side = vanResNetSide(spec.inputSize);
    addConv(3, c, VAN_FILTERS, 1, true);
    addConv(3, VAN_FILTERS, VAN_WIDE, 1, true);
    addConv(3, VAN_WIDE, VAN_WIDE, 1, true);
    addLinear(side * side * VAN_WIDE, VAN_HIDDEN);
    addLinear(VAN_HIDDEN, n);
    return { tensors, elements: parameters, parameters };
  }
  const arch: ResNetArchitecture = RESNET_ARCHITECTURES[spec.name];
  const expansion = arch.block.expansion;
  const groups = arch.groups ?? 1;
  const baseWidth = arch.widthPerGroup ?? 64;
  const base = arch.width ?? 64;
  addConv((spec.stem ?? 'cifar') === 'imagenet' ? 7 : 3, c, base);
  addNorm(base);
  let inplanes = base;
  [base, 2 * base, 4 * base, 8 * base].forEach((planes, stage) => {
    const out = planes * expansion;
    for (let i = 0; i < arch.layers[stage]; i++) {
      if (i === 0 && (stage > 0 || inplanes !== out)) {
        addConv(1, inplanes, out);
        addNorm(out);
      }
      if (arch.block === BasicBlock) {
        addConv(3, inplanes, planes);
        addNorm(planes);
        addConv(3, planes, planes);
        addNorm(planes);
      } else {
        const width = Math.floor(planes * (baseWidth / 64)) * groups;
        addConv(1, inplanes, width);
        addNorm(width);
        addConv(3, width, width, groups);
        addNorm(width);
        addConv(1, width, out);
        addNorm(out);
      }
      inplanes = out;
    }
  });
  addLinear(8 * base * expansion, n);
  return { tensors, elements: parameters + buffers, parameters };
}
