/**
 * A shuffled batch order that can be resumed mid-epoch: each pass shuffles with a seeded
 * generator as `DataLoader({ shuffle: true, seed })` does, and remembers the generator's state
 * from before it drew the pass's permutation. Saved with the number of batches done, that
 * state lets a new process (a reloaded page) draw the same permutation again and continue
 * after those batches.
 */
import { formatValue, Generator, type GeneratorState, ValueError } from '@resnet-ts/core';
import type { BatchSamplerLike } from './data-loader.js';
import { BatchSampler, RandomSampler } from './samplers.js';

/** Where a pass over the data stands: enough to draw the same batches again. */
export interface LoaderPosition {
  /** The shuffling generator's state before the current pass drew its permutation. */
  passStart: GeneratorState;
  /** Batches of the current pass already trained on. */
  batchesDone: number;
}

/**
 * Shuffled batches of a dataset's indices whose position can be saved and restored mid-pass.
 * Give it to `DataLoader` as `batchSampler` (with `generator: sampler.generator`).
 *
 * @example
 * const sampler = new ResumableBatchSampler(dataset, { batchSize: 32, seed: 0 });
 * const loader = new DataLoader(dataset, { batchSampler: sampler, generator: sampler.generator });
 * // after 5 batches of a pass: save JSON.stringify(sampler.position(5)); after a restart:
 * sampler.restore(saved); // the next pass yields that pass's batches from the 6th on
 */
export class ResumableBatchSampler implements BatchSamplerLike {
  readonly generator: Generator;
  private readonly batches: BatchSampler;
  private passStart: GeneratorState;
  private skip = 0;

  constructor(
    source: { length: number },
    { batchSize, seed }: { batchSize: number; seed: number },
  ) {
    this.generator = new Generator(seed);
    this.batches = new BatchSampler(
      new RandomSampler(source, { generator: this.generator }),
      batchSize,
    );
    this.passStart = this.generator.getState();
  }

  /**
   * Batches in a whole pass, also during a resumed one that yields fewer: a scheduler's steps
   * per epoch and progress are counted in whole passes.
   */
  get length(): number {
    return this.batches.length;
  }

  /** The position after `batchesDone` batches of the current pass. */
  position(batchesDone: number): LoaderPosition {
    return { passStart: this.passStart, batchesDone };
  }

  /** The position once the current pass has ended: the start of the next one. */
  nextPass(): LoaderPosition {
    return { passStart: this.generator.getState(), batchesDone: 0 };
  }

  /** Makes the next pass draw the permutation `position` was taken in and skip its done batches. */
  restore(position: LoaderPosition): void {
    const done = position?.batchesDone;
    if (!Number.isInteger(done) || done < 0 || done > this.length) {
      throw new ValueError(
        `ResumableBatchSampler: batchesDone must be an integer from 0 to ${this.length}, got ${formatValue(done)}`,
      );
    }
    this.generator.setState(position.passStart);
    this.skip = position.batchesDone;
  }

  [Symbol.iterator](): Iterator<number[]> {
    this.passStart = this.generator.getState();
    const skip = this.skip;
    this.skip = 0;
    // Drawn now, not on the first `next()`, so the pass's start state is the one recorded.
    return [...this.batches].slice(skip)[Symbol.iterator]();
  }
}
