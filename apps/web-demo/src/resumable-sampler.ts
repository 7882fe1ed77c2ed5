/**
 * The training loader's batch order, resumable mid-epoch: each pass shuffles with a seeded
 * generator as `DataLoader({ shuffle: true, seed })` does, and remembers the generator's state
 * from before it drew the pass's permutation. Saved with the number of batches done, that state
 * lets a reloaded page draw the same permutation again and continue after those batches.
 */
import { Generator, type GeneratorState } from '@resnet-ts/core';
import { BatchSampler, type BatchSamplerLike, RandomSampler } from '@resnet-ts/data';

/** Where a pass over the data stands: enough to draw the same batches again. */
export interface LoaderPosition {
  /** The shuffling generator's state before the current pass drew its permutation. */
  passStart: GeneratorState;
  /** Batches of the current pass already trained on. */
  batchesDone: number;
}

/** Shuffled batches of `0..n-1` whose position can be saved and restored mid-pass. */
export class ResumableBatchSampler implements BatchSamplerLike {
  readonly generator: Generator;
  private readonly batches: BatchSampler;
  private passStart: GeneratorState;
  private skip = 0;

  constructor(n: number, batchSize: number, seed: number) {
    this.generator = new Generator(seed);
    this.batches = new BatchSampler(
      new RandomSampler({ length: n }, { generator: this.generator }),
      batchSize,
    );
    this.passStart = this.generator.getState();
  }

  /**
   * Batches in a whole pass, also during a resumed one that yields fewer: the scheduler's
   * steps per epoch and the progress shown are counted in whole passes.
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
