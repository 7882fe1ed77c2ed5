import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataLoader } from './data-loader.js';
import { ImageArrayDataset } from './image-array-dataset.js';
import type { ImageSample } from './sample.js';
import { BatchSampler, SequentialSampler } from './samplers.js';
import { TensorDataset } from './tensor-dataset.js';
import { ToTensor } from './transforms/to-tensor.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** n images of 2x2x1 whose pixels all equal the index, labelled index % 10. */
function indexDataset(n: number) {
  const images = new Uint8Array(n * 4);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images.fill(i, i * 4, i * 4 + 4);
    labels[i] = i % 10;
  }
  return new ImageArrayDataset(images, labels, [2, 2, 1]);
}

async function epochIds(loader: DataLoader<ImageSample>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const { x, y } of loader) {
    const px = await x.data();
    out.push(Array.from({ length: x.shape[0] }, (_, b) => px[b * 4]));
    tf.dispose([x, y]);
  }
  return out;
}

describe('DataLoader', () => {
  it('batches in order without shuffle: shapes, dtypes, labels, last partial batch', async () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = [];
    for await (const b of loader) batches.push(b);
    expect(batches.map((b) => b.x.shape)).toEqual([
      [4, 2, 2, 1],
      [4, 2, 2, 1],
      [2, 2, 2, 1],
    ]);
    expect(batches[0].x.dtype).toBe('float32');
    expect(batches[0].y.dtype).toBe('int32');
    expect(Array.from(await batches[2].y.data())).toEqual([8, 9]);
    expect(Array.from(await batches[1].x.data()).slice(0, 5)).toEqual([4, 4, 4, 4, 5]);
    for (const b of batches) tf.dispose([b.x, b.y]);
  });

  it('dropLast floors the batch count and drops the remainder', async () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    const ids = await epochIds(loader);
    expect(ids.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('shuffle: every sample exactly once per epoch, a new order each epoch', async () => {
    const loader = new DataLoader(indexDataset(50), { batchSize: 8, shuffle: true, seed: 3 });
    const e1 = (await epochIds(loader)).flat();
    const e2 = (await epochIds(loader)).flat();
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...e2].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(e1).not.toEqual(e2);
    expect(e1).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('the same seed gives the same sequence of epochs; generator state resumes it', async () => {
    const make = () => new DataLoader(indexDataset(30), { batchSize: 7, shuffle: true, seed: 11 });
    const a = make();
    const b = make();
    const a1 = await epochIds(a);
    const saved = a.generator.getState();
    const a2 = await epochIds(a);
    const a3 = await epochIds(a);
    expect(await epochIds(b)).toEqual(a1);
    expect(await epochIds(b)).toEqual(a2);

    const resumed = make();
    resumed.generator.setState(saved);
    expect(await epochIds(resumed)).toEqual(a2);
    expect(await epochIds(resumed)).toEqual(a3);

    const other = new DataLoader(indexDataset(30), { batchSize: 7, shuffle: true, seed: 12 });
    expect(await epochIds(other)).not.toEqual(a1);
  });

  it('matches the permutation the generator draws (RandomSampler semantics)', async () => {
    const loader = new DataLoader(indexDataset(20), { batchSize: 20, shuffle: true, seed: 5 });
    const expected = Array.from(new Generator(5).permutation(20));
    expect((await epochIds(loader))[0]).toEqual(expected);
  });

  it('a full epoch with the consumer disposing leaves no tensors behind, with any prefetch', async () => {
    for (const prefetch of [0, 1, 3]) {
      const loader = new DataLoader(indexDataset(37), {
        batchSize: 5,
        shuffle: true,
        seed: 1,
        prefetch,
      });
      const before = tf.memory().numTensors;
      let batches = 0;
      for await (const { x, y } of loader) {
        batches++;
        tf.dispose([x, y]);
      }
      expect(batches).toBe(8);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('breaking out early leaves no tensors behind and no batch is built ahead as a tensor', async () => {
    const loader = new DataLoader(indexDataset(40), { batchSize: 4, prefetch: 4 });
    const before = tf.memory().numTensors;
    for await (const { x, y } of loader) {
      await new Promise((r) => setTimeout(r, 5));
      tf.dispose([x, y]);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('prepares batches ahead while the consumer awaits, bounded by prefetch', async () => {
    let reads = 0;
    const base = indexDataset(40);
    const counting = {
      length: base.length,
      get: (i: number) => {
        reads++;
        return base.get(i);
      },
    };
    const loader = new DataLoader(counting, { batchSize: 4, prefetch: 3 });
    const it = loader[Symbol.asyncIterator]();
    const first = await it.next();
    tf.dispose(first.value);
    expect(reads).toBe(4);
    await new Promise((r) => setTimeout(r, 20));
    // 1 handed out + 3 prepared ahead, no more.
    expect(reads).toBe(16);
    await it.return?.();
  });

  it('prefetch 0 prepares nothing ahead', async () => {
    let reads = 0;
    const base = indexDataset(40);
    const loader = new DataLoader(
      {
        length: base.length,
        get: (i: number) => {
          reads++;
          return base.get(i);
        },
      },
      { batchSize: 4, prefetch: 0 },
    );
    const it = loader[Symbol.asyncIterator]();
    tf.dispose((await it.next()).value);
    await new Promise((r) => setTimeout(r, 20));
    expect(reads).toBe(4);
  });

  it('surfaces an error from a sample read in the background, after the batches before it', async () => {
    const base = indexDataset(12);
    const failing = {
      length: 12,
      get: (i: number) => {
        if (i === 9) throw new Error('bad sample 9');
        return base.get(i);
      },
    };
    const loader = new DataLoader(failing, { batchSize: 4, prefetch: 2 });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const { x, y } of loader) {
          seen.push(x.shape[0]);
          await new Promise((r) => setTimeout(r, 5));
          tf.dispose([x, y]);
        }
      })(),
    ).rejects.toThrow('bad sample 9');
    expect(seen).toEqual([4, 4]);
  });

  it('applies dataset transforms and stacks TensorDataset rows', async () => {
    const ds = indexDataset(6);
    ds.transform = new ToTensor();
    const loader = new DataLoader(ds, { batchSize: 6 });
    for await (const { x, y } of loader) {
      expect((await x.data())[5 * 4]).toBeCloseTo(5 / 255, 7);
      tf.dispose([x, y]);
    }

    const xs = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const ys = tf.tensor1d([7, 8, 9], 'int32');
    const before = tf.memory().numTensors;
    const tl = new DataLoader(new TensorDataset(xs, ys), { batchSize: 2 });
    const got: number[][] = [];
    for await (const [bx, by] of tl as unknown as AsyncIterable<tf.Tensor[]>) {
      expect(bx.shape).toEqual([by.shape[0], 2]);
      got.push(Array.from(await by.data()));
      tf.dispose([bx, by]);
    }
    expect(got).toEqual([[7, 8], [9]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
  });

  it('takes a custom collate, sampler and batchSampler', async () => {
    const ds = indexDataset(10);
    const labels = new DataLoader(ds, {
      batchSize: 3,
      collate: (samples) => samples.map((s) => s.label),
    });
    const out: number[][] = [];
    for await (const b of labels) out.push(b);
    expect(out).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);

    const reversed = {
      length: 10,
      *[Symbol.iterator]() {
        for (let i = 9; i >= 0; i--) yield i;
      },
    };
    const bySampler = new DataLoader(ds, { batchSize: 5, sampler: reversed });
    expect((await epochIds(bySampler)).flat()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);

    const batches = new BatchSampler(new SequentialSampler(ds), 6, true);
    const byBatch = new DataLoader(ds, { batchSampler: batches });
    expect(byBatch.length).toBe(1);
    expect(await epochIds(byBatch)).toEqual([[0, 1, 2, 3, 4, 5]]);
  });

  it('rejects contradictory options, naming them', () => {
    const ds = indexDataset(4);
    const sampler = new SequentialSampler(ds);
    expect(() => new DataLoader(ds, { sampler, shuffle: true })).toThrow(/sampler.*shuffle/);
    expect(
      () => new DataLoader(ds, { batchSampler: new BatchSampler(sampler, 2), batchSize: 2 }),
    ).toThrow(/batchSampler.*exclusive/);
    expect(() => new DataLoader(ds, { seed: 1, generator: new Generator(1) })).toThrow(/seed/);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize.*0/);
    expect(() => new DataLoader(ds, { prefetch: -1 })).toThrow(/prefetch.*-1/);
  });

  it('reports samples of different shapes in one batch', async () => {
    const ragged = {
      length: 2,
      get: (i: number): ImageSample => ({
        image: new Uint8Array(i === 0 ? 4 : 9),
        shape: i === 0 ? [2, 2, 1] : [3, 3, 1],
        label: 0,
      }),
    };
    const loader = new DataLoader(ragged, { batchSize: 2 });
    await expect(loader[Symbol.asyncIterator]().next()).rejects.toThrow(
      /sample 0 is \[2,2,1\], sample 1 is \[3,3,1\]/,
    );
  });

  it('awaits a dataset of promises: samples load in parallel, batches come in order', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = {
      length: 6,
      get: async (i: number): Promise<ImageSample> => {
        inFlight++;
        most = Math.max(most, inFlight);
        // Later samples finish first, so order can only come from the loader.
        await new Promise((resolve) => setTimeout(resolve, 30 - 5 * i));
        inFlight--;
        return { image: Uint8Array.of(i), shape: [1, 1, 1], label: i };
      },
    };
    const labels: number[][] = [];
    for await (const { x, y } of new DataLoader(slow, { batchSize: 3, prefetch: 1 })) {
      labels.push(Array.from(await y.data()));
      x.dispose();
      y.dispose();
    }
    expect(labels).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(most).toBeGreaterThanOrEqual(3);
    const failing = {
      length: 4,
      get: async (i: number): Promise<ImageSample> => {
        if (i === 2) throw new Error('sample 2 is broken');
        return { image: Uint8Array.of(i), shape: [1, 1, 1], label: i };
      },
    };
    const it = new DataLoader(failing, { batchSize: 2 })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    tf.dispose([first.value.x, first.value.y]);
    await expect(it.next()).rejects.toThrow('sample 2 is broken');
    expect((await it.next()).done).toBe(true);
  });
});
