import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation } from './color.js';
import type { Transform } from './transform.js';

/** A jitter strength: `v` for the range `[max(0, 1 − v), 1 + v]` (hue: `[−v, v]`), or `[min, max]`. */
export type JitterRange = number | readonly [number, number];

/** Options of {@link ColorJitter}; each left out (or zero) is not applied. */
export interface ColorJitterOptions {
  brightness?: JitterRange;
  contrast?: JitterRange;
  saturation?: JitterRange;
  /** In [0, 0.5], or a range within [−0.5, 0.5]. */
  hue?: JitterRange;
  /** The randomness; default: core's default generator at call time. */
  generator?: Generator;
}

/**
 * What one {@link ColorJitter} draw decided: the order of the four adjustments (0
 * brightness, 1 contrast, 2 saturation, 3 hue, as torchvision numbers them) and each factor,
 * undefined where that adjustment is off.
 */
export interface ColorJitterParams {
  order: number[];
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

/** torchvision's `_check_input`: the range of one jitter, or undefined when it is a no-op. */
function jitterRange(
  name: string,
  value: JitterRange | undefined,
  center: number,
  bounds: [number, number],
): [number, number] | undefined {
  if (value === undefined) return undefined;
  let range: [number, number];
  if (typeof value === 'number') {
    if (!(value >= 0)) {
      throw new ValueError(`ColorJitter ${name} must be non-negative, got ${formatValue(value)}`);
    }
    range = [center - value, center + value];
    if (name !== 'hue') range[0] = Math.max(range[0], 0);
  } else if (Array.isArray(value) && value.length === 2) {
    range = [value[0], value[1]];
  } else {
    throw new ValueError(
      `ColorJitter ${name} must be a number or [min, max], got ${formatValue(value)}`,
    );
  }
  if (!(bounds[0] <= range[0] && range[0] <= range[1] && range[1] <= bounds[1])) {
    throw new ValueError(
      `ColorJitter ${name} range ${formatValue(range)} must lie within ${formatValue(bounds)}`,
    );
  }
  return range[0] === center && range[1] === center ? undefined : range;
}

/**
 * Random brightness, contrast, saturation and hue in a random order, as
 * `torchvision.transforms.ColorJitter`. {@link ColorJitter.getParams} draws as torchvision
 * does (a permutation, then one uniform factor per enabled adjustment);
 * {@link ColorJitter.applyParams} equals torchvision's forward for the same draw.
 */
export class ColorJitter implements Transform {
  readonly brightness: [number, number] | undefined;
  readonly contrast: [number, number] | undefined;
  readonly saturation: [number, number] | undefined;
  readonly hue: [number, number] | undefined;
  private readonly ownGenerator: Generator | undefined;

  constructor(options: ColorJitterOptions = {}) {
    this.brightness = jitterRange('brightness', options.brightness, 1, [0, Infinity]);
    this.contrast = jitterRange('contrast', options.contrast, 1, [0, Infinity]);
    this.saturation = jitterRange('saturation', options.saturation, 1, [0, Infinity]);
    this.hue = jitterRange('hue', options.hue, 0, [-0.5, 0.5]);
    this.ownGenerator = options.generator;
  }

  /** The generator drawn from. */
  get generator(): Generator {
    return this.ownGenerator ?? defaultGenerator();
  }

  /** Draws the order and the factors, as torchvision's `get_params`. */
  getParams(generator: Generator = this.generator): ColorJitterParams {
    const order = [...generator.permutation(4)];
    const draw = (r: [number, number] | undefined) =>
      r === undefined ? undefined : generator.uniform(r[0], r[1]);
    return {
      order,
      brightness: draw(this.brightness),
      contrast: draw(this.contrast),
      saturation: draw(this.saturation),
      hue: draw(this.hue),
    };
  }

  /** Applies the adjustments of `params` in its order: the deterministic half of {@link apply}. */
  applyParams(input: HWCImage, params: ColorJitterParams): HWCImage {
    let image = input;
    for (const fn of params.order) {
      if (fn === 0 && params.brightness !== undefined) {
        image = adjustBrightness(image, params.brightness);
      } else if (fn === 1 && params.contrast !== undefined) {
        image = adjustContrast(image, params.contrast);
      } else if (fn === 2 && params.saturation !== undefined) {
        image = adjustSaturation(image, params.saturation);
      } else if (fn === 3 && params.hue !== undefined) {
        image = adjustHue(image, params.hue);
      }
    }
    return image;
  }

  apply(input: HWCImage): HWCImage {
    return this.applyParams(input, this.getParams());
  }
}
