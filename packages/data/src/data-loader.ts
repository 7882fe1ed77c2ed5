import { defaultGenerator, formatValue, Generator, ValueError } from '@resnet-ts/core';
import { dispose, type Tensor } from '@tensorflow/tfjs-core';
import {
  type Batch,
  defaultCollate,
  isImageSample,
  type PackedBatch,
  packedToBatch,
  packImages,
} from './collate.js';
import type { Dataset } from './dataset.js';
import { BatchSampler, RandomSampler, type Sampler, SequentialSampler } from './samplers.js';

/** Something that yields batches of indices: a {@link BatchSampler} or your own. */
export interface BatchSamplerLike extends Iterable<number[]> {
  /** Batches per pass. */
  readonly length: number;
}

/** Options of {@link DataLoader}, named after `torch.utils.data.DataLoader`'s kwargs. */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order every epoch (default false). */
  shuffle?: boolean;
  /** The generator shuffling draws from. Exclusive with `seed`. */
  generator?: Generator;
  /** Seed of a new generator for shuffling. Without `generator` or `seed`, a fork of core's default generator. */
  seed?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Where indices come from; exclusive with `shuffle`. */
  sampler?: Sampler;
  /** Where whole batches of indices come from; exclusive with batchSize, shuffle, sampler, dropLast. */
  batchSampler?: BatchSamplerLike;
  /** Turns a list of samples into a batch (default {@link defaultCollate}). */
  collate?: (samples: Awaited<T>[]) => B;
  /** How many batches to prepare ahead of the consumer (default 2; 0 prepares on demand). */
  prefetch?: number;
}

/**
 * A dataset that packs whole image batches itself (a Node worker pool writing into shared
 * memory); a {@link DataLoader} without `collate` asks it for batches instead of samples.
 */
export interface PackedBatchSource {
  /** The samples at `indices` as `packImages` would pack them. */
  getPackedBatch(indices: readonly number[]): Promise<PackedBatch>;
}

type Ready<T> = { packed: PackedBatch } | { samples: T[] };
/** A batch being prepared: ready, or still awaiting samples of an asynchronous dataset. */
type Prepared<T> = Ready<T> | { pending: Promise<Ready<T>> };

const yieldToEventLoop: (fn: () => void) => void =
  typeof setImmediate === 'function'
    ? (fn) => setImmediate(fn)
    : (() => {
        // A MessageChannel task runs as soon as the event loop is free, without the 4 ms
        // clamp nested setTimeout calls get in browsers.
        if (typeof MessageChannel !== 'function') return (fn) => setTimeout(fn, 0);
        const channel = new MessageChannel();
        const pending: (() => void)[] = [];
        channel.port1.onmessage = () => pending.shift()?.();
        return (fn) => {
          pending.push(fn);
          channel.port2.postMessage(null);
        };
      })();

/**
 * Iterates a dataset in batches, like `torch.utils.data.DataLoader`:
 *
 * ```ts
 * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 0 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const { x, y } of loader) {
 *     trainStep(x, y);
 *     x.dispose();
 *     y.dispose();
 *   }
 * }
 * ```
 *
 * A dataset whose `get` returns promises (an {@link ImageFolder} decoding files, a Node worker
 * pool) is awaited: each batch's samples load in parallel, batches still come in order.
 *
 * Each `for await` is one epoch; with `shuffle`, every epoch draws a new permutation from
 * {@link DataLoader.generator}, so the same seed gives the same sequence of epochs, and saving
 * `loader.generator.getState()` between epochs and restoring it with `setState` resumes the
 * sequence. Every sample appears exactly once per epoch (without a custom sampler).
 *
 * **The consumer owns each batch's tensors** and must dispose them (or run the step in
 * `tf.tidy`); the loader keeps no reference to a batch once it is handed out.
 *
 * While the consumer works on one batch, the loader prepares up to `prefetch` more (reading
 * samples, running transforms, packing typed arrays) in event-loop tasks, so the CPU work
 * overlaps whatever the training step awaits (GPU work on webgl/webgpu, a `data()` read).
 * A step that never yields (the cpu backend computes synchronously) leaves no gap to fill;
 * batches are then prepared on demand, which costs the same CPU time. Tensors are only
 * created when a batch is handed out, so breaking out of a loop early leaves none behind.
 */
