import { formatValue, ValueError } from '@resnet-ts/core';
import type { HWCImage } from '../sample.js';
import { crop, pad } from './functional.js';
import { roundHalfEven } from './resample.js';
import type { Transform } from './transform.js';

/** A crop size as torchvision takes it: `[h, w]`, or one number for a square. */
export type CropSize = number | readonly [number, number];

/** `[h, w]` of a {@link CropSize}, checked to be positive integers. */
export function cropSize(size: CropSize, what = 'crop size'): [number, number] {
  const s: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  if (!s.every((v) => Number.isInteger(v) && v > 0)) {
    throw new ValueError(`${what} must be a positive integer or [h, w], got ${formatValue(size)}`);
  }
  return s;
}

/**
 * The central `size` window, as `torchvision.transforms.functional.center_crop`: offsets
 * `round((H - h) / 2)` rounded half to even like Python, and an image smaller than the crop
 * padded with zeros first (the extra pixel of an odd difference on the right/bottom).
 */
export function centerCrop(input: HWCImage, size: CropSize): HWCImage {
  const [th, tw] = cropSize(size, 'CenterCrop size');
  let image = input;
  let [h, w] = input.shape;
  if (th > h || tw > w) {
    const left = tw > w ? (tw - w) >> 1 : 0;
    const top = th > h ? (th - h) >> 1 : 0;
    const right = tw > w ? (tw - w + 1) >> 1 : 0;
    const bottom = th > h ? (th - h + 1) >> 1 : 0;
    image = pad(input, [left, top, right, bottom]);
    [h, w] = image.shape;
    if (th === h && tw === w) return image;
  }
  return crop(image, roundHalfEven((h - th) / 2), roundHalfEven((w - tw) / 2), th, tw);
}

/** Crops the centre, as `torchvision.transforms.CenterCrop`. */
export class CenterCrop implements Transform {
  readonly size: [number, number];

  constructor(size: CropSize) {
    this.size = cropSize(size, 'CenterCrop size');
  }

  apply(input: HWCImage): HWCImage {
    return centerCrop(input, this.size);
  }
}
