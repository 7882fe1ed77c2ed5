import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';

/** Yields dataset indices, like `torch.utils.data.Sampler`. */
export interface Sampler extends Iterable<number> {
  /** How many indices one pass yields. */
  readonly length: number;
}

/** Yields 0..n-1 in order, like `torch.utils.data.SequentialSampler`. */
export class SequentialSampler implements Sampler {
  constructor(private readonly source: { length: number }) {}

  get length(): number {
    return this.source.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.source.length; i++) yield i;
  }
}

/** Options of {@link RandomSampler}, as `torch.utils.data.RandomSampler`'s kwargs. */
export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** Indices per pass (default: the dataset length). */
  numSamples?: number;
  /** The randomness; default: the process-wide default generator. */
  generator?: Generator;
}

/**
 * Yields random indices, like `torch.utils.data.RandomSampler`. Each pass (each call of
 * `[Symbol.iterator]`) draws a fresh permutation from the generator up front, so the
 * sequence of passes depends only on the generator's state when the pass starts. Without
 * replacement and `numSamples > length`, whole permutations are concatenated, as in PyTorch.
 */
export class RandomSampler implements Sampler {
  readonly replacement: boolean;
  readonly generator: Generator;
  private readonly numSamples: number | undefined;

  constructor(
    private readonly source: { length: number },
    options: RandomSamplerOptions = {},
  ) {
    this.replacement = options.replacement ?? false;
    this.generator = options.generator ?? defaultGenerator();
    this.numSamples = options.numSamples;
    if (
      this.numSamples !== undefined &&
      (!Number.isInteger(this.numSamples) || this.numSamples <= 0)
    ) {
      throw new ValueError(
        `RandomSampler numSamples must be a positive integer, got ${formatValue(this.numSamples)}`,
      );
    }
  }

  get length(): number {
    return this.numSamples ?? this.source.length;
  }

  /** One pass's indices, drawn now. */
  draw(): Int32Array {
    const n = this.source.length;
    const total = this.length;
    const out = new Int32Array(total);
    if (n === 0) return out;
    if (this.replacement) {
      for (let i = 0; i < total; i++) out[i] = this.generator.randint(n);
      return out;
    }
    for (let offset = 0; offset < total; offset += n) {
      const perm = this.generator.permutation(n);
      out.set(perm.subarray(0, Math.min(n, total - offset)), offset);
    }
    return out;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.draw()[Symbol.iterator]();
  }
}

/** Groups a sampler's indices into batches, like `torch.utils.data.BatchSampler`. */
export class BatchSampler implements Iterable<number[]> {
  constructor(
    readonly sampler: Sampler,
    readonly batchSize: number,
    readonly dropLast = false,
  ) {
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new ValueError(`batchSize must be a positive integer, got ${formatValue(batchSize)}`);
    }
  }

  /** Batches per pass: ceil(n / batchSize), or floor with `dropLast`. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
