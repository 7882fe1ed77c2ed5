import { describe, expect, it } from 'vitest';
import { type RgbaImage, toModelInput } from './to-model-input.js';

const GRAY = { size: 4, channels: 1, mean: [0], std: [1] };

/** An RGBA image whose gray level at (x, y) is `f(x, y)`, each pixel repeated `scale` times. */
function image(side: number, f: (x: number, y: number) => number, scale = 1): RgbaImage {
  const w = side * scale;
  const data = new Uint8Array(w * w * 4);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const v = f(Math.floor(x / scale), Math.floor(y / scale));
      data.set([v, v, v, 255], (y * w + x) * 4);
    }
  }
  return { width: w, height: w, data };
}

const stroke = (x: number, y: number) => (x === 1 && y > 0 ? 255 : 0);

describe('toModelInput', () => {
  it('keeps a picture of the model size as it is, scaled to [0, 1]', () => {
    const { pixels, info } = toModelInput(image(4, stroke), GRAY);
    expect(Array.from(pixels)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
    expect(info.inverted).toBe(false);
  });

  it('shrinks a picture by averaging the pixels under each target pixel', () => {
    const big = toModelInput(image(4, stroke, 3), GRAY).pixels;
    expect(Array.from(big)).toEqual(Array.from(toModelInput(image(4, stroke), GRAY).pixels));
    // 4×4 → 2×2: each output pixel is the mean of a 2×2 block.
    const half = toModelInput(image(4, stroke), { ...GRAY, size: 2 }).pixels;
    expect(Array.from(half)).toEqual([0.25, 0, 0.5, 0]);
  });

  it('inverts a dark stroke on a light background, as MNIST digits are light on black', () => {
    const drawn = image(4, (x, y) => 255 - stroke(x, y));
    const { pixels, info } = toModelInput(drawn, GRAY);
    expect(info.inverted).toBe(true);
    expect(Array.from(pixels)).toEqual(Array.from(toModelInput(image(4, stroke), GRAY).pixels));
    expect(toModelInput(drawn, GRAY, 'no').info.inverted).toBe(false);
    expect(toModelInput(image(4, stroke), GRAY, 'yes').info.inverted).toBe(true);
  });

  it('composites transparency on white and normalises each channel', () => {
    const transparent: RgbaImage = { width: 1, height: 1, data: new Uint8Array([0, 0, 0, 0]) };
    const rgb = { size: 1, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] };
    expect(Array.from(toModelInput(transparent, rgb).pixels)).toEqual([1, 2, 0.5]);
  });

  it('weights red, green and blue by luma for gray models', () => {
    const red: RgbaImage = { width: 1, height: 1, data: new Uint8Array([255, 0, 0, 255]) };
    const { pixels } = toModelInput(red, { size: 1, channels: 1, mean: [0], std: [1] }, 'no');
    expect(pixels[0]).toBeCloseTo(0.299, 6);
  });
});
