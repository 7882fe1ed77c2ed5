import { Generator } from '@resnet-ts/core';
import { describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/transforms.json' with { type: 'json' };
import type { HWCImage } from '../sample.js';
import { Compose, Lambda } from './compose.js';
import { crop, hflip, normalize, pad, resize, toFloat } from './functional.js';
import { Normalize } from './normalize.js';
import { Pad } from './pad.js';
import { pillowResample, useSimdResample } from './pillow-resample.js';
import { RandomCrop } from './random-crop.js';
import { RandomHorizontalFlip } from './random-horizontal-flip.js';
import { RandomResizedCrop } from './random-resized-crop.js';
import { Resize } from './resize.js';
import { ToTensor } from './to-tensor.js';

type FixtureImage = { shape: number[]; data: number[] };

const u8 = (f: FixtureImage): HWCImage => ({
  image: Uint8Array.from(f.data),
  shape: f.shape as [number, number, number],
});
const input = u8(fixture.input);

function expectImage(got: HWCImage, want: FixtureImage, tol = 0): void {
  expect(got.shape).toEqual(want.shape);
  expect(got.image.length).toBe(want.data.length);
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    worst = Math.max(worst, Math.abs(got.image[i] - want.data[i]));
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('transforms equal torchvision 0.14 (fixture from tools/fixtures/data)', () => {
  it(`records its origin (torch ${fixture.torch})`, () => {
    expect(fixture.script).toBe('tools/fixtures/data/make-transform-fixtures.py');
  });

  it.each(fixture.pad.map((c) => [`${c.mode} ${c.padding}`, c] as const))('pad %s', (_, c) => {
    const padding = c.padding as [number, number, number, number];
    const mode = c.mode as 'constant';
    expectImage(pad(input, padding, c.fill, mode), c.output);
    expectImage(new Pad(padding, { fill: c.fill, paddingMode: mode }).apply(input), c.output);
  });

  it('crop at explicit offsets', () => {
    for (const c of fixture.crop)
      expectImage(crop(input, c.top, c.left, c.height, c.width), c.output);
  });

  it('RandomCrop at explicit offsets, for every padding mode and padIfNeeded', () => {
    for (const c of fixture.randomCrop) {
      const t = new RandomCrop(c.size as [number, number], {
        padding: c.padding,
        paddingMode: c.paddingMode as 'reflect',
        padIfNeeded: c.padIfNeeded,
      });
      expectImage(t.cropAt(input, c.top, c.left), c.output);
    }
  });

  it('hflip, ToTensor, Normalize', () => {
    expectImage(hflip(input), fixture.hflip);
    const asFloat = new ToTensor().apply(input);
    expect(asFloat.image).toBeInstanceOf(Float32Array);
    expectImage(asFloat, fixture.toTensor, 1e-7);
    const n = fixture.normalize;
    expectImage(new Normalize(n.mean, n.std).apply(asFloat), n.output, 2e-6);
    expectImage(normalize(toFloat(input), n.mean, n.std), n.output, 2e-6);
  });

  it.each(fixture.resize.map((c) => [`${c.input} -> ${c.size}`, c] as const))(
    'Resize %s (uint8 and float)',
    (_, c) => {
      const src = c.input === 'mnist' ? u8(fixture.resizeInput28) : input;
      const size = c.size as number | [number, number];
      expectImage(new Resize(size).apply(src), c.output);
      expectImage(resize(toFloat(src), size), c.outputFloat, 1e-6);
    },
  );
});

describe('random transforms', () => {
  it('RandomCrop draws top then left from the generator, as torchvision get_params', () => {
    const t = new RandomCrop(32, { padding: 4, generator: new Generator(9) });
    const image: HWCImage = {
      image: new Uint8Array(32 * 32 * 3).map((_, i) => i % 251),
      shape: [32, 32, 3],
    };
    const g = new Generator(9);
    for (let k = 0; k < 20; k++) {
      const top = g.randint(9);
      const left = g.randint(9);
      expect(t.apply(image).image).toEqual(t.cropAt(image, top, left).image);
    }
  });

  it('RandomCrop draws nothing when the image is exactly the crop size', () => {
    const g = new Generator(4);
    const before = g.getState();
    const out = new RandomCrop(7, { generator: g }).apply({
      image: new Uint8Array(49),
      shape: [7, 7, 1],
    });
    expect(out.shape).toEqual([7, 7, 1]);
    expect(g.getState()).toEqual(before);
  });

  it('RandomCrop rejects a crop larger than the padded image, naming both sizes', () => {
    expect(() => new RandomCrop(10).apply(input)).toThrow(/\[10,10\].*\[7,9\]/);
    expect(() => new RandomCrop(0)).toThrow(/size/);
  });

  it('RandomHorizontalFlip flips exactly when generator.random() < p', () => {
    const t = new RandomHorizontalFlip(0.3, { generator: new Generator(2) });
    const g = new Generator(2);
    const flipped = hflip(input).image;
    let flips = 0;
    for (let k = 0; k < 200; k++) {
      const expectFlip = g.random() < 0.3;
      const out = t.apply(input);
      expect(out.image).toEqual(expectFlip ? flipped : input.image);
      flips += expectFlip ? 1 : 0;
    }
    expect(flips).toBeGreaterThan(30);
    expect(flips).toBeLessThan(90);
  });

  it('the same seed gives the same augmented images', () => {
    const make = (seed: number) => {
      const g = new Generator(seed);
      return new Compose([
        new RandomCrop(7, { padding: 2, paddingMode: 'reflect', generator: g }),
        new RandomHorizontalFlip(0.5, { generator: g }),
        new ToTensor(),
      ]);
    };
    const run = (t: Compose) => Array.from({ length: 5 }, () => Array.from(t.apply(input).image));
    expect(run(make(1))).toEqual(run(make(1)));
    expect(run(make(1))).not.toEqual(run(make(2)));
  });

  it('Compose fuses crop+flip and ToTensor+Normalize with results and draws unchanged', () => {
    const pipeline = (g: Generator) => [
      new RandomCrop([6, 8], { padding: [2, 1], paddingMode: 'symmetric', generator: g }),
      new RandomHorizontalFlip(0.5, { generator: g }),
      new ToTensor(),
      new Normalize([0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]),
    ];
    const fused = new Compose(pipeline(new Generator(8)));
    const oneByOne = pipeline(new Generator(8));
    for (let k = 0; k < 30; k++) {
      const a = fused.apply(input);
      const b = oneByOne.reduce((img, t) => t.apply(img), input);
      expect(a.shape).toEqual(b.shape);
      expect(a.image).toEqual(b.image);
    }
    const gray: HWCImage = {
      image: Uint8Array.from({ length: 20 }, (_, i) => i * 13),
      shape: [4, 5, 1],
    };
    const n = [new ToTensor(), new Normalize([0.1307], [0.3081])];
    expect(new Compose(n).apply(gray).image).toEqual(n[1].apply(n[0].apply(gray)).image);
    const asFloat = toFloat(gray);
    expect(new Compose(n).apply(asFloat).image).toEqual(n[1].apply(n[0].apply(asFloat)).image);
  });

  it('Compose runs the ImageNet recipe as one pass with results and draws unchanged', () => {
    const recipe = (g: Generator, size: number, c: number, p: number) => [
      new RandomResizedCrop(size, { antialias: true, generator: g }),
      new RandomHorizontalFlip(p, { generator: g }),
      new ToTensor(),
      c === 3
        ? new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        : new Normalize([0.45], [0.226]),
    ];
    const picture = (h: number, w: number, c: number): HWCImage => ({
      image: Uint8Array.from({ length: h * w * c }, (_, i) => (i * 2654435761) >>> 24),
      shape: [h, w, c],
    });
    for (const [image, size] of [
      [picture(37, 51, 3), 24],
      [picture(20, 16, 3), 9],
      [picture(30, 25, 1), 40],
    ] as const) {
      const copy = Uint8Array.from(image.image);
      const c = image.shape[2];
      // Never, always and sometimes flipped: both branches of the fused pass.
      for (const p of [0, 1, 0.5]) {
        const gFused = new Generator(5);
        const fused = new Compose(recipe(gFused, size, c, p));
        const gOne = new Generator(5);
        const oneByOne = recipe(gOne, size, c, p);
        for (let k = 0; k < 20; k++) {
          const a = fused.apply(image);
          const b = oneByOne.reduce((img, t) => t.apply(img), image);
          expect(a.shape).toEqual(b.shape);
          expect(a.image).toBeInstanceOf(Float32Array);
          expect(a.image).toEqual(b.image);
        }
        expect(gFused.random()).toBe(gOne.random());
      }
      expect(image.image).toEqual(copy);
    }
    // Float pixels run the steps one by one.
    const floats = toFloat(picture(12, 14, 3));
    const a = new Compose(recipe(new Generator(2), 8, 3, 0.5)).apply(floats);
    const b = recipe(new Generator(2), 8, 3, 0.5).reduce((img, t) => t.apply(img), floats);
    expect(a.image).toEqual(b.image);
  });

  it("Pillow's resampling gives the same bytes in WebAssembly SIMD and in JavaScript", () => {
    const [h, w] = [61, 83];
    const src = Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 2654435761) >>> 24);
    const g = new Generator(11);
    const tables = [0.2, 0.3, 0.4].map((m) =>
      Float32Array.from({ length: 256 }, (_, v) => (v / 255 - m) / 0.25),
    );
    try {
      for (let k = 0; k < 60; k++) {
        const box = RandomResizedCrop.getParams(h, w, [0.05, 1], [0.5, 2], g);
        const [outH, outW] = [1 + g.randint(70), 1 + g.randint(70)];
        const sink = k % 3 === 0 ? {} : { tables, flip: k % 3 === 1 };
        const run = () =>
          pillowResample(
            src,
            w,
            3,
            box.top,
            box.left,
            box.height,
            box.width,
            outH,
            outW,
            'bilinear',
            sink,
          );
        expect(useSimdResample(true)).toBe(true); // Node has WebAssembly SIMD
        const simd = run();
        useSimdResample(false);
        const js = run();
        expect(simd.length).toBe(outH * outW * 3);
        expect(simd).toEqual(js);
      }
    } finally {
      useSimdResample(true);
    }
  });

  it('transforms never write into their input', () => {
    const copy = Uint8Array.from(input.image);
    new Compose([
      new Pad(1, { paddingMode: 'edge' }),
      new RandomCrop(5, { generator: new Generator(0) }),
      new RandomHorizontalFlip(1),
      new Resize(6),
      new ToTensor(),
      new Normalize([0.5], [0.5]),
      new Lambda((x) => x),
    ]).apply(input);
    expect(input.image).toEqual(copy);
  });

  it('Normalize explains what it needs', () => {
    expect(() => new Normalize([0.5], [0.5]).apply(input)).toThrow(/float32.*ToTensor/);
    expect(() => new Normalize([0, 0], [1, 1]).apply(toFloat(input))).toThrow(/3 channels.*mean/);
    expect(() => new Normalize([0], [0]).apply(toFloat(input))).toThrow(/std \[0\]/);
    expect(() => pad(input, [1, 2, 3] as unknown as [number, number])).toThrow(
      /padding.*\[1,2,3\]/,
    );
  });
});
