import { type Generator, Module, type Parameter, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  type Conv2dPadding,
  type ConvGeometry,
  conv2dWithGeometry,
  convGeometry,
} from './functional/conv2d.js';
import { resetLinearLike } from './init.js';
import { integer, type Pair } from './validate.js';

/** Options of {@link Conv2d}, mirroring `torch.nn.Conv2d`'s keyword arguments. */
export interface Conv2dOptions {
  /** Default 1. */
  stride?: Pair;
  /** Zero padding per side; `'same'` (stride 1 only) or `'valid'`. Default 0. */
  padding?: Conv2dPadding;
  /** Default 1. */
  dilation?: Pair;
  /** Channel groups; `groups === inChannels` is a depthwise convolution. Default 1. */
  groups?: number;
  /** Learn an additive bias; default true. */
  bias?: boolean;
  /** Source of the initial weights; default the process-wide default generator. */
  generator?: Generator;
}

/**
 * 2-D convolution over NHWC batches, as `torch.nn.Conv2d`. The weight is HWIO
 * `[kh, kw, in/groups, out]` (PyTorch: OIHW; see `oihwToHwio`), the bias `[out]`.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Resolved geometry: kernel, stride, `[[top, bottom], [left, right]]` padding, dilation, groups. */
  readonly geometry: ConvGeometry;
  private readonly paddingOption: Conv2dPadding;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    const label = this.typeName;
    this.inChannels = integer(label, 'inChannels', inChannels, 1);
    this.outChannels = integer(label, 'outChannels', outChannels, 1);
    this.geometry = convGeometry(label, kernelSize, options);
    this.paddingOption = options.padding ?? 0;
    const groups = this.geometry.groups;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ValueError(
        `${label}: groups=${groups} must divide both inChannels=${inChannels} and outChannels=${outChannels}`,
      );
    }
    const [kh, kw] = this.geometry.kernel;
    this.weight = this.registerParameter(
      'weight',
      tf.zeros([kh, kw, inChannels / groups, outChannels]),
    );
    this.bias =
      options.bias === false ? null : this.registerParameter('bias', tf.zeros([outChannels]));
    resetLinearLike(this.weight, this.bias, options.generator);
  }

  override forward(x: tf.Tensor): tf.Tensor4D {
    return conv2dWithGeometry(this.label, x, this.weight, this.bias, this.geometry);
  }

  override extraRepr(): string {
    const g = this.geometry;
    const t = (p: [number, number]) => `(${p[0]}, ${p[1]})`;
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=${t(g.kernel)}`];
    parts.push(`stride=${t(g.stride)}`);
    const p = this.paddingOption;
    if (typeof p === 'string') parts.push(`padding=${p}`);
    else if (p !== 0 && !(Array.isArray(p) && p[0] === 0 && p[1] === 0))
      parts.push(`padding=${t([g.padding[0][0], g.padding[1][0]])}`);
    if (g.dilation[0] !== 1 || g.dilation[1] !== 1) parts.push(`dilation=${t(g.dilation)}`);
    if (g.groups !== 1) parts.push(`groups=${g.groups}`);
    if (!this.bias) parts.push('bias=False');
    return parts.join(', ');
  }
}
