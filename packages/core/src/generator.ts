import { type Tensor, tensor } from '@tensorflow/tfjs-core';

/** The serialisable state of a {@link Generator}. */
export interface GeneratorState {
  algorithm: 'xoshiro128**';
  /** Four 32-bit words. */
  state: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * A seedable pseudo-random generator (xoshiro128**) whose whole state can be saved and
 * restored, like `torch.Generator`. Initialisers, dropout, shuffling and augmentation take
 * one, so the same seed gives the same run.
 */
export class Generator {
  private s = new Uint32Array(4);

  /** Seeds the generator; seeds are integers in [0, 2^53). */
  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Re-seeds in place, as `torch.Generator.manual_seed`. */
  manualSeed(seed: number): this {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Generator seed must be a non-negative safe integer, got ${seed}`);
    }
    const hi = Math.floor(seed / 2 ** 32);
    const next = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
    for (let i = 0; i < 4; i++) this.s[i] = next();
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
    return this;
  }

  /** The next uniformly distributed 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float uniformly distributed in [0, 1), with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float uniformly distributed in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** A standard normal sample (Box–Muller). */
  normal(mean = 0, std = 1): number {
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** An integer uniformly distributed in [0, n), without modulo bias. */
  randint(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new RangeError(`randint bound must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.random() < p;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates), as `torch.randperm`. */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  /** A float32 array of uniform samples in [low, high). */
  uniformArray(size: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.uniform(low, high);
    return out;
  }

  /** A float32 tensor of uniform samples in [low, high). */
  uniformTensor(shape: number[], low = 0, high = 1): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return tensor(this.uniformArray(size, low, high), shape, 'float32');
  }

  /**
   * A float32 array of normal samples. Each Box–Muller draw yields two samples (cosine and
   * sine), so filling an array costs half the draws of calling {@link Generator.normal}.
   */
  normalArray(size: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i += 2) {
      let u = 0;
      while (u === 0) u = this.random();
      const r = std * Math.sqrt(-2 * Math.log(u));
      const theta = 2 * Math.PI * this.random();
      out[i] = mean + r * Math.cos(theta);
      if (i + 1 < size) out[i + 1] = mean + r * Math.sin(theta);
    }
    return out;
  }

  /** A float32 tensor of normal samples. */
  normalTensor(shape: number[], mean = 0, std = 1): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return tensor(this.normalArray(size, mean, std), shape, 'float32');
  }

  /** A new generator seeded from this one, for an independent stream. */
  fork(): Generator {
    const g = new Generator(0);
    g.s[0] = this.nextUint32();
    g.s[1] = this.nextUint32();
    g.s[2] = this.nextUint32();
    g.s[3] = this.nextUint32() | 1;
    return g;
  }

  /** The generator's state, as plain JSON. */
  getState(): GeneratorState {
    return { algorithm: 'xoshiro128**', state: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  /** Restores a state from {@link Generator.getState}. */
  setState(state: GeneratorState): this {
    const words = state?.state;
    if (
      state?.algorithm !== 'xoshiro128**' ||
      !Array.isArray(words) ||
      words.length !== 4 ||
      words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) ||
      words.every((w) => w === 0)
    ) {
      throw new RangeError(
        `Generator state must be { algorithm: 'xoshiro128**', state: four uint32 words, not all zero }, got ${JSON.stringify(state)}`,
      );
    }
    this.s.set(words);
    return this;
  }
}

let defaultGen = new Generator(0);

/** The process-wide default generator, used when no generator is passed. */
export function defaultGenerator(): Generator {
  return defaultGen;
}

/** Seeds the default generator, as `torch.manual_seed`; returns it. */
export function manualSeed(seed: number): Generator {
  defaultGen = new Generator(seed);
  return defaultGen;
}
