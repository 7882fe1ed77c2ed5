import type { HWCImage } from '../sample.js';
import type { Transform } from './transform.js';

/** Runs transforms in order, as `torchvision.transforms.Compose`. */
export class Compose implements Transform {
  constructor(readonly transforms: readonly Transform[]) {}

  apply(input: HWCImage): HWCImage {
    let out = input;
    for (const t of this.transforms) out = t.apply(out);
    return out;
  }
}

/** Wraps a function as a transform, as `torchvision.transforms.Lambda`. */
export class Lambda implements Transform {
  constructor(readonly fn: (input: HWCImage) => HWCImage) {}

  apply(input: HWCImage): HWCImage {
    return this.fn(input);
  }
}
