import { Module } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type AdaptiveSize,
  type AvgPool2dOptions,
  adaptiveAvgPool2dWithSize,
  avgPool2dWithGeometry,
  type MaxPool2dOptions,
  maxPool2dWithGeometry,
  type PoolGeometry,
  poolGeometry,
  resolveAdaptiveSize,
} from './functional/pooling.js';
import type { Pair } from './validate.js';

const tuple = (p: [number, number]) => (p[0] === p[1] ? `${p[0]}` : `(${p[0]}, ${p[1]})`);

/** Max pooling over NHWC batches, as `torch.nn.MaxPool2d` (padding counts as -inf). */
export class MaxPool2d extends Module {
  /** Resolved kernel, stride, padding and ceil mode. */
  readonly geometry: PoolGeometry;

  constructor(kernelSize: Pair, options: MaxPool2dOptions = {}) {
    super();
    this.geometry = poolGeometry(this.typeName, kernelSize, options);
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    return maxPool2dWithGeometry(this.label, x, this.geometry);
  }

  override extraRepr(): string {
    const g = this.geometry;
    return `kernel_size=${tuple(g.kernel)}, stride=${tuple(g.stride)}, padding=${tuple(g.padding)}, dilation=1, ceil_mode=${g.ceilMode ? 'True' : 'False'}`;
  }
}

/** Average pooling over NHWC batches, as `torch.nn.AvgPool2d` (`countIncludePad` true by default). */
export class AvgPool2d extends Module {
  /** Resolved kernel, stride, padding and ceil mode. */
  readonly geometry: PoolGeometry;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: Pair, options: AvgPool2dOptions = {}) {
    super();
    this.geometry = poolGeometry(this.typeName, kernelSize, options);
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    return avgPool2dWithGeometry(
      this.label,
      x,
      this.geometry,
      this.countIncludePad,
      this.divisorOverride,
    );
  }

  override extraRepr(): string {
    const g = this.geometry;
    return `kernel_size=${tuple(g.kernel)}, stride=${tuple(g.stride)}, padding=${tuple(g.padding)}`;
  }
}

/**
 * Average pooling to a fixed output size, as `torch.nn.AdaptiveAvgPool2d`; `1` gives the
 * global average pool at the end of a ResNet.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number | null, number | null];

  constructor(outputSize: AdaptiveSize) {
    super();
    this.outputSize = resolveAdaptiveSize(this.typeName, outputSize);
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    return adaptiveAvgPool2dWithSize(this.label, x, this.outputSize);
  }

  override extraRepr(): string {
    const [h, w] = this.outputSize;
    const s = (v: number | null) => (v === null ? 'None' : String(v));
    return `output_size=${h === w ? s(h) : `(${s(h)}, ${s(w)})`}`;
  }
}
