import { formatValue, type Generator, ValueError } from '@resnet-ts/core';

/**
 * A map-style dataset, like `torch.utils.data.Dataset`: `length` samples reachable by index.
 * Anything with these two members is a dataset; no base class is needed.
 */
export interface Dataset<T> {
  /** The number of samples. */
  readonly length: number;
  /** The sample at `index`, 0 <= index < length. */
  get(index: number): T;
}

/** Throws a RangeError unless `index` is an integer in [0, length). */
export function checkIndex(index: number, length: number, what: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${what} index ${formatValue(index)} out of range [0, ${length})`);
  }
}

/** The samples of `dataset` at the given indices, like `torch.utils.data.Subset`. */
export class Subset<T> implements Dataset<T> {
  /** The indices into the parent dataset, in order. */
  readonly indices: Int32Array;

  constructor(
    readonly dataset: Dataset<T>,
    indices: ArrayLike<number>,
  ) {
    this.indices = Int32Array.from(indices);
    for (const i of this.indices) checkIndex(i, dataset.length, 'Subset');
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex(index, this.indices.length, 'Subset');
    return this.dataset.get(this.indices[index]);
  }
}

/** Several datasets end to end, like `torch.utils.data.ConcatDataset`. */
export class ConcatDataset<T> implements Dataset<T> {
  /** Running totals: `cumulativeSizes[k]` samples lie in datasets 0..k. */
  readonly cumulativeSizes: number[];

  constructor(readonly datasets: readonly Dataset<T>[]) {
    if (datasets.length === 0) throw new ValueError('ConcatDataset needs at least one dataset');
    let total = 0;
    this.cumulativeSizes = datasets.map((d) => {
      total += d.length;
      return total;
    });
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  get(index: number): T {
    checkIndex(index, this.length, 'ConcatDataset');
    let lo = 0;
    let hi = this.cumulativeSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeSizes[mid] > index) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.cumulativeSizes[lo - 1];
    return this.datasets[lo].get(index - start);
  }
}

/** The first `n` samples of `dataset` (all of it when `n` is undefined or not smaller). */
export function firstN<T>(dataset: Dataset<T>, n: number | undefined): Dataset<T> {
  if (n === undefined || n >= dataset.length) return dataset;
  if (!Number.isInteger(n) || n < 0) {
    throw new ValueError(`firstN: n must be a non-negative integer, got ${formatValue(n)}`);
  }
  return new Subset(
    dataset,
    Int32Array.from({ length: n }, (_, i) => i),
  );
}

/**
 * Splits a dataset into non-overlapping random subsets, like `torch.utils.data.random_split`.
 * `lengths` are sample counts summing to the dataset's length, or fractions summing to 1
 * (the remainder after flooring goes round-robin to the first subsets, as in PyTorch).
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  generator: Generator,
): Subset<T>[] {
  const n = dataset.length;
  let counts = [...lengths];
  const sum = counts.reduce((a, b) => a + b, 0);
  const allFractions = counts.every((f) => f >= 0 && f <= 1);
  if (allFractions && Math.abs(sum - 1) < 1e-9 && sum !== n) {
    counts = counts.map((f) => Math.floor(n * f));
    let remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; remainder > 0; i = (i + 1) % counts.length, remainder--) counts[i]++;
  }
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new ValueError(
      `randomSplit lengths must be non-negative integers or fractions summing to 1, got ${formatValue(lengths)}`,
    );
  }
  if (counts.reduce((a, b) => a + b, 0) !== n) {
    throw new ValueError(
      `randomSplit lengths ${formatValue(lengths)} sum to ${sum}, expected the dataset length ${n} (or fractions summing to 1)`,
    );
  }
  const perm = generator.permutation(n);
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.subarray(offset, offset + c)));
    offset += c;
  }
  return out;
}
