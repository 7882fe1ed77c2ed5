import { defaultGenerator, formatValue, type Generator, Module, ValueError } from '@resnet-ts/core';
import {
  AdaptiveAvgPool2d,
  BasicBlock,
  BatchNorm2d,
  Bottleneck,
  Conv2d,
  flatten,
  Identity,
  kaimingNormal,
  Linear,
  MaxPool2d,
  makeDownsample,
  ones,
  ReLU,
  Sequential,
  zeros,
} from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';

/** A residual block class with torchvision's constructor and its class-level `expansion`. */
export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

/** The first layers of a {@link ResNet}, before `layer1`. */
export type ResNetStem = 'imagenet' | 'cifar';

/** Options of {@link ResNet} and of the `resnet18` … `resnet152` builders, as torchvision's. */
export interface ResNetOptions {
  /** Number of output logits. Default 1000 (ImageNet). */
  numClasses?: number;
  /**
   * Start the last BatchNorm of each residual branch at zero, so every block begins as the
   * identity; Goyal et al. 2017 ("Accurate, Large Minibatch SGD") report ~0.2–0.3% better
   * accuracy with it. Default false.
   */
  zeroInitResidual?: boolean;
  /** Groups of each Bottleneck's 3×3 convolution (ResNeXt). Default 1. */
  groups?: number;
  /** Channels per group of each Bottleneck's 3×3 convolution (Wide ResNet: 128). Default 64. */
  widthPerGroup?: number;
  /**
   * `'imagenet'` (default): 7×7 stride-2 convolution and 3×3 stride-2 max-pool, as
   * torchvision, for 224×224 images. `'cifar'`: a 3×3 stride-1 convolution and no pool,
   * which keeps 32×32 images from shrinking to 1×1 before `layer4`.
   */
  stem?: ResNetStem;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /**
   * Channels of the first stage; each later stage doubles them. Default 64, torchvision's
   * only width; 16 gives a network with 1/16 of the numbers, for small datasets and quick runs.
   */
  width?: number;
  /** Source of the initial weights; default the process-wide default generator. */
  generator?: Generator;
}

/**
 * torchvision's ResNet on NHWC inputs: stem (`conv1`, `bn1`, `relu`, `maxpool`), four stages
 * `layer1` … `layer4` of residual blocks, global average pool and `fc`. State-dict keys and
 * parameter counts equal torchvision's for the same options. Build it through
 * {@link resnet18} … {@link resnet152}, or directly with any block and depths.
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  /** MaxPool2d(3, stride 2, padding 1), or Identity with the CIFAR stem. */
  readonly maxpool: MaxPool2d | Identity;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  /** The classifier; replace it to fine-tune on other classes: `model.fc = new Linear(512, k)`. */
  fc: Linear;
  /** The block class of every stage. */
  readonly block: ResNetBlock;
  /** Blocks per stage. */
  readonly layers: readonly [number, number, number, number];
  /** The stem this network was built with. */
  readonly stem: ResNetStem;
  private inplanes: number;
  private readonly groups: number;
  private readonly baseWidth: number;
  private readonly generator: Generator;

  constructor(block: ResNetBlock, layers: readonly number[], options: ResNetOptions = {}) {
    super();
    const {
      numClasses = 1000,
      zeroInitResidual = false,
      groups = 1,
      widthPerGroup = 64,
      stem = 'imagenet',
      inChannels = 3,
      width = 64,
    } = options;
    if (layers.length !== 4 || !layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new ValueError(
        `ResNet: layers must be four block counts >= 1 such as [2,2,2,2], got ${formatValue(layers)}`,
      );
    }
    for (const [option, value] of Object.entries({
      numClasses,
      groups,
      widthPerGroup,
      inChannels,
      width,
    })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ValueError(
          `ResNet: ${option} must be an integer >= 1, got ${formatValue(value)}`,
        );
      }
    }
    // Checked here, before any weight exists, rather than by the first block halfway through.
    if (block === BasicBlock && (groups !== 1 || widthPerGroup !== 64)) {
      throw new ValueError(
        `ResNet: BasicBlock supports only groups=1 and widthPerGroup=64 (as torchvision), got groups=${groups}, widthPerGroup=${widthPerGroup}`,
      );
    }
    if (stem !== 'imagenet' && stem !== 'cifar') {
      throw new ValueError(`ResNet: stem must be 'imagenet' or 'cifar', got ${formatValue(stem)}`);
    }
    this.block = block;
    this.layers = [layers[0], layers[1], layers[2], layers[3]];
    this.stem = stem;
    this.groups = groups;
    this.baseWidth = widthPerGroup;
    this.inplanes = width;
    this.generator = options.generator ?? defaultGenerator();
    const generator = this.generator;

    this.conv1 = this.registerModule(
      'conv1',
      stem === 'imagenet'
        ? new Conv2d(inChannels, width, 7, { stride: 2, padding: 3, bias: false, generator })
        : new Conv2d(inChannels, width, 3, { stride: 1, padding: 1, bias: false, generator }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule(
      'maxpool',
      stem === 'imagenet' ? new MaxPool2d(3, { stride: 2, padding: 1 }) : new Identity(),
    );
    this.layer1 = this.registerModule('layer1', this.makeLayer(width, layers[0], 1));
    this.layer2 = this.registerModule('layer2', this.makeLayer(2 * width, layers[1], 2));
    this.layer3 = this.registerModule('layer3', this.makeLayer(4 * width, layers[2], 2));
    this.layer4 = this.registerModule('layer4', this.makeLayer(8 * width, layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.fc = this.registerModule(
      'fc',
      new Linear(8 * width * block.expansion, numClasses, { generator }),
    );

    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal(m.weight, { mode: 'fan_out', nonlinearity: 'relu', generator });
      } else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        ones(m.weight);
        zeros(m.bias);
      }
    }
    if (zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) zeros(m.bn3.getParameter('weight'));
        else if (m instanceof BasicBlock) zeros(m.bn2.getParameter('weight'));
      }
    }
  }

  /** One stage, as torchvision's `_make_layer`: the first block strides and projects. */
  private makeLayer(planes: number, blocks: number, stride: number): Sequential {
    const { block, groups, baseWidth, generator } = this;
    const outPlanes = planes * block.expansion;
    const downsample =
      stride !== 1 || this.inplanes !== outPlanes
        ? makeDownsample(this.inplanes, outPlanes, { stride, generator })
        : null;
    const stage = new Sequential(
      new block(this.inplanes, planes, { stride, downsample, groups, baseWidth, generator }),
    );
    this.inplanes = outPlanes;
    for (let i = 1; i < blocks; i++) {
      stage.append(new block(this.inplanes, planes, { groups, baseWidth, generator }));
    }
    return stage;
  }

  /** Logits `[batch, numClasses]` for an NHWC batch `[batch, height, width, inChannels]`. */
  override forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      let y: tf.Tensor = this.conv1.forward(x);
      y = this.bn1.forward(y);
      y = this.relu.forward(y);
      y = this.maxpool.forward(y);

      y = this.layer1.forward(y);
      y = this.layer2.forward(y);
      y = this.layer3.forward(y);
      y = this.layer4.forward(y);

      y = this.avgpool.forward(y);
      y = flatten(y);
      return this.fc.forward(y) as tf.Tensor2D;
    });
  }
}

