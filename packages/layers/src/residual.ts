import { formatValue, type Generator, Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { ReLU } from './activation.js';
import { BatchNorm2d } from './batch-norm.js';
import { call, Sequential } from './containers.js';
import { Conv2d } from './conv.js';
import { integer } from './validate.js';

/** Builds the normalisation layer of a block from its channel count (default BatchNorm2d). */
export type NormLayer = (numFeatures: number) => Module;

const batchNorm2d: NormLayer = (n) => new BatchNorm2d(n);

/** 3×3 convolution with padding = dilation and no bias, as torchvision's `conv3x3`. */
export function conv3x3(
  inPlanes: number,
  outPlanes: number,
  {
    stride = 1,
    groups = 1,
    dilation = 1,
    generator,
  }: { stride?: number; groups?: number; dilation?: number; generator?: Generator } = {},
): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, {
    stride,
    padding: dilation,
    groups,
    dilation,
    bias: false,
    generator,
  });
}

/** 1×1 convolution without bias, as torchvision's `conv1x1`. */
export function conv1x1(
  inPlanes: number,
  outPlanes: number,
  { stride = 1, generator }: { stride?: number; generator?: Generator } = {},
): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false, generator });
}

/**
 * torchvision's projection shortcut: `Sequential(conv1x1(inPlanes, outPlanes, stride),
 * BatchNorm2d(outPlanes))`, so its keys read `downsample.0.weight`, `downsample.1.running_var`.
 */
export function makeDownsample(
  inPlanes: number,
  outPlanes: number,
  {
    stride = 1,
    normLayer = batchNorm2d,
    generator,
  }: { stride?: number; normLayer?: NormLayer; generator?: Generator } = {},
): Sequential {
  return new Sequential(conv1x1(inPlanes, outPlanes, { stride, generator }), normLayer(outPlanes));
}

function addShortcut(label: string, out: tf.Tensor, identity: tf.Tensor): tf.Tensor {
  if (out.shape.join() !== identity.shape.join()) {
    throw new ValueError(
      `${label}: the main path gives shape ${formatValue(out.shape)} but the shortcut ${formatValue(identity.shape)}; a block that changes stride or channels needs a downsample (see makeDownsample)`,
    );
  }
  return tf.add(out, identity);
}

/**
 * A generic residual connection: `main(x) + shortcut(x)`, with the identity as the default
 * shortcut. Children are registered as `main` and (when given) `shortcut`.
 */
export class ResidualBlock extends Module {
  readonly main: Module;
  readonly shortcut: Module | null;

  constructor(main: Module, shortcut?: Module | null) {
    super();
    this.main = this.registerModule('main', main);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const identity = this.shortcut ? call(this.shortcut, x) : x;
      return addShortcut(this.label, call(this.main, x), identity);
    });
  }
}

/** Options of {@link BasicBlock} and {@link Bottleneck}, as torchvision's constructor arguments. */
export interface BlockOptions {
  /** Stride of the 3×3 convolution; default 1. */
  stride?: number;
  /** Shortcut applied to the input when stride or channels change (see {@link makeDownsample}). */
  downsample?: Module | null;
  /** Groups of the 3×3 convolution (ResNeXt); default 1. */
  groups?: number;
  /** Width per group (torchvision's `base_width`); default 64. */
  baseWidth?: number;
  /** Dilation of the 3×3 convolution; default 1. */
  dilation?: number;
  /** Normalisation layer factory; default BatchNorm2d. */
  normLayer?: NormLayer;
  /** Source of the initial weights; default the process-wide default generator. */
  generator?: Generator;
}

/**
 * torchvision's ResNet-18/34 block: conv3x3(stride) → bn → relu → conv3x3 → bn, plus the
 * identity (or `downsample(x)`), then relu. State-dict keys equal torchvision's.
 */
export class BasicBlock extends Module {
  /** Output channels = planes × expansion. */
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: Module;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: Module;
  readonly downsample: Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: BlockOptions = {}) {
    super();
    const { stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1 } = options;
    const { normLayer = batchNorm2d, generator } = options;
    if (groups !== 1 || baseWidth !== 64) {
      throw new ValueError(
        `${this.typeName}: only groups=1 and baseWidth=64 are supported, got groups=${groups}, baseWidth=${baseWidth}`,
      );
    }
    if (dilation > 1) {
      throw new ValueError(`${this.typeName}: dilation > 1 is not supported, got ${dilation}`);
    }
    this.stride = integer(this.typeName, 'stride', stride, 1);
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, { stride, generator }));
    this.bn1 = this.registerModule('bn1', normLayer(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, { generator }));
    this.bn2 = this.registerModule('bn2', normLayer(planes));
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let identity = x;
      let out = this.relu.forward(call(this.bn1, this.conv1.forward(x)));
      out = call(this.bn2, this.conv2.forward(out));
      if (this.downsample) identity = call(this.downsample, x);
      return this.relu.forward(addShortcut(this.label, out, identity));
    });
  }
}

/**
 * torchvision's ResNet-50/101/152 block (ResNet v1.5: stride on the 3×3): conv1x1 → bn →
 * relu → conv3x3(stride, groups, dilation) → bn → relu → conv1x1 (×4 channels) → bn, plus the
 * identity (or `downsample(x)`), then relu. State-dict keys equal torchvision's.
 */
export class Bottleneck extends Module {
  /** Output channels = planes × expansion. */
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: Module;
  readonly conv2: Conv2d;
  readonly bn2: Module;
  readonly conv3: Conv2d;
  readonly bn3: Module;
  readonly relu: ReLU;
  readonly downsample: Module | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: BlockOptions = {}) {
    super();
    const { stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1 } = options;
    const { normLayer = batchNorm2d, generator } = options;
    this.stride = integer(this.typeName, 'stride', stride, 1);
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, width, { generator }));
    this.bn1 = this.registerModule('bn1', normLayer(width));
    this.conv2 = this.registerModule(
      'conv2',
      conv3x3(width, width, { stride, groups, dilation, generator }),
    );
    this.bn2 = this.registerModule('bn2', normLayer(width));
    this.conv3 = this.registerModule(
      'conv3',
      conv1x1(width, planes * Bottleneck.expansion, { generator }),
    );
    this.bn3 = this.registerModule('bn3', normLayer(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = downsample ? this.registerModule('downsample', downsample) : null;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let identity = x;
      let out = this.relu.forward(call(this.bn1, this.conv1.forward(x)));
      out = this.relu.forward(call(this.bn2, this.conv2.forward(out)));
      out = call(this.bn3, this.conv3.forward(out));
      if (this.downsample) identity = call(this.downsample, x);
      return this.relu.forward(addShortcut(this.label, out, identity));
    });
  }
}
