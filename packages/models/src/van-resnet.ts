import { formatValue, type Generator, Module, maxPoolRelu, ValueError } from '@resnet-ts/core';
import { Conv2d, flatten, Linear, relu } from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { TorchFlattenedInputs } from './torch-interop.js';

/** Options of {@link VanResNet}; the defaults are the article's CIFAR-10 network. */
export interface VanResNetOptions {
  /** Channels of the input images: 3 for CIFAR-10, 1 for MNIST. Default 3. */
  inChannels?: number;
  /** Height and width of the (square) input images: 32 for CIFAR-10, 28 for MNIST. Default 32. */
  inputSize?: number;
  /** Number of output logits. Default 10. */
  numClasses?: number;
  /** Filters of the first convolution (the article's `n_chans1`). Default 32. */
  filters?: number;
  /** Factor from the first convolution's filters to the second's and third's. Default 2. */
  growth?: number;
  /** Width of the hidden fully connected layer. Default 32. */
  fcHidden?: number;
  /** Source of the initial weights (PyTorch's default init); default the process-wide one. */
  generator?: Generator;
}

function positiveInt(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValueError(`VanResNet: ${option} must be an integer >= 1, got ${formatValue(value)}`);
  }
  return value;
}

/** Side of a square feature map after the network's three 2×2 max-pools (floor division). */
function pooledSide(size: number): number {
  return Math.floor(Math.floor(Math.floor(size / 2) / 2) / 2);
}

/**
 * The "vanilla ResNet" of the seed article (Abhishek Bose, "ResNet — 101 with PyTorch"):
 * three 3×3 convolutions with max-pooling and one skip connection around the third, then two
 * fully connected layers. Inputs are NHWC `[batch, inputSize, inputSize, inChannels]`; the
 * output is `[batch, numClasses]` logits. Parameter names match the article's PyTorch module
 * (`conv1.weight` … `fc2.bias`); with the defaults it has 89,450 parameters.
 */
export class VanResNet extends Module implements TorchFlattenedInputs {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;
  /** The options with every default filled in. */
  readonly options: Readonly<Required<Omit<VanResNetOptions, 'generator'>>>;
  /**
   * fc1 reads the flattened `[channels, side, side]` map of the last pool, which PyTorch
   * flattens channels-first and we flatten channels-last.
   */
  readonly torchFlattenedInputs: Readonly<Record<string, readonly [number, number, number]>>;

  constructor(options: VanResNetOptions = {}) {
    super();
    const inChannels = positiveInt('inChannels', options.inChannels ?? 3);
    const inputSize = positiveInt('inputSize', options.inputSize ?? 32);
    const numClasses = positiveInt('numClasses', options.numClasses ?? 10);
    const filters = positiveInt('filters', options.filters ?? 32);
    const growth = positiveInt('growth', options.growth ?? 2);
    const fcHidden = positiveInt('fcHidden', options.fcHidden ?? 32);
    if (inputSize < 8) {
      throw new ValueError(
        `VanResNet: inputSize must be at least 8 (three 2×2 max-pools), got ${inputSize}`,
      );
    }
    this.options = { inChannels, inputSize, numClasses, filters, growth, fcHidden };
    const { generator } = options;
    const wide = filters * growth;
    const side = pooledSide(inputSize);
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(inChannels, filters, 3, { padding: 1, generator }),
    );
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d(filters, wide, 3, { padding: 1, generator }),
    );
    this.conv3 = this.registerModule('conv3', new Conv2d(wide, wide, 3, { padding: 1, generator }));
    this.fc1 = this.registerModule('fc1', new Linear(side * side * wide, fcHidden, { generator }));
    this.fc2 = this.registerModule('fc2', new Linear(fcHidden, numClasses, { generator }));
    this.torchFlattenedInputs = { fc1: [wide, side, side] };
  }

  /** Logits `[batch, numClasses]` for an NHWC batch `[batch, inputSize, inputSize, inChannels]`. */
  override forward(input: tf.Tensor): tf.Tensor2D {
    this.checkInput(input);
    return tf.tidy(() => {
      // The article pools after each ReLU; the ReLU runs after the pooling here, on a
      // quarter of the elements, and in the pooling's kernel where the backend has one
      // (maxPoolRelu). ReLU is monotone, so max and ReLU commute: the values are the same,
      // and so are the gradients (a window whose maximum is not positive passes none back
      // either way; a positive maximum is the same element either way).
      const pool = (t: tf.Tensor) => maxPoolRelu(t as tf.Tensor4D, 2, 2);
      let x: tf.Tensor = pool(this.conv1.forward(input));
      x = pool(this.conv2.forward(x));
      const x1 = x;
      // The skip joins before the ReLU and the pooling, as in the article's Fig 5.
      x = pool(tf.add(this.conv3.forward(x), x1));
      x = flatten(x);
      x = relu(this.fc1.forward(x));
      return this.fc2.forward(x) as tf.Tensor2D;
    });
  }

  /** fc1 fixes the pooled size, so a wrong image size is reported here, not as a matMul error. */
  private checkInput(x: tf.Tensor): void {
    const { inChannels, inputSize } = this.options;
    const expected = `[batch, ${inputSize}, ${inputSize}, ${inChannels}]`;
    if (x.rank !== 4) {
      throw new ValueError(
        `${this.label}: expected an NHWC batch ${expected}, got shape ${formatValue(x.shape)}`,
      );
    }
    const side = pooledSide(inputSize);
    const [, h, w] = x.shape;
    if (pooledSide(h) !== side || pooledSide(w) !== side) {
      throw new ValueError(
        `${this.label}: expected an NHWC batch ${expected}, got shape ${formatValue(x.shape)} (it pools to ${pooledSide(h)}×${pooledSide(w)}, fc1 was built for ${side}×${side})`,
      );
    }
  }

  override extraRepr(): string {
    const o = this.options;
    return `in_channels=${o.inChannels}, input_size=${o.inputSize}, num_classes=${o.numClasses}`;
  }
}
