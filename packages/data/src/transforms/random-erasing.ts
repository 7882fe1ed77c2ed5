import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import type { CropBox } from './random-resized-crop.js';
import { roundHalfEven } from './resample.js';
import type { Transform } from './transform.js';

/**
 * Overwrites the `box` window with `value`: one number, one per channel, or `height · width ·
 * channels` values in HWC order; as `torchvision.transforms.functional.erase` (not in place).
 * uint8 images take the values truncated, as a torch assignment does.
 */
export function erase(input: HWCImage, box: CropBox, value: ArrayLike<number> | number): HWCImage {
  const [h, w, c] = input.shape;
  const { top, left, height, width } = box;
  if (
    !(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= h && left + width <= w)
  ) {
    throw new ValueError(`erase window ${formatValue(box)} is outside the ${h}×${w} image`);
  }
  const v = typeof value === 'number' ? [value] : value;
  const perPixel = v.length === height * width * c;
  if (!(perPixel || v.length === 1 || v.length === c)) {
    throw new ValueError(
      `erase value must be 1, ${c} or ${height * width * c} numbers, got ${v.length}`,
    );
  }
  const out = input.image.slice();
  const isByte = out instanceof Uint8Array;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = ((top + y) * w + left + x) * c;
      for (let k = 0; k < c; k++) {
        const val = perPixel ? v[(y * width + x) * c + k] : v[v.length === 1 ? 0 : k];
        out[o + k] = isByte ? Math.trunc(val) : val;
      }
    }
  }
  return { image: out, shape: input.shape };
}

/** Options of {@link RandomErasing}, as torchvision's kwargs. */
export interface RandomErasingOptions {
  /** Probability of erasing (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image's (default `[0.02, 0.33]`). */
  scale?: readonly [number, number];
  /** Range of the erased window's aspect ratio (default `[0.3, 3.3]`). */
  ratio?: readonly [number, number];
  /** The value: a number, one per channel, or `'random'` for standard normal noise (default 0). */
  value?: number | readonly number[] | 'random';
  /** The randomness; default: core's default generator at call time. */
  generator?: Generator;
}

/** What one {@link RandomErasing} draw decided: the window and its values (HWC for noise). */
export interface ErasingParams extends CropBox {
  value: ArrayLike<number>;
}

/**
 * Erases a random rectangle with probability `p`, as `torchvision.transforms.RandomErasing`
 * (usually after `ToTensor` and `Normalize`). {@link RandomErasing.getParams} draws as
 * torchvision does, and after 10 misses returns the whole image with its own values (no
 * change), as torchvision's does.
 */
export class RandomErasing implements Transform {
  readonly p: number;
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly value: number[] | 'random';
  private readonly ownGenerator: Generator | undefined;

  constructor(options: RandomErasingOptions = {}) {
    this.p = options.p ?? 0.5;
    if (!(this.p >= 0 && this.p <= 1)) {
      throw new ValueError(`RandomErasing p must be in [0, 1], got ${formatValue(options.p)}`);
    }
    const scale = options.scale ?? [0.02, 0.33];
    const ratio = options.ratio ?? [0.3, 3.3];
    if (!(scale[0] >= 0 && scale[0] <= scale[1] && scale[1] <= 1)) {
      throw new ValueError(
        `RandomErasing scale must be [min, max] within [0, 1], got ${formatValue(scale)}`,
      );
    }
    if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) {
      throw new ValueError(
        `RandomErasing ratio must be [min, max] with 0 < min, got ${formatValue(ratio)}`,
      );
    }
    this.scale = [scale[0], scale[1]];
    this.ratio = [ratio[0], ratio[1]];
    const value = options.value ?? 0;
    this.value = value === 'random' ? 'random' : typeof value === 'number' ? [value] : [...value];
    this.ownGenerator = options.generator;
  }

  /** The generator drawn from. */
  get generator(): Generator {
    return this.ownGenerator ?? defaultGenerator();
  }

  /** Draws the window for `input`, as torchvision's `get_params`. */
  getParams(input: HWCImage, generator: Generator = this.generator): ErasingParams {
    const [imgH, imgW, c] = input.shape;
    if (this.value !== 'random' && this.value.length !== 1 && this.value.length !== c) {
      throw new ValueError(
        `RandomErasing value has ${this.value.length} numbers for a ${c}-channel image`,
      );
    }
    const area = imgH * imgW;
    const logLo = Math.log(this.ratio[0]);
    const logHi = Math.log(this.ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const eraseArea = area * generator.uniform(this.scale[0], this.scale[1]);
      const aspect = Math.exp(generator.uniform(logLo, logHi));
      const h = roundHalfEven(Math.sqrt(eraseArea * aspect));
      const w = roundHalfEven(Math.sqrt(eraseArea / aspect));
      if (!(h < imgH && w < imgW)) continue;
      const value = this.value === 'random' ? generator.normalArray(h * w * c) : this.value;
      const top = generator.randint(imgH - h + 1);
      const left = generator.randint(imgW - w + 1);
      return { top, left, height: h, width: w, value };
    }
    return { top: 0, left: 0, height: imgH, width: imgW, value: input.image };
  }

  /** Erases the window of `params`: the deterministic half of {@link apply}. */
  applyParams(input: HWCImage, params: ErasingParams): HWCImage {
    return erase(input, params, params.value);
  }

  apply(input: HWCImage): HWCImage {
    if (!(this.generator.random() < this.p)) return input;
    return this.applyParams(input, this.getParams(input));
  }
}
