import type { HWCImage } from '../sample.js';
import { type Padding, type PaddingMode, pad } from './functional.js';
import type { Transform } from './transform.js';

/** Options of {@link Pad}. */
export interface PadOptions {
  /** Value of `constant` padding (default 0). */
  fill?: number;
  /** Default `'constant'`. */
  paddingMode?: PaddingMode;
}

/** Pads every side, as `torchvision.transforms.Pad`. */
export class Pad implements Transform {
  readonly fill: number;
  readonly paddingMode: PaddingMode;

  constructor(
    readonly padding: Padding,
    options: PadOptions = {},
  ) {
    this.fill = options.fill ?? 0;
    this.paddingMode = options.paddingMode ?? 'constant';
  }

  apply(input: HWCImage): HWCImage {
    return pad(input, this.padding, this.fill, this.paddingMode);
  }
}
