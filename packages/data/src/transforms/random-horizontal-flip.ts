import { defaultGenerator, type Generator } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { hflip } from './functional.js';
import type { Transform } from './transform.js';

/**
 * Mirrors the image left to right with probability `p`, as
 * `torchvision.transforms.RandomHorizontalFlip`: one `generator.random() < p` draw per image.
 */
export class RandomHorizontalFlip implements Transform {
  constructor(
    readonly p = 0.5,
    private readonly options: { generator?: Generator } = {},
  ) {}

  /** The generator drawn from: the one given, else core's default generator at call time. */
  get generator(): Generator {
    return this.options.generator ?? defaultGenerator();
  }

  apply(input: HWCImage): HWCImage {
    return this.generator.random() < this.p ? hflip(input) : input;
  }
}
