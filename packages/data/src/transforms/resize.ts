import type { HWCImage } from '../sample.js';
import { resize } from './functional.js';
import { type ResampleOptions, resample } from './resample.js';
import type { Transform } from './transform.js';

/**
 * Resize, as `torchvision.transforms.Resize` on tensors: `size` is `[h, w]`, or a number the
 * shorter edge becomes (e.g. MNIST 28 → 32 for models that expect 32 × 32). Bilinear without
 * antialias unless `options` say otherwise (torchvision 0.14's tensor default);
 * `{ antialias: true }` gives what torchvision gives for PIL images.
 */
export class Resize implements Transform {
  constructor(
    readonly size: number | readonly [number, number],
    readonly options: ResampleOptions = {},
  ) {}

  apply(input: HWCImage): HWCImage {
    if (!this.options.antialias && (this.options.interpolation ?? 'bilinear') === 'bilinear') {
      return resize(input, this.size);
    }
    return resample(input, this.size, this.options);
  }
}
