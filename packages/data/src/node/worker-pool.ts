import { Worker } from 'node:worker_threads';
import { formatValue, Generator, ResnetError, ValueError } from '@resnet-ts/core';
import { type PackedBatch, packImages } from '../collate.js';
import { checkIndex, type Dataset } from '../dataset.js';
import type { ImageSample } from '../sample.js';

/**
 * What a worker module's factory returns: the dataset each worker reads from, and the
 * generator its random transforms draw from (re-seeded for every sample, see
 * {@link WorkerPoolDataset}).
 */
export interface WorkerDatasetParts {
  dataset: Dataset<ImageSample | Promise<ImageSample>>;
  generator?: Generator;
}

/** Options of {@link WorkerPoolDataset.open}. */
export interface WorkerPoolOptions {
  /** Worker threads, PyTorch's `num_workers` (at least 1). */
  numWorkers: number;
  /** Seeds the per-sample seeds; the same seed gives the same samples. Exclusive with `generator`. */
  seed?: number;
  /** Draws the per-sample seeds; save its state to resume. Default: seeded with `seed` or 0. */
  generator?: Generator;
  /** Passed to the factory in every worker (structured-cloneable). */
  args?: unknown;
  /** The factory's export name (default `createDataset`). */
  exportName?: string;
}

/** Thrown when a worker fails to start or a sample fails in a worker. */
export class WorkerSampleError extends ResnetError {
  override name = 'WorkerSampleError';
}

// Runs in each worker (evaluated from this string, so it needs no file of its own):
// builds the dataset from the user's module, then serves one sample at a time, re-seeding
// the transforms' generator first, so a sample does not depend on which worker made it.
const WORKER_MAIN = `
const fail = (e) => ({ name: String(e && e.name || 'Error'), message: String(e && e.message || e) });
(async () => {
  // import(), not require: the code runs as CommonJS or as a module, by the parent's flags.
  const { parentPort, workerData } = await import('node:worker_threads');
  let parts;
  try {
    const mod = await import(workerData.module);
    const factory = mod[workerData.exportName];
    if (typeof factory !== 'function') {
      throw new Error(workerData.module + ' exports no function ' + workerData.exportName);
    }
    parts = await factory(workerData.args);
  } catch (e) {
    parentPort.postMessage({ type: 'failed', ...fail(e) });
    return;
  }
  const { dataset, generator } = parts;
  parentPort.postMessage({ type: 'ready', length: dataset.length });
  // What became of one sample: written into the shared batch (nothing to transfer, nothing
  // to copy when the transform wrote its result there already), or the sample itself.
  const settle = async (m, out, sample) => {
    try {
      const s = await sample;
      let image = s.image;
      if (out && image.length === out.size && String(s.shape) === String(out.shape)) {
        if (image.buffer !== out.buffer || image.byteOffset !== m.offset * 4) {
          new Float32Array(out.buffer, m.offset * 4, out.size).set(image);
        }
        return { message: { type: 'written', id: m.id, label: s.label } };
      }
      if (image.buffer instanceof SharedArrayBuffer || image.byteOffset !== 0 || image.byteLength !== image.buffer.byteLength) image = image.slice();
      return { message: { type: 'sample', id: m.id, image, shape: s.shape, label: s.label }, transfer: image.buffer };
    } catch (e) {
      return { message: { type: 'error', id: m.id, ...fail(e) } };
    }
  };
  const reseed = (seed) => () => { if (generator) generator.manualSeed(seed); };
  const start = (m, out) => {
    if (typeof dataset.getWith === 'function') {
      // An ImageFolder decodes the next pictures while this one is transformed, and re-seeds
      // right before each transform, in order.
      const slot = out ? new Float32Array(out.buffer, m.offset * 4, out.size) : undefined;
      try { return dataset.getWith(m.index, reseed(m.seed), slot); } catch (e) { return Promise.reject(e); }
    }
    const sample = chain.then(() => {
      reseed(m.seed)();
      return dataset.get(m.index);
    });
    chain = sample.catch(() => undefined);
    return sample;
  };
  let chain = Promise.resolve();
  parentPort.on('message', (m) => {
    // A share of a batch comes as one message and goes back as one: a message per sample
    // would wake both threads for each, and hand this thread the shared batch each time.
    const out = m.out ? { buffer: m.out, size: m.size, shape: m.shape } : undefined;
    const done = m.items.map((item) => settle(item, out, start(item, out)));
    Promise.all(done).then((replies) => {
      const transfer = replies.flatMap((r) => (r.transfer ? [r.transfer] : []));
      parentPort.postMessage({ type: 'replies', replies: replies.map((r) => r.message) }, transfer);
    });
  });
})();
`;

