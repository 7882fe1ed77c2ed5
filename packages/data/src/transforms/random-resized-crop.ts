import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { type CropSize, cropSize } from './center-crop.js';
import { crop } from './functional.js';
import {
  type ResampleOptions,
  type ResizeInterpolation,
  resample,
  resampleCrop,
  roundHalfEven,
} from './resample.js';
import type { Transform } from './transform.js';

/** A crop window: `top`, `left`, `height`, `width` in pixels, as torchvision's `(i, j, h, w)`. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Options of {@link RandomResizedCrop}, as torchvision's kwargs. */
export interface RandomResizedCropOptions extends ResampleOptions {
  /** Range of the crop's area as a fraction of the image's; default `[0.08, 1]`. */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height); default `[3/4, 4/3]`. */
  ratio?: readonly [number, number];
  /** The randomness; default: core's default generator at call time. */
  generator?: Generator;
}

/**
 * Crops `box` and resizes it to `size`, as `torchvision.transforms.functional.resized_crop`.
 */
export function resizedCrop(
  input: HWCImage,
  box: CropBox,
  size: CropSize,
  options: ResampleOptions = {},
): HWCImage {
  const [outH, outW] = cropSize(size, 'resized crop size');
  const [h, w] = input.shape;
  const { top, left, height, width } = box;
  if (
    [top, left, height, width].every(Number.isInteger) &&
    top >= 0 &&
    left >= 0 &&
    height > 0 &&
    width > 0 &&
    top + height <= h &&
    left + width <= w
  ) {
    return resampleCrop(input, top, left, height, width, outH, outW, options);
  }
  // A window reaching outside the image reads zeros there, as torchvision's crop pads.
  return resample(crop(input, top, left, height, width), [outH, outW], options);
}

function checkRange(what: string, r: readonly [number, number], min: number): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !(r[0] >= min) || !(r[1] >= r[0])) {
    throw new ValueError(
      `RandomResizedCrop ${what} must be [min, max] with ${min} <= min <= max, got ${formatValue(r)}`,
    );
  }
  return [r[0], r[1]];
}

/**
 * A random crop of random area and aspect ratio, resized to `size`: the
 * `torchvision.transforms.RandomResizedCrop` of Inception training. The window is drawn as
 * torchvision draws it ({@link RandomResizedCrop.getParams}); the crop and resize equal
 * torchvision's for the same window.
 */
export class RandomResizedCrop implements Transform {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly interpolation: ResizeInterpolation;
  readonly antialias: boolean;
  private readonly ownGenerator: Generator | undefined;

  constructor(size: CropSize, options: RandomResizedCropOptions = {}) {
    this.size = cropSize(size, 'RandomResizedCrop size');
    this.scale = checkRange('scale', options.scale ?? [0.08, 1], 0);
    this.ratio = checkRange('ratio', options.ratio ?? [3 / 4, 4 / 3], Number.MIN_VALUE);
    this.interpolation = options.interpolation ?? 'bilinear';
    this.antialias = options.antialias ?? false;
    this.ownGenerator = options.generator;
  }

  /** The generator drawn from. */
  get generator(): Generator {
    return this.ownGenerator ?? defaultGenerator();
  }

  /**
   * The window for an image of `height × width`, as torchvision's `get_params`: up to 10
   * tries of area `uniform(scale) · H·W` and ratio `exp(uniform(log ratio))`, the first that
   * fits placed uniformly; after 10 misses, the largest central crop whose ratio is within
   * `ratio`.
   */
  static getParams(
    height: number,
    width: number,
    scale: readonly [number, number],
    ratio: readonly [number, number],
    generator: Generator,
  ): CropBox {
    const area = height * width;
    const logLo = Math.log(ratio[0]);
    const logHi = Math.log(ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * generator.uniform(scale[0], scale[1]);
      const aspect = Math.exp(generator.uniform(logLo, logHi));
      const w = roundHalfEven(Math.sqrt(targetArea * aspect));
      const h = roundHalfEven(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const top = generator.randint(height - h + 1);
        const left = generator.randint(width - w + 1);
        return { top, left, height: h, width: w };
      }
    }
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < Math.min(...ratio)) {
      h = roundHalfEven(w / Math.min(...ratio));
    } else if (inRatio > Math.max(...ratio)) {
      w = roundHalfEven(h * Math.max(...ratio));
    }
    return { top: (height - h) >> 1, left: (width - w) >> 1, height: h, width: w };
  }

  /** The deterministic half of {@link apply}: crop `box` and resize. */
  applyParams(input: HWCImage, box: CropBox): HWCImage {
    return resizedCrop(input, box, this.size, {
      interpolation: this.interpolation,
      antialias: this.antialias,
    });
  }

  apply(input: HWCImage): HWCImage {
    const [h, w] = input.shape;
    return this.applyParams(
      input,
      RandomResizedCrop.getParams(h, w, this.scale, this.ratio, this.generator),
    );
  }
}
