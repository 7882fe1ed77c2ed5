import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { axisMap, type Padding, type PaddingMode, paddingSides, remap } from './functional.js';
import type { Transform } from './transform.js';

/** Options of {@link RandomCrop}, as `torchvision.transforms.RandomCrop`'s kwargs. */
export interface RandomCropOptions {
  /** Padding applied before cropping (default none). */
  padding?: Padding;
  /** Pad images smaller than the crop (default false). */
  padIfNeeded?: boolean;
  /** Value of `constant` padding (default 0). */
  fill?: number;
  /** Default `'constant'`. */
  paddingMode?: PaddingMode;
  /** The randomness; default: core's default generator at call time. */
  generator?: Generator;
}

/**
 * A random `size` window, optionally of the padded image, as
 * `torchvision.transforms.RandomCrop`. The offsets are drawn as torchvision draws them (top,
 * then left, each uniform over the valid range; no draw when the image is exactly the crop
 * size), and padding and cropping happen in one pass without building the padded image.
 */
export class RandomCrop implements Transform {
  readonly size: [number, number];
  readonly padding: [number, number, number, number];
  readonly padIfNeeded: boolean;
  readonly fill: number;
  readonly paddingMode: PaddingMode;
  private readonly ownGenerator: Generator | undefined;

  constructor(size: number | readonly [number, number], options: RandomCropOptions = {}) {
    this.size = typeof size === 'number' ? [size, size] : [size[0], size[1]];
    if (!this.size.every((s) => Number.isInteger(s) && s > 0)) {
      throw new ValueError(
        `RandomCrop size must be a positive integer or [h, w], got ${formatValue(size)}`,
      );
    }
    this.padding = paddingSides(options.padding ?? 0);
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = options.fill ?? 0;
    this.paddingMode = options.paddingMode ?? 'constant';
    this.ownGenerator = options.generator;
  }

  /** The generator drawn from. */
  get generator(): Generator {
    return this.ownGenerator ?? defaultGenerator();
  }

  /** Offsets `[top, left]` for an image of `height × width` (already padded), as torchvision's `get_params`. */
  static getParams(
    height: number,
    width: number,
    size: readonly [number, number],
    generator: Generator,
  ): [number, number] {
    const [th, tw] = size;
    if (height < th || width < tw) {
      throw new ValueError(
        `RandomCrop size ${formatValue(size)} is larger than the (padded) image ${formatValue([height, width])}`,
      );
    }
    if (height === th && width === tw) return [0, 0];
    const top = generator.randint(height - th + 1);
    const left = generator.randint(width - tw + 1);
    return [top, left];
  }

  /** The padded sides for an input of `height × width`, `padIfNeeded` included. */
  paddedSides(height: number, width: number): [number, number, number, number] {
    const [left, top, right, bottom] = this.padding;
    const sides: [number, number, number, number] = [left, top, right, bottom];
    if (this.padIfNeeded) {
      const w = width + left + right;
      const h = height + top + bottom;
      if (w < this.size[1]) {
        sides[0] += this.size[1] - w;
        sides[2] += this.size[1] - w;
      }
      if (h < this.size[0]) {
        sides[1] += this.size[0] - h;
        sides[3] += this.size[0] - h;
      }
    }
    return sides;
  }

  /** Row and column source maps of the crop at padded-image offsets (`top`, `left`). */
  maps(input: HWCImage, top: number, left: number): { rows: Int32Array; cols: Int32Array } {
    const [h, w] = input.shape;
    const [pl, pt] = this.paddedSides(h, w);
    return {
      rows: axisMap(top - pt, this.size[0], h, this.paddingMode),
      cols: axisMap(left - pl, this.size[1], w, this.paddingMode),
    };
  }

  /** Draws the offsets for `input` and returns their source maps. */
  drawMaps(input: HWCImage): { rows: Int32Array; cols: Int32Array } {
    const [h, w] = input.shape;
    const [pl, pt, pr, pb] = this.paddedSides(h, w);
    const [top, left] = RandomCrop.getParams(h + pt + pb, w + pl + pr, this.size, this.generator);
    return this.maps(input, top, left);
  }

  /** The crop at padded-image offsets (`top`, `left`), the deterministic half of {@link apply}. */
  cropAt(input: HWCImage, top: number, left: number): HWCImage {
    const { rows, cols } = this.maps(input, top, left);
    return remap(input, rows, cols, this.fill);
  }

  apply(input: HWCImage): HWCImage {
    const { rows, cols } = this.drawMaps(input);
    return remap(input, rows, cols, this.fill);
  }
}
