import '@tensorflow/tfjs-backend-cpu';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { packImages } from '../collate.js';
import { DataLoader } from '../data-loader.js';
import { bundleModule } from '../testing/isolated.js';
import { loadImageFolder } from './image-folder.js';
import { WorkerPoolDataset } from './worker-pool.js';

const root = new URL('../__fixtures__/image-folder', import.meta.url).pathname;

/** A worker module: the fixture folder with a seeded random crop, as a user would write one. */
const MODULE = `
import { Generator } from '@resnet-ts/core';
import { loadImageFolder } from './node/image-folder.js';
import { RandomCrop } from './transforms/random-crop.js';
import { RandomHorizontalFlip } from './transforms/random-horizontal-flip.js';
import { RandomResizedCrop } from './transforms/random-resized-crop.js';
import { ToTensor } from './transforms/to-tensor.js';
import { Normalize } from './transforms/normalize.js';
import { Compose } from './transforms/compose.js';
export async function createDataset({ root, skip, recipe }) {
  const generator = new Generator(0);
  const dataset = await loadImageFolder(root, { onBadFile: skip ? 'skip' : 'error' });
  dataset.transform = new Compose(
    recipe
      ? [
          new RandomResizedCrop(3, { antialias: true, generator }),
          new RandomHorizontalFlip(0.5, { generator }),
          new ToTensor(),
          new Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
      : [new RandomCrop(2, { generator }), new RandomHorizontalFlip(0.5, { generator })],
  );
  return { dataset, generator };
}
`;

let module: URL;
beforeAll(async () => {
  await tf.setBackend('cpu');
  module = pathToFileURL(await bundleModule('worker-folder', MODULE));
});

async function epoch(numWorkers: number, seed: number): Promise<number[][]> {
  const pool = await WorkerPoolDataset.open(module, {
    numWorkers,
    seed,
    args: { root, skip: true },
  });
  try {
    const loader = new DataLoader(pool, { batchSize: 3, shuffle: true, seed: 7, prefetch: 2 });
    const out: number[][] = [];
    for await (const { x, y } of loader) {
      out.push([...(await y.data()), ...(await x.data())]);
      tf.dispose([x, y]);
    }
    return out;
  } finally {
    await pool.close();
  }
}

describe('WorkerPoolDataset', () => {
  it('gives the same batches for the same seed whatever the number of workers', async () => {
    const one = await epoch(1, 3);
    expect(one).toHaveLength(6); // 17 pictures, batches of 3
    expect(await epoch(3, 3)).toEqual(one);
    expect(await epoch(2, 3)).toEqual(one);
    expect(await epoch(2, 4)).not.toEqual(one);
    // Labels follow the loader's shuffle, not the workers' finishing order: the same as the
    // in-process folder shuffled by the same seed.
    const folder = await loadImageFolder(root, { onBadFile: 'skip' });
    const order = [
      ...new DataLoader(folder, { batchSize: 3, shuffle: true, seed: 7 }).batchSampler,
    ];
    expect(one.map((b, i) => b.slice(0, order[i].length))).toEqual(
      order.map((batch) => batch.map((k) => folder.samples[k][1])),
    );
  });

  it('serves any dataset, one sample at a time per worker, seeded per sample', async () => {
    const plain = pathToFileURL(
      await bundleModule(
        'worker-plain',
        `import { Generator } from '@resnet-ts/core';
         export function createDataset({ n }) {
           const generator = new Generator(0);
           const get = (i) => ({ image: Uint8Array.of(generator.randint(256)), shape: [1, 1, 1], label: i });
           return { dataset: { length: n, get }, generator };
         }`,
      ),
    );
    const draws = async (numWorkers: number) => {
      const pool = await WorkerPoolDataset.open(plain, { numWorkers, seed: 9, args: { n: 8 } });
      try {
        expect(pool.length).toBe(8);
        const samples = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => pool.get(i)));
        expect(samples.map((s) => s.label)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        return samples.map((s) => s.image[0]);
      } finally {
        await pool.close();
      }
    };
    const one = await draws(1);
    expect(new Set(one).size).toBeGreaterThan(4);
    expect(await draws(3)).toEqual(one);
  });

  it('packs batches in shared memory with the values and labels get() gives', async () => {
    const batches = [
      [3, 0, 7],
      [1, 2, 4],
      [16, 5, 9],
      [8, 6, 11],
    ];
    // A crop and flip (copied into the batch), and the ImageNet recipe, which writes its
    // floats into the batch itself.
    for (const [recipe, side] of [
      [false, 2],
      [true, 3],
    ] as const) {
      const open = () =>
        WorkerPoolDataset.open(module, {
          numWorkers: 2,
          seed: 5,
          args: { root, skip: true, recipe },
        });
      const [packedPool, samplePool] = await Promise.all([open(), open()]);
      try {
        for (const indices of batches) {
          const packed = await packedPool.getPackedBatch(indices);
          const want = packImages(await Promise.all(indices.map((i) => samplePool.get(i))));
          expect(packed.shape).toEqual([3, side, side, 3]);
          expect(packed.y).toEqual(want.y);
          expect(packed.x).toEqual(want.x);
          expect(packed.x.some((v) => v !== 0)).toBe(true);
        }
      } finally {
        await Promise.all([packedPool.close(), samplePool.close()]);
      }
    }
  });

  it('collates a packed batch whose samples change shape as get() would, naming them', async () => {
    const sized = pathToFileURL(
      await bundleModule(
        'worker-sized',
        `export function createDataset() {
           const get = (i) => {
             const side = i < 4 ? 2 : i === 7 ? 3 : 1;
             return { image: new Uint8Array(side * side).fill(i), shape: [side, side, 1], label: i };
           };
           return { dataset: { length: 8, get } };
         }`,
      ),
    );
    const pool = await WorkerPoolDataset.open(sized, { numWorkers: 2 });
    try {
      expect((await pool.getPackedBatch([0, 1])).x).toEqual(
        Float32Array.of(0, 0, 0, 0, 1, 1, 1, 1),
      );
      // Shared memory from here on; the uint8 pixels become float32 as packImages makes them.
      const next = await pool.getPackedBatch([3, 2]);
      expect(next.x).toEqual(Float32Array.of(3, 3, 3, 3, 2, 2, 2, 2));
      expect(next.y).toEqual(Int32Array.of(3, 2));
      await expect(pool.getPackedBatch([2, 5])).rejects.toThrow(
        /different shapes: sample 0 is \[2,2,1\], sample 1 is \[1,1,1\]/,
      );
      const whole = await pool.getPackedBatch([5, 6]);
      expect(whole.shape).toEqual([2, 1, 1, 1]);
      expect(whole.x).toEqual(Float32Array.of(5, 6));
    } finally {
      await pool.close();
    }
  });

  it("passes a worker's error on, naming the file", async () => {
    const pool = await WorkerPoolDataset.open(module, { numWorkers: 2, args: { root } });
    try {
      const broken = 10; // zebra/broken.jpg in torchvision's order
      await expect(pool.get(broken)).rejects.toThrow(
        /broken\.jpg: not a picture this package can decode/,
      );
      expect((await pool.get(0)).shape).toEqual([2, 2, 3]);
    } finally {
      await pool.close();
    }
  });

  it('reports a module without the factory, and bad options', async () => {
    await expect(
      WorkerPoolDataset.open(module, { numWorkers: 1, exportName: 'nothing' }),
    ).rejects.toThrow(/exports no function nothing/);
    await expect(WorkerPoolDataset.open(module, { numWorkers: 0 })).rejects.toThrow(
      /numWorkers must be a positive integer, got 0/,
    );
  });
});