/** A worker's answer: the sample, or its label once its pixels are written into a batch. */
type Reply = ImageSample | { written: true; label: number };

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/** Where the workers write a batch's pixels as float32: sample k's `size` values from `k * size` of `out`. */
interface BatchSlot {
  out: SharedArrayBuffer;
  size: number;
  shape: readonly number[];
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * A dataset read by worker threads, PyTorch's `DataLoader(num_workers=N)` for Node: each
 * worker imports `module` and calls its factory (`createDataset(args)` by default) to build
 * its own copy of the dataset and transforms, then decodes and transforms the samples it is
 * sent. `get(i)` returns a promise, which a `DataLoader` awaits: with its `prefetch`,
 * the workers fill batches ahead while training runs, and batches stay in order.
 *
 * Reproducible like the in-process loader: before each sample the worker re-seeds the
 * factory's `generator` with a seed drawn here, in request order, from {@link generator}, so
 * the same seed gives the same samples whatever the number of workers or their timing.
 * Call {@link close} when done.
 */
export class WorkerPoolDataset implements Dataset<Promise<ImageSample>> {
  /** Draws one seed per requested sample. */
  readonly generator: Generator;
  readonly length: number;
  private readonly workers: PoolWorker[];
  private nextId = 0;
  /** `[H, W, C]` of the samples, once a packed batch has shown it. */
  private sampleShape: number[] | undefined;

  private constructor(workers: PoolWorker[], length: number, generator: Generator) {
    this.workers = workers;
    this.length = length;
    this.generator = generator;
    for (const w of workers) this.listen(w);
  }

  /** Starts `numWorkers` workers on `module` and waits until each has built its dataset. */
  static async open(module: string | URL, options: WorkerPoolOptions): Promise<WorkerPoolDataset> {
    const { numWorkers } = options;
    if (!Number.isInteger(numWorkers) || numWorkers < 1) {
      throw new ValueError(
        `WorkerPoolDataset numWorkers must be a positive integer, got ${formatValue(numWorkers)}`,
      );
    }
    if (options.generator && options.seed !== undefined) {
      throw new ValueError('WorkerPoolDataset takes a generator or a seed, not both');
    }
    const workerData = {
      module: module instanceof URL ? module.href : new URL(module, 'file:///').href,
      exportName: options.exportName ?? 'createDataset',
      args: options.args,
    };
    const started = Array.from({ length: numWorkers }, () => {
      const worker = new Worker(WORKER_MAIN, { eval: true, workerData });
      return new Promise<{ worker: Worker; length: number }>((resolve, reject) => {
        worker.once('message', (m) => {
          if (m.type === 'ready') resolve({ worker, length: m.length });
          else
            reject(
              new WorkerSampleError(`worker could not build the dataset: ${m.name}: ${m.message}`),
            );
        });
        worker.once('error', (e) => reject(new WorkerSampleError(`worker failed: ${e.message}`)));
      });
    });
    const results = await Promise.allSettled(started);
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) {
      await Promise.all(
        results.map((r) => (r.status === 'fulfilled' ? r.value.worker.terminate() : undefined)),
      );
      throw (failure as PromiseRejectedResult).reason;
    }
    const ready = results.map(
      (r) => (r as PromiseFulfilledResult<{ worker: Worker; length: number }>).value,
    );
    const lengths = new Set(ready.map((r) => r.length));
    if (lengths.size !== 1) {
      await Promise.all(ready.map((r) => r.worker.terminate()));
      throw new WorkerSampleError(
        `workers built datasets of different lengths ${[...lengths].join(', ')}`,
      );
    }
    for (const r of ready) r.worker.unref();
    const generator = options.generator ?? new Generator(options.seed ?? 0);
    return new WorkerPoolDataset(
      ready.map((r) => ({ worker: r.worker, pending: new Map() })),
      ready[0].length,
      generator,
    );
  }

