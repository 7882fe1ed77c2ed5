import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { datasetInfo } from '../catalog.js';
import { toModelInput } from '../to-model-input.js';
import { loadImageFolder } from './image-folder.js';
import { loadDataset } from './load-dataset.js';
import { readModelInput } from './model-input.js';
import { readImage } from './read-image.js';

const root = fileURLToPath(new URL('../__fixtures__/image-folder', import.meta.url));

describe('readModelInput', () => {
  it("reads a folder run's picture exactly as its test set does", async () => {
    const ds = await loadDataset('folder', {
      dataDir: root,
      valSplit: 0,
      seed: 0,
      imageSize: 8,
      skipBadFiles: true,
      testOnly: true,
    });
    const folder = await loadImageFolder(root, { onBadFile: 'skip' });
    const [path] = folder.samples[3];
    const input = await readModelInput(path, { name: 'folder', input: ds.input });
    const sample = await ds.test.get(3);
    expect(input.pixels).toEqual(sample.image);
    expect(input.pixels).toHaveLength(8 * 8 * 3);
    expect(input.info.inverted).toBe(false);
  });

  it("reads any other run's picture through toModelInput", async () => {
    const [path] = (await loadImageFolder(root, { onBadFile: 'skip' })).samples[0];
    const mnist = datasetInfo('mnist');
    const input = await readModelInput(path, mnist, 'yes');
    expect(input).toEqual(toModelInput(await readImage(path), mnist.input, 'yes'));
    expect(input.info.inverted).toBe(true);
  });
});