/** One member of the family: its block, blocks per stage and fixed options. */
export interface ResNetArchitecture {
  block: ResNetBlock;
  layers: readonly [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
  /** Channels of the first stage when not torchvision's 64. */
  width?: number;
}

/**
 * torchvision's ResNet family as data (He et al. 2015, Table 1; Xie et al. 2017; Zagoruyko &
 * Komodakis 2016). Every builder below is one row of it.
 */
export const RESNET_ARCHITECTURES = {
  resnet18: { block: BasicBlock, layers: [2, 2, 2, 2] },
  resnet34: { block: BasicBlock, layers: [3, 4, 6, 3] },
  resnet50: { block: Bottleneck, layers: [3, 4, 6, 3] },
  resnet101: { block: Bottleneck, layers: [3, 4, 23, 3] },
  resnet152: { block: Bottleneck, layers: [3, 8, 36, 3] },
  resnext50_32x4d: { block: Bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  wide_resnet50_2: { block: Bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128 },
  // Not torchvision's: ResNet-18 at a quarter of its width (16, 32, 64, 128 channels; 0.7 M
  // parameters), small enough to commit pretrained weights for tests and to train on a CPU.
  resnet18_w16: { block: BasicBlock, layers: [2, 2, 2, 2], width: 16 },
} as const satisfies Record<string, ResNetArchitecture>;

/** The name of a row of {@link RESNET_ARCHITECTURES}. */
export type ResNetName = keyof typeof RESNET_ARCHITECTURES;

/** Builds the named member of the family; the row's groups and widths override the options'. */
export function resnet(name: ResNetName, options: ResNetOptions = {}): ResNet {
  if (!Object.hasOwn(RESNET_ARCHITECTURES, name)) {
    throw new ValueError(
      `resnet: unknown architecture ${formatValue(name)}; expected one of ${Object.keys(RESNET_ARCHITECTURES).join(', ')}`,
    );
  }
  const arch: ResNetArchitecture = RESNET_ARCHITECTURES[name];
  const { groups, widthPerGroup, width } = arch;
  return new ResNet(arch.block, arch.layers, {
    ...options,
    ...(groups !== undefined && { groups }),
    ...(widthPerGroup !== undefined && { widthPerGroup }),
    ...(width !== undefined && { width }),
  });
}

/** ResNet-18 (BasicBlock, [2, 2, 2, 2]); 11,689,512 parameters with 1000 classes. */
export const resnet18 = (options?: ResNetOptions): ResNet => resnet('resnet18', options);
/** ResNet-34 (BasicBlock, [3, 4, 6, 3]); 21,797,672 parameters with 1000 classes. */
export const resnet34 = (options?: ResNetOptions): ResNet => resnet('resnet34', options);
/** ResNet-50 (Bottleneck, [3, 4, 6, 3]); 25,557,032 parameters with 1000 classes. */
export const resnet50 = (options?: ResNetOptions): ResNet => resnet('resnet50', options);
/** ResNet-101 (Bottleneck, [3, 4, 23, 3]); 44,549,160 parameters with 1000 classes. */
export const resnet101 = (options?: ResNetOptions): ResNet => resnet('resnet101', options);
/** ResNet-152 (Bottleneck, [3, 8, 36, 3]); 60,192,808 parameters with 1000 classes. */
export const resnet152 = (options?: ResNetOptions): ResNet => resnet('resnet152', options);
/** ResNeXt-50 32×4d (Bottleneck, 32 groups of width 4); 25,028,904 parameters. */
export const resnext50_32x4d = (options?: ResNetOptions): ResNet =>
  resnet('resnext50_32x4d', options);
/** Wide ResNet-50-2 (Bottleneck, width 128 per group); 68,883,240 parameters. */
export const wide_resnet50_2 = (options?: ResNetOptions): ResNet =>
  resnet('wide_resnet50_2', options);