  get(index: number): Promise<ImageSample> {
    return this.request([index], undefined)[0] as Promise<ImageSample>;
  }

  /**
   * The samples at `indices` packed into one float32 batch, as `packImages` of their `get`s
   * (same seeds, same values): once a batch has shown the samples' shape, the workers write
   * each sample's pixels straight into a shared batch, so nothing is copied on this thread.
   * A `DataLoader` without a `collate` reads batches this way.
   */
  async getPackedBatch(indices: readonly number[]): Promise<PackedBatch> {
    const shape = this.sampleShape;
    if (!shape) {
      const samples = await Promise.all(indices.map((i) => this.get(i)));
      const packed = packImages(samples);
      this.sampleShape = packed.shape.slice(1);
      return packed;
    }
    const size = shape[0] * shape[1] * shape[2];
    const out = new SharedArrayBuffer(indices.length * size * 4);
    const replies = await Promise.all(this.request(indices, { out, size, shape }));
    const x = new Float32Array(out);
    if (replies.every((r) => 'written' in r)) {
      return {
        x,
        shape: [indices.length, shape[0], shape[1], shape[2]],
        y: Int32Array.from(replies, (r) => r.label),
      };
    }
    // A sample of another shape: collate as get() would have, which names the odd one out.
    const samples = replies.map(
      (r, k): ImageSample =>
        'written' in r
          ? {
              image: x.subarray(k * size, (k + 1) * size),
              shape: [shape[0], shape[1], shape[2]],
              label: r.label,
            }
          : r,
    );
    return packImages(samples);
  }

  /**
   * Sends the samples at `indices` to the workers, one message per worker: each takes a run
   * of consecutive requests, the least busy first. The seeds are drawn here in request
   * order, so which worker makes a sample does not change it (see the class note).
   */
  private request(indices: readonly number[], batch: BatchSlot | undefined): Promise<Reply>[] {
    for (const index of indices) checkIndex(index, this.length, 'WorkerPoolDataset');
    const items = indices.map((index, k) => ({
      id: this.nextId++,
      index,
      seed: this.generator.nextUint32(),
      offset: batch ? k * batch.size : 0,
    }));
    const replies: Promise<Reply>[] = [];
    const workers = [...this.workers].sort((a, b) => a.pending.size - b.pending.size);
    const share = Math.ceil(items.length / workers.length);
    workers.forEach((target, w) => {
      const mine = items.slice(w * share, (w + 1) * share);
      if (mine.length === 0) return;
      if (target.pending.size === 0) target.worker.ref(); // keep Node alive while a sample is owed
      for (const item of mine) {
        replies.push(
          new Promise<Reply>((resolve, reject) => target.pending.set(item.id, { resolve, reject })),
        );
      }
      target.worker.postMessage({ items: mine, ...batch });
    });
    // The replies in request order: worker w holds items [w * share, (w + 1) * share).
    return replies;
  }

  /** Stops the workers; samples still owed are rejected. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private listen(w: PoolWorker): void {
    const settle = (id: number) => {
      const p = w.pending.get(id);
      w.pending.delete(id);
      if (w.pending.size === 0) w.worker.unref();
      return p;
    };
    w.worker.on('message', (batch) => {
      for (const m of batch.replies) {
        const p = settle(m.id);
        if (!p) continue;
        if (m.type === 'sample') p.resolve({ image: m.image, shape: m.shape, label: m.label });
        else if (m.type === 'written') p.resolve({ written: true, label: m.label });
        else p.reject(Object.assign(new WorkerSampleError(m.message), { name: m.name }));
      }
    });
    const failAll = (why: string) => {
      for (const id of [...w.pending.keys()]) settle(id)?.reject(new WorkerSampleError(why));
    };
    w.worker.on('error', (e) => failAll(`worker failed: ${e.message}`));
    w.worker.on('exit', (code) => failAll(`worker stopped (exit code ${code})`));
  }
}
