import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { rgbToGrayscale } from './color.js';
import type { Transform } from './transform.js';

/** Converts to greyscale with 1 or 3 output channels, as `torchvision.transforms.Grayscale`. */
export class Grayscale implements Transform {
  constructor(readonly numOutputChannels: 1 | 3 = 1) {
    if (numOutputChannels !== 1 && numOutputChannels !== 3) {
      throw new ValueError(
        `Grayscale numOutputChannels must be 1 or 3, got ${formatValue(numOutputChannels)}`,
      );
    }
  }

  apply(input: HWCImage): HWCImage {
    return rgbToGrayscale(input, this.numOutputChannels);
  }
}

/**
 * Converts to greyscale with probability `p`, keeping the channel count, as
 * `torchvision.transforms.RandomGrayscale`: one `generator.random() < p` draw per image.
 */
export class RandomGrayscale implements Transform {
  constructor(
    readonly p = 0.1,
    private readonly options: { generator?: Generator } = {},
  ) {}

  /** The generator drawn from: the one given, else core's default generator at call time. */
  get generator(): Generator {
    return this.options.generator ?? defaultGenerator();
  }

  apply(input: HWCImage): HWCImage {
    if (!(this.generator.random() < this.p)) return input;
    return rgbToGrayscale(input, input.shape[2] === 3 ? 3 : 1);
  }
}
