import type { HWCImage } from '../sample.js';
import { resize } from './functional.js';
import type { Transform } from './transform.js';

/**
 * Bilinear resize, as `torchvision.transforms.Resize` on tensors with `antialias=False`:
 * `size` is `[h, w]`, or a number the shorter edge becomes (e.g. MNIST 28 → 32 for models
 * that expect 32 × 32).
 */
export class Resize implements Transform {
  constructor(readonly size: number | readonly [number, number]) {}

  apply(input: HWCImage): HWCImage {
    return resize(input, this.size);
  }
}
