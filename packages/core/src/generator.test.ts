import { describe, expect, it } from 'vitest';
import { Generator } from './index.js';

describe('Generator', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = Array.from(
      { length: 5 },
      (
        (g) => () =>
          g.nextUint32()
      )(new Generator(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (g) => () =>
          g.nextUint32()
      )(new Generator(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (g) => () =>
          g.nextUint32()
      )(new Generator(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('restores its state and continues the same stream', () => {
    const g = new Generator(7);
    g.random();
    const saved = JSON.parse(JSON.stringify(g.getState()));
    const next = [g.random(), g.random()];
    expect([new Generator(0).setState(saved).random(), g.random()]).not.toEqual(next);
    const h = new Generator(0).setState(saved);
    expect([h.random(), h.random()]).toEqual(next);
  });

  it('draws uniform floats with the right mean and a valid permutation', () => {
    const g = new Generator(1);
    const xs = g.uniformArray(100_000);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const p = Array.from(g.permutation(1000)).sort((a, b) => a - b);
    expect(p).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('rejects bad seeds and states with the offending value', () => {
    expect(() => new Generator(-1)).toThrow(/non-negative safe integer, got -1/);
    expect(() =>
      new Generator(0).setState({ algorithm: 'xoshiro128**', state: [0, 0, 0, 0] }),
    ).toThrow(/not all zero/);
  });

  it('draws normal arrays with mean 0, variance 1 and odd lengths filled', () => {
    const g = new Generator(5);
    const xs = g.normalArray(100_001, 2, 3);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(mean).toBeGreaterThan(1.95);
    expect(mean).toBeLessThan(2.05);
    expect(variance).toBeGreaterThan(8.8);
    expect(variance).toBeLessThan(9.2);
    expect(xs[100_000]).not.toBe(0);
    expect(new Generator(5).normalArray(4)).toEqual(new Generator(5).normalArray(4));
  });
});
