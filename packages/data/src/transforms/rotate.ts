import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import type { HWCImage, Pixels } from '../sample.js';
import { roundHalfEven } from './resample.js';
import type { Transform } from './transform.js';

const f32 = Math.fround;

/** How a rotation samples, as torchvision's `InterpolationMode` for geometric transforms. */
export type RotateInterpolation = 'nearest' | 'bilinear';

/** Options of {@link rotate}. */
export interface RotateOptions {
  /** Default `'nearest'`, as torchvision. */
  interpolation?: RotateInterpolation;
  /** Grow the output to hold the whole rotated image (default false). */
  expand?: boolean;
  /** The pivot `[x, y]` in pixels; default the image centre. */
  center?: readonly [number, number];
  /**
   * The value of pixels from outside the image, one number or one per channel. Left out,
   * they are zero and bilinear edges blend with zero, as torchvision with `fill=None`.
   */
  fill?: number | readonly number[];
}

/**
 * The inverse affine matrix of a rotation by `angle` degrees about `center` (offsets from the
 * image centre), as torchvision's `_get_inverse_affine_matrix` with no shear, scale or shift.
 */
function inverseRotation(angle: number, cx: number, cy: number): number[] {
  const rot = (-angle * Math.PI) / 180;
  const a = Math.cos(rot);
  const b = -Math.sin(rot);
  const c = Math.sin(rot);
  const d = Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0];
  m[2] += m[0] * -cx + m[1] * -cy;
  m[5] += m[3] * -cx + m[4] * -cy;
  m[2] += cx;
  m[5] += cy;
  return m;
}

/** The expanded output size `[w, h]`, as torchvision's `_compute_affine_output_size`. */
function expandedSize(m: number[], w: number, h: number): [number, number] {
  const t = m.map(f32);
  const pts = [
    [-0.5 * w, -0.5 * h],
    [-0.5 * w, 0.5 * h],
    [0.5 * w, 0.5 * h],
    [0.5 * w, -0.5 * h],
  ];
  const size: [number, number] = [0, 0];
  for (let k = 0; k < 2; k++) {
    const vals = pts.map(([x, y]) =>
      f32(f32(f32(x * t[3 * k]) + f32(y * t[3 * k + 1])) + t[3 * k + 2]),
    );
    const half = (k === 0 ? w : h) * 0.5;
    const tol = 1e-4;
    const max = f32(Math.max(...vals) + half);
    const min = f32(Math.min(...vals) + half);
    const cmax = Math.ceil(f32(Math.trunc(f32(max / tol)) * tol));
    const cmin = Math.floor(f32(Math.trunc(f32(min / tol)) * tol));
    size[k] = cmax - cmin;
  }
  return size;
}

/**
 * Rotates counter-clockwise by `angle` degrees, as `torchvision.transforms.functional.rotate`
 * on a tensor (its affine grid and `grid_sample` with zero padding, in float32). uint8 stays
 * uint8, rounded half to even.
 */
