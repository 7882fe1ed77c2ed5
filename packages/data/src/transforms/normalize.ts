import type { HWCImage } from '../sample.js';
import { normalize } from './functional.js';
import type { Transform } from './transform.js';

/** `(x - mean[c]) / std[c]` per channel, as `torchvision.transforms.Normalize`; float input. */
export class Normalize implements Transform {
  constructor(
    readonly mean: readonly number[],
    readonly std: readonly number[],
  ) {}

  apply(input: HWCImage): HWCImage {
    return normalize(input, this.mean, this.std);
  }
}
