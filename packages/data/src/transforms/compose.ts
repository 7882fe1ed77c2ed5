import type { HWCImage } from '../sample.js';
import { remap } from './functional.js';
import { Normalize } from './normalize.js';
import { RandomCrop } from './random-crop.js';
import { RandomHorizontalFlip } from './random-horizontal-flip.js';
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
    if (!this.tables || this.tables.length !== c) this.tables = this.buildTables(c);
    const src = input.image;
    const out = new Float32Array(src.length);
    if (c === 3) {
      const [t0, t1, t2] = this.tables;
      for (let i = 0; i < src.length; i += 3) {
        out[i] = t0[src[i]];
        out[i + 1] = t1[src[i + 1]];
        out[i + 2] = t2[src[i + 2]];
      }
    } else {
      for (let i = 0; i < src.length; i += c) {
        for (let k = 0; k < c; k++) out[i + k] = this.tables[k][src[i + k]];
      }
    }
    return { image: out, shape: input.shape };
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

/** Adjacent pairs Compose runs as one pass, with results identical to running both. */
function fuse(transforms: readonly Transform[]): Transform[] {
  const out: Transform[] = [];
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i];
    const next = transforms[i + 1];
    if (t instanceof RandomCrop && next instanceof RandomHorizontalFlip) {
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
 * a RandomHorizontalFlip, and a ToTensor followed by a Normalize, each run as a single pass
 * over the pixels; the results and random draws are the same as running them one by one.
 */
export class Compose implements Transform {
  private readonly steps: Transform[];

  constructor(readonly transforms: readonly Transform[]) {
    this.steps = fuse(transforms);
  }

  apply(input: HWCImage): HWCImage {
    let out = input;
    for (const t of this.steps) out = t.apply(out);
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