export function rotate(input: HWCImage, angle: number, options: RotateOptions = {}): HWCImage {
  if (!Number.isFinite(angle))
    throw new ValueError(`rotate angle must be finite, got ${formatValue(angle)}`);
  const interpolation = options.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    throw new ValueError(
      `rotate interpolation must be 'nearest' or 'bilinear', got ${formatValue(interpolation)}`,
    );
  }
  const [h, w, c] = input.shape;
  const fill = options.fill === undefined ? undefined : fillValues(options.fill, c);
  const cx = options.center ? options.center[0] - w * 0.5 : 0;
  const cy = options.center ? options.center[1] - h * 0.5 : 0;
  const m = inverseRotation(angle, cx, cy);
  const [ow, oh] = options.expand ? expandedSize(m, w, h) : [w, h];
  // The grid torchvision builds: output pixel centres relative to the output centre, mapped
  // by theta and normalised by the input's half size, then unnormalised by grid_sample.
  const hw = f32(0.5 * w);
  const hh = f32(0.5 * h);
  const r00 = f32(f32(m[0]) / hw);
  const r10 = f32(f32(m[1]) / hw);
  const r20 = f32(f32(m[2]) / hw);
  const r01 = f32(f32(m[3]) / hh);
  const r11 = f32(f32(m[4]) / hh);
  const r21 = f32(f32(m[5]) / hh);
  const src = input.image;
  const isByte = src instanceof Uint8Array;
  const out: Pixels = isByte ? new Uint8Array(oh * ow * c) : new Float32Array(oh * ow * c);
  const acc = new Float64Array(c);
  for (let y = 0; y < oh; y++) {
    const by = -oh * 0.5 + 0.5 + y;
    for (let x = 0; x < ow; x++) {
      const bx = -ow * 0.5 + 0.5 + x;
      const gx = f32(f32(f32(bx * r00) + f32(by * r10)) + r20);
      const gy = f32(f32(f32(bx * r01) + f32(by * r11)) + r21);
      const ix = f32(f32(f32(gx + 1) * w - 1) / 2);
      const iy = f32(f32(f32(gy + 1) * h - 1) / 2);
      acc.fill(0);
      let mask = 0;
      if (interpolation === 'nearest') {
        const sx = roundHalfEven(ix);
        const sy = roundHalfEven(iy);
        if (sx >= 0 && sx < w && sy >= 0 && sy < h) {
          mask = 1;
          for (let k = 0; k < c; k++) acc[k] = src[(sy * w + sx) * c + k];
        }
      } else {
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = f32(ix - x0);
        const fy = f32(iy - y0);
        for (let dy = 0; dy < 2; dy++) {
          const yy = y0 + dy;
          if (yy < 0 || yy >= h) continue;
          const wy = dy ? fy : f32(1 - fy);
          for (let dx = 0; dx < 2; dx++) {
            const xx = x0 + dx;
            if (xx < 0 || xx >= w) continue;
            const wt = f32((dx ? fx : f32(1 - fx)) * wy);
            mask += wt;
            const base = (yy * w + xx) * c;
            for (let k = 0; k < c; k++) acc[k] += wt * src[base + k];
          }
        }
      }
      const o = (y * ow + x) * c;
      for (let k = 0; k < c; k++) {
        let v = acc[k];
        if (fill) {
          // torchvision fills by a sampled mask: nearest replaces, bilinear blends (so edge
          // pixels are weighted by the mask twice, as there).
          if (interpolation === 'nearest') v = mask < 0.5 ? fill[k] : v;
          else v = v * mask + (1 - mask) * fill[k];
        }
        out[o + k] = isByte ? Math.min(255, Math.max(0, roundHalfEven(f32(v)))) : v;
      }
    }
  }
  return { image: out, shape: [oh, ow, c] };
}

function fillValues(fill: number | readonly number[], c: number): number[] {
  const f = typeof fill === 'number' ? [fill] : [...fill];
  if (!(f.length === 1 || f.length === c) || f.some((v) => !Number.isFinite(v))) {
    throw new ValueError(`fill must be a number or ${c} numbers, got ${formatValue(fill)}`);
  }
  return f.length === 1 ? new Array(c).fill(f[0]) : f;
}

/** Options of {@link RandomRotation}. */
export interface RandomRotationOptions extends Omit<RotateOptions, 'fill'> {
  /** Default 0, as torchvision. */
  fill?: number | readonly number[];
  /** The randomness; default: core's default generator at call time. */
  generator?: Generator;
}

/**
 * Rotates by a uniform random angle in `degrees` (`d` for `[−d, d]`), as
 * `torchvision.transforms.RandomRotation`; {@link RandomRotation.applyParams} equals
 * torchvision's forward for the same angle.
 */
export class RandomRotation implements Transform {
  readonly degrees: [number, number];
  private readonly options: RandomRotationOptions;

  constructor(degrees: number | readonly [number, number], options: RandomRotationOptions = {}) {
    const d: [number, number] =
      typeof degrees === 'number' ? [-degrees, degrees] : [degrees[0], degrees[1]];
    if ((typeof degrees === 'number' && !(degrees >= 0)) || !(d[0] <= d[1])) {
      throw new ValueError(
        `RandomRotation degrees must be a non-negative number or [min, max], got ${formatValue(degrees)}`,
      );
    }
    this.degrees = d;
    this.options = options;
  }

  /** The generator drawn from. */
  get generator(): Generator {
    return this.options.generator ?? defaultGenerator();
  }

  /** An angle uniform in `degrees`, as torchvision's `get_params`. */
  static getParams(degrees: readonly [number, number], generator: Generator): number {
    return generator.uniform(degrees[0], degrees[1]);
  }

  /** Rotates by `angle`: the deterministic half of {@link apply}. */
  applyParams(input: HWCImage, angle: number): HWCImage {
    const { generator: _g, fill, ...rest } = this.options;
    return rotate(input, angle, { ...rest, fill: fill ?? 0 });
  }

  apply(input: HWCImage): HWCImage {
    return this.applyParams(input, RandomRotation.getParams(this.degrees, this.generator));
  }
}
