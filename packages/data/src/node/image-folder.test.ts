import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/image-folder.json' with { type: 'json' };
import { DataLoader } from '../data-loader.js';
import { RandomCrop } from '../transforms/random-crop.js';
import { loadImageFolder } from './image-folder.js';

const root = fileURLToPath(new URL('../__fixtures__/image-folder', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('loadImageFolder', () => {
  it('finds the classes, indices and samples torchvision finds, in its order', async () => {
    const folder = await loadImageFolder(root);
    expect(folder.classes).toEqual(fixture.classes);
    expect({ ...folder.classToIdx }).toEqual(fixture.class_to_idx);
    expect(folder.samples.map(([path, label]) => [relative(root, path), label])).toEqual(
      fixture.samples.map((s) => [s.path, s.label]),
    );
    expect(folder.targets).toEqual(fixture.samples.map((s) => s.label));
  });

  it("decodes each picture to the RGB pixels torchvision's loader gives, upright by EXIF", async () => {
    const folder = await loadImageFolder(root);
    for (const [i, expected] of fixture.samples.entries()) {
      if (expected.error) {
        await expect(folder.get(i)).rejects.toThrow(
          new RegExp(`${expected.path.replace('.', '\\.')}: not a picture this package can decode`),
        );
        continue;
      }
      const sample = await folder.get(i);
      expect(sample.label, expected.path).toBe(expected.label);
      expect(sample.shape, expected.path).toEqual(expected.shape);
      const got = Array.from(sample.image);
      // Lossless formats match exactly; JPEG decoders may round a level or two differently.
      const tolerance = /\.jpe?g$/i.test(expected.path) ? 3 : 0;
      const worst = got.reduce((m, v, k) => Math.max(m, Math.abs(v - expected.pixels![k])), 0);
      expect(worst, expected.path).toBeLessThanOrEqual(tolerance);
    }
  });

  it('skips files that are not pictures when asked, and says which and why', async () => {
    const folder = await loadImageFolder(root, { onBadFile: 'skip' });
    expect(folder.length).toBe(fixture.samples.length - 1);
    expect(folder.skipped.map((s) => relative(root, s.path))).toEqual(['zebra/broken.jpg']);
    expect(folder.skipped[0].reason).toMatch(/unsupported image format/);
  });

  it('names an empty class folder and a folder without classes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-folder-'));
    await expect(loadImageFolder(dir)).rejects.toThrow(/found no class folder/);
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(
      join(dir, 'a', 'x.png'),
      await sharp(Buffer.alloc(3), { raw: { width: 1, height: 1, channels: 3 } })
        .png()
        .toBuffer(),
    );
    writeFileSync(join(dir, 'b', 'notes.txt'), 'hello');
    await expect(loadImageFolder(dir)).rejects.toThrow(
      /found no picture for the class b; supported extensions are \.jpg, \.jpeg, \.png/,
    );
    await expect(loadImageFolder(join(dir, 'missing'))).rejects.toThrow(
      /missing: cannot read the image folder/,
    );
  });

  it('feeds a DataLoader: same seed, same crops and order, batches in order', async () => {
    const run = async () => {
      const folder = await loadImageFolder(root, { onBadFile: 'skip' });
      folder.transform = new RandomCrop(2, { generator: new Generator(5) });
      const loader = new DataLoader(folder, { batchSize: 4, shuffle: true, seed: 1 });
      const batches: number[][] = [];
      for await (const { x, y } of loader) {
        batches.push([...(await y.data()), ...(await x.data())]);
        x.dispose();
        y.dispose();
      }
      return batches;
    };
    const a = await run();
    expect(a).toHaveLength(5); // 17 pictures, batches of 4
    expect(await run()).toEqual(a);
  });
});
