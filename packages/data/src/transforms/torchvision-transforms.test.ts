import { Generator } from '@resnet-ts/core';
import { describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/torchvision-transforms.json' with { type: 'json' };
import { IMAGENET_MEAN, IMAGENET_STD } from '../catalog.js';
import type { HWCImage } from '../sample.js';
import { CenterCrop, centerCrop } from './center-crop.js';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  rgbToGrayscale,
} from './color.js';
import { ColorJitter } from './color-jitter.js';
import { Grayscale } from './grayscale.js';
import { imagenetNormalize } from './imagenet.js';
import { erase, RandomErasing } from './random-erasing.js';
import { RandomResizedCrop } from './random-resized-crop.js';
import { type ResizeInterpolation, resample } from './resample.js';
import { Resize } from './resize.js';
import { RandomRotation, rotate } from './rotate.js';

type FixtureImage = { shape: number[]; dtype: string; data: number[] };

const image = (f: FixtureImage): HWCImage => ({
  image: f.dtype === 'uint8' ? Uint8Array.from(f.data) : Float32Array.from(f.data),
  shape: f.shape as [number, number, number],
});
const inputs: Record<string, HWCImage> = {
  u8: image(fixture.input),
  f32: image(fixture.inputFloat),
  gray: image(fixture.gray),
};
const u8 = inputs.u8;
const f32 = inputs.f32;

/** The largest difference from torchvision, in units of 1/255 of the full range. */
function worstError(got: HWCImage, want: FixtureImage): number {
  expect(got.shape).toEqual(want.shape);
  expect(got.image instanceof Uint8Array).toBe(want.dtype === 'uint8');
  const unit = want.dtype === 'uint8' ? 1 : 1 / 255;
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    worst = Math.max(worst, Math.abs(got.image[i] - want.data[i]) / unit);
  }
  return worst;
}

/** Within 1/255 of torchvision (float outputs: with a margin for float rounding). */
function expectClose(got: HWCImage, want: FixtureImage): void {
  expect(worstError(got, want)).toBeLessThanOrEqual(1.0001);
}

