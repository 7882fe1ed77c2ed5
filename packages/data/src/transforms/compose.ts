import type { HWCImage } from '../sample.js';
import { remap } from './functional.js';
import { Normalize } from './normalize.js';
import { pillowResample } from './pillow-resample.js';
import { RandomCrop } from './random-crop.js';
import { RandomHorizontalFlip } from './random-horizontal-flip.js';
import { RandomResizedCrop } from './random-resized-crop.js';
import { ToTensor } from './to-tensor.js';
import type { Transform } from './transform.js';

/**
 * `RandomCrop` then `RandomHorizontalFlip` as one gather: the same draws in the same order
 * (offsets, then the flip), the flip folded into the crop's column map.
 */
class CropThenFlip implements Transform {
  constructor(
    private readonly crop: RandomCrop,
    private readonly flip: RandomHorizontalFlip,
  ) {}

  apply(input: HWCImage): HWCImage {
    const { rows, cols } = this.crop.drawMaps(input);
    if (this.flip.generator.random() < this.flip.p) cols.reverse();
    return remap(input, rows, cols, this.crop.fill);
  }
}

/**
 * `ToTensor` then `Normalize` on uint8 input as one table lookup per channel: each byte
 * maps to `(v / 255 - mean) / std` computed exactly as the two steps compute it.
 */
class ScaleThenNormalize implements Transform {
  private tables: Float32Array[] | undefined;

  constructor(
    private readonly toTensor: ToTensor,
    private readonly normalize: Normalize,
  ) {}

  apply(input: HWCImage): HWCImage {
    const c = input.shape[2];
    if (!(input.image instanceof Uint8Array)) {
      return this.normalize.apply(this.toTensor.apply(input));
    }
    const tables = this.tablesFor(c);
    const src = input.image;
    const out = new Float32Array(src.length);
    if (c === 3) {
      const [t0, t1, t2] = tables;
      for (let i = 0; i < src.length; i += 3) {
        out[i] = t0[src[i]];
        out[i + 1] = t1[src[i + 1]];
        out[i + 2] = t2[src[i + 2]];
      }
    } else {
      for (let i = 0; i < src.length; i += c) {
        for (let k = 0; k < c; k++) out[i + k] = tables[k][src[i + k]];
      }
    }
    return { image: out, shape: input.shape };
  }

  /** Per channel, the float each byte value becomes. */
  tablesFor(c: number): Float32Array[] {
    if (!this.tables || this.tables.length !== c) this.tables = this.buildTables(c);
    return this.tables;
  }

  private buildTables(c: number): Float32Array[] {
    // Run the real transforms over all 256 byte values of each channel.
    const ramp = new Uint8Array(256 * c);
    for (let v = 0; v < 256; v++) ramp.fill(v, v * c, v * c + c);
    const mapped = this.normalize.apply(this.toTensor.apply({ image: ramp, shape: [1, 256, c] }));
    return Array.from({ length: c }, (_, k) =>
      Float32Array.from({ length: 256 }, (_, v) => mapped.image[v * c + k]),
    );
  }
}

/**
 * `RandomResizedCrop` (bilinear, antialiased), `RandomHorizontalFlip`, `ToTensor` and
 * `Normalize` as one resampling whose last pass writes each byte's float straight to its
 * mirrored place: the same draws in the same order (window, then flip), the same values.
 * Other inputs (float pixels) run the four steps one by one.
 */
class ResizedCropFlipScale implements Transform {
  constructor(
    private readonly crop: RandomResizedCrop,
    private readonly flip: RandomHorizontalFlip,
    private readonly scale: ScaleThenNormalize,
    private readonly steps: readonly Transform[],
  ) {}

  apply(input: HWCImage, out?: Float32Array): HWCImage {
    if (!(input.image instanceof Uint8Array)) {
      let result = input;
      for (const t of this.steps) result = t.apply(result);
      return result;
    }
    const [h, w, c] = input.shape;
    const { crop } = this;
    const box = RandomResizedCrop.getParams(h, w, crop.scale, crop.ratio, crop.generator);
    const flip = this.flip.generator.random() < this.flip.p;
    const [outH, outW] = crop.size;
    const tables = this.scale.tablesFor(c);
    const image = pillowResample(
      input.image,
      w,
      c,
      box.top,
      box.left,
      box.height,
      box.width,
      outH,
      outW,
      'bilinear',
      { tables, flip, out },
    );
    return { image, shape: [outH, outW, c] };
  }
}

/** Adjacent transforms Compose runs as one pass, with results identical to running them apart. */
function fuse(transforms: readonly Transform[]): Transform[] {
  const out: Transform[] = [];
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i];
    const next = transforms[i + 1];
    const [third, fourth] = [transforms[i + 2], transforms[i + 3]];
    if (
      t instanceof RandomResizedCrop &&
      t.antialias &&
      t.interpolation === 'bilinear' &&
      next instanceof RandomHorizontalFlip &&
      third instanceof ToTensor &&
      fourth instanceof Normalize
    ) {
      const scale = new ScaleThenNormalize(third, fourth);
      out.push(new ResizedCropFlipScale(t, next, scale, [t, next, scale]));
      i += 3;
    } else if (t instanceof RandomCrop && next instanceof RandomHorizontalFlip) {
      out.push(new CropThenFlip(t, next));
      i++;
    } else if (t instanceof ToTensor && next instanceof Normalize) {
      out.push(new ScaleThenNormalize(t, next));
      i++;
    } else {
      out.push(t);
    }
  }
  return out;
}

/**
 * Runs transforms in order, as `torchvision.transforms.Compose`. A RandomCrop followed by
 * a RandomHorizontalFlip, a ToTensor followed by a Normalize, and the ImageNet training
 * recipe (antialiased RandomResizedCrop, RandomHorizontalFlip, ToTensor, Normalize) each run
 * as a single pass over the pixels; the results and random draws are the same as running
 * them one by one.
 */
export class Compose implements Transform {
  private readonly steps: Transform[];

  constructor(readonly transforms: readonly Transform[]) {
    this.steps = fuse(transforms);
  }

  apply(input: HWCImage, out?: Float32Array): HWCImage {
    let result = input;
    const last = this.steps.length - 1;
    for (let i = 0; i <= last; i++)
      result = this.steps[i].apply(result, i === last ? out : undefined);
    return result;
  }
}

/** Wraps a function as a transform, as `torchvision.transforms.Lambda`. */
export class Lambda implements Transform {
  constructor(readonly fn: (input: HWCImage) => HWCImage) {}

  apply(input: HWCImage): HWCImage {
    return this.fn(input);
  }
}