export class DataLoader<T, B = Batch> implements AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  /** Batches of indices, one pass per epoch. */
  readonly batchSampler: BatchSamplerLike;
  /** The generator shuffling draws from; save/restore its state to resume. */
  readonly generator: Generator;
  readonly batchSize: number | undefined;
  readonly prefetch: number;
  private readonly collate: ((samples: Awaited<T>[]) => B) | undefined;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const { shuffle = false, dropLast = false, sampler, batchSampler } = options;
    if (options.generator && options.seed !== undefined) {
      throw new ValueError('DataLoader takes a generator or a seed, not both');
    }
    if (sampler && shuffle) {
      throw new ValueError('DataLoader sampler option is mutually exclusive with shuffle');
    }
    if (batchSampler && (options.batchSize !== undefined || shuffle || sampler || dropLast)) {
      throw new ValueError(
        'DataLoader batchSampler option is mutually exclusive with batchSize, shuffle, sampler and dropLast',
      );
    }
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new ValueError(
        `DataLoader prefetch must be a non-negative integer, got ${formatValue(prefetch)}`,
      );
    }
    this.dataset = dataset;
    this.prefetch = prefetch;
    this.collate = options.collate;
    this.generator =
      options.generator ??
      (options.seed !== undefined ? new Generator(options.seed) : defaultGenerator().fork());
    if (batchSampler) {
      this.batchSize = undefined;
      this.batchSampler = batchSampler;
    } else {
      this.batchSize = options.batchSize ?? 1;
      const indices =
        sampler ??
        (shuffle
          ? new RandomSampler(dataset, { generator: this.generator })
          : new SequentialSampler(dataset));
      this.batchSampler = new BatchSampler(indices, this.batchSize, dropLast);
    }
  }

  /** Batches per epoch: ceil(n / batchSize), or floor with `dropLast`. */
  get length(): number {
    return this.batchSampler.length;
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    return new EpochIterator<T, B>(this.dataset, this.batchSampler, this.collate, this.prefetch);
  }
}

class EpochIterator<T, B> implements AsyncIterator<B> {
  private readonly indices: Iterator<number[]>;
  private readonly queue: Prepared<Awaited<T>>[] = [];
  private exhausted = false;
  private closed = false;
  private filling = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly dataset: Dataset<T>,
    batchSampler: BatchSamplerLike,
    private readonly collate: ((samples: Awaited<T>[]) => B) | undefined,
    private readonly prefetch: number,
  ) {
    this.indices = batchSampler[Symbol.iterator]();
  }

  async next(): Promise<IteratorResult<B>> {
    if (this.closed) return { done: true, value: undefined };
    if (this.failure && this.queue.length === 0) {
      this.closed = true;
      throw this.failure.error;
    }
    if (this.queue.length === 0 && !this.prepareOne()) {
      this.closed = true;
      return { done: true, value: undefined };
    }
    const item = this.queue.shift()!;
    this.scheduleFill();
    if (!('pending' in item)) return { done: false, value: this.finish(item) };
    try {
      return { done: false, value: this.finish(await item.pending) };
    } catch (error) {
      await this.return();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<B>> {
    this.closed = true;
    for (const item of this.queue.splice(0)) {
      if ('samples' in item) disposeTensors(item.samples);
      if ('pending' in item) {
        item.pending.then((ready) => 'samples' in ready && disposeTensors(ready.samples), noop);
      }
    }
    return { done: true, value: undefined };
  }

  private prepareOne(): boolean {
    if (this.exhausted) return false;
    const step = this.indices.next();
    if (step.done) {
      this.exhausted = true;
      return false;
    }
    const source = this.dataset as Partial<PackedBatchSource>;
    if (!this.collate && typeof source.getPackedBatch === 'function') {
      const pending = source.getPackedBatch(step.value).then((packed) => ({ packed }));
      pending.catch(noop); // reported when the consumer reaches this batch
      this.queue.push({ pending });
      return true;
    }
    const samples = step.value.map((i) => this.dataset.get(i));
    if (samples.some(isThenable)) {
      // An asynchronous dataset (decoding files, worker threads): every sample of the batch is
      // requested now, so they load in parallel; the batch keeps its place in the queue.
      const pending = Promise.all(samples).then((s) => this.ready(s));
      pending.catch(noop); // reported when the consumer reaches this batch
      this.queue.push({ pending });
    } else {
      this.queue.push(this.ready(samples as Awaited<T>[]));
    }
    return true;
  }

  private ready(samples: Awaited<T>[]): Ready<Awaited<T>> {
    return !this.collate && samples.length > 0 && isImageSample(samples[0])
      ? { packed: packImages(samples as never) }
      : { samples };
  }

  private finish(item: Ready<Awaited<T>>): B {
    if ('packed' in item) return packedToBatch(item.packed) as B;
    return (this.collate ?? defaultCollate)(item.samples);
  }

  private scheduleFill(): void {
    if (this.filling || this.prefetch === 0) return;
    this.filling = true;
    yieldToEventLoop(this.fillStep);
  }

  private readonly fillStep = (): void => {
    if (this.closed || this.exhausted || this.queue.length >= this.prefetch) {
      this.filling = false;
      return;
    }
    try {
      this.prepareOne();
    } catch (error) {
      this.failure = { error };
      this.filling = false;
      return;
    }
    yieldToEventLoop(this.fillStep);
  };
}

const noop = () => {};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function disposeTensors(samples: unknown[]): void {
  for (const s of samples) {
    if (Array.isArray(s)) dispose(s.filter((t): t is Tensor => typeof t?.dispose === 'function'));
    else if (typeof (s as Tensor)?.dispose === 'function') (s as Tensor).dispose();
  }
}