describe('torchvision 0.14 transforms (fixture from tools/fixtures/data/make-torchvision-transforms.py)', () => {
  it(`records its origin (torchvision ${fixture.torchvision})`, () => {
    expect(fixture.script).toBe('tools/fixtures/data/make-torchvision-transforms.py');
  });

  it.each(
    fixture.resize.map(
      (c) => [`${c.interpolation} aa=${c.antialias} ${c.input} → ${c.size}`, c] as const,
    ),
  )('Resize %s', (_, c) => {
    const size = c.size as number | [number, number];
    const options = {
      interpolation: c.interpolation as ResizeInterpolation,
      antialias: c.antialias,
    };
    expectClose(resample(inputs[c.input], size, options), c.output);
    expectClose(new Resize(size, options).apply(inputs[c.input]), c.output);
  });

  it('Resize with antialias differs from without when shrinking (the filter is real)', () => {
    const a = resample(u8, [5, 6], { antialias: true });
    const b = resample(u8, [5, 6], { antialias: false });
    expect(a.image).not.toEqual(b.image);
  });

  it('CenterCrop, smaller and larger than the image, odd and even margins', () => {
    for (const c of fixture.centerCrop) {
      const size = c.size as number | [number, number];
      expect(worstError(centerCrop(u8, size), c.output)).toBe(0);
      expect(worstError(new CenterCrop(size).apply(u8), c.output)).toBe(0);
    }
  });

  it('RandomResizedCrop at given windows equals torchvision resized_crop', () => {
    for (const c of fixture.resizedCrop) {
      const t = new RandomResizedCrop(c.size as [number, number], {
        interpolation: c.interpolation as ResizeInterpolation,
        antialias: c.antialias,
      });
      expectClose(t.applyParams(u8, c), c.output);
    }
  });

  it("antialiased bilinear resized crops of uint8 equal torchvision's PIL path exactly", () => {
    // What torchvision's ImageFolder + RandomResizedCrop computes: PIL's 8-bit fixed point.
    for (const c of fixture.pilResizedCrop) {
      const t = new RandomResizedCrop(c.size as [number, number], { antialias: true });
      expect(worstError(t.applyParams(u8, c), c.output)).toBe(0);
    }
  });

  it('RandomResizedCrop falls back to torchvision central crop after 10 misses', () => {
    for (const c of fixture.rrcFallback) {
      const g = new Generator(1);
      const box = RandomResizedCrop.getParams(
        c.shape[0],
        c.shape[1],
        [2, 3],
        c.ratio as [number, number],
        g,
      );
      expect([box.top, box.left, box.height, box.width]).toEqual(c.params);
    }
  });

  it('RandomResizedCrop draws windows inside the image with area and ratio in range', () => {
    const g = new Generator(7);
    const areas: number[] = [];
    for (let k = 0; k < 200; k++) {
      const b = RandomResizedCrop.getParams(120, 90, [0.08, 1], [3 / 4, 4 / 3], g);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.height).toBeLessThanOrEqual(120);
      expect(b.left + b.width).toBeLessThanOrEqual(90);
      // Rounding to whole pixels moves the ratio a little past the range.
      expect(b.width / b.height).toBeGreaterThan(0.7);
      expect(b.width / b.height).toBeLessThan(1.42);
      areas.push((b.width * b.height) / (120 * 90));
    }
    expect(Math.min(...areas)).toBeLessThan(0.2);
    expect(Math.max(...areas)).toBeGreaterThan(0.8);
    // Same seed, same windows; the transform draws from its generator exactly as getParams.
    const t = new RandomResizedCrop(8, { generator: new Generator(3) });
    const params = RandomResizedCrop.getParams(13, 17, t.scale, t.ratio, new Generator(3));
    expect(t.apply(u8).image).toEqual(t.applyParams(u8, params).image.slice());
    expect(t.apply(u8).shape).toEqual([8, 8, 3]);
  });

  it.each(fixture.color.map((c) => [`${c.op} ${c.factor} ${c.input}`, c] as const))(
    'adjust %s',
    (_, c) => {
      const fn = {
        brightness: adjustBrightness,
        contrast: adjustContrast,
        saturation: adjustSaturation,
        hue: adjustHue,
      }[c.op as 'hue'];
      expectClose(fn(inputs[c.input], c.factor), c.output);
    },
  );

  it('ColorJitter at given order and factors equals torchvision forward', () => {
    const t = new ColorJitter({ brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.3 });
    for (const c of fixture.colorJitter) expectClose(t.applyParams(u8, c), c.output);
  });

  it('ColorJitter draws each factor in its range and a permutation, reproducibly', () => {
    const t = new ColorJitter({ brightness: 0.4, contrast: [0.5, 0.6], hue: 0.1 });
    expect(t.brightness).toEqual([0.6, 1.4]);
    expect(t.saturation).toBeUndefined();
    const g = new Generator(5);
    for (let k = 0; k < 50; k++) {
      const p = t.getParams(g);
      expect([...p.order].sort()).toEqual([0, 1, 2, 3]);
      expect(p.brightness).toBeGreaterThanOrEqual(0.6);
      expect(p.brightness).toBeLessThan(1.4);
      expect(p.contrast).toBeGreaterThanOrEqual(0.5);
      expect(p.contrast).toBeLessThan(0.6);
      expect(p.saturation).toBeUndefined();
      expect(Math.abs(p.hue!)).toBeLessThanOrEqual(0.1);
    }
    const a = new ColorJitter({ brightness: 0.4, generator: new Generator(9) }).apply(u8);
    const b = new ColorJitter({ brightness: 0.4, generator: new Generator(9) }).apply(u8);
    expect(a.image).toEqual(b.image);
    expect(() => new ColorJitter({ hue: 0.7 })).toThrow(/hue range/);
  });

  it('Grayscale with 1 and 3 output channels', () => {
    for (const c of fixture.grayscale) {
      expectClose(rgbToGrayscale(inputs[c.input], c.channels as 1 | 3), c.output);
      expectClose(new Grayscale(c.channels as 1 | 3).apply(inputs[c.input]), c.output);
    }
  });

  it.each(
    fixture.rotate.map(
      (c) => [`${c.angle}° ${c.interpolation} expand=${c.expand} ${c.input}`, c] as const,
    ),
  )('rotate %s', (_, c) => {
    const options = {
      interpolation: c.interpolation as 'nearest',
      expand: c.expand,
      center: (c.center ?? undefined) as [number, number] | undefined,
      fill: c.fill,
    };
    expectClose(rotate(inputs[c.input], c.angle, options), c.output);
    const t = new RandomRotation(180, options);
    expectClose(t.applyParams(inputs[c.input], c.angle), c.output);
  });

  it('erase at given windows and values', () => {
    for (const c of fixture.erase) expectClose(erase(f32, c, c.value), c.output);
  });

  it('RandomErasing draws windows smaller than the image, and erases with probability p', () => {
    const t = new RandomErasing({ p: 1, value: 'random', generator: new Generator(2) });
    const big: HWCImage = { image: new Float32Array(40 * 30 * 3).fill(0.5), shape: [40, 30, 3] };
    for (let k = 0; k < 30; k++) {
      const p = t.getParams(big);
      expect(p.height).toBeLessThan(40);
      expect(p.width).toBeLessThan(30);
      expect(p.top + p.height).toBeLessThanOrEqual(40);
      expect(p.value.length).toBe(p.height * p.width * 3);
      const area = (p.height * p.width) / 1200;
      expect(area).toBeGreaterThan(0.01);
      expect(area).toBeLessThan(0.36);
    }
    const out = t.apply(big);
    const changed = out.image.filter((v) => v !== 0.5).length;
    expect(changed).toBeGreaterThan(0);
    const never = new RandomErasing({ p: 0 });
    expect(never.apply(big)).toBe(big);
  });

  it('the ImageNet preset is torchvision pretrained-model normalisation', () => {
    expect(IMAGENET_MEAN).toEqual([0.485, 0.456, 0.406]);
    expect(IMAGENET_STD).toEqual([0.229, 0.224, 0.225]);
    const out = imagenetNormalize().apply(f32);
    expect(out.image[0]).toBeCloseTo((f32.image[0] - 0.485) / 0.229, 5);
    expect(out.image[2]).toBeCloseTo((f32.image[2] - 0.406) / 0.225, 5);
  });
});
