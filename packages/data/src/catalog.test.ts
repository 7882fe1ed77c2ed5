import { ValueError } from '@resnet-ts/core';
import { describe, expect, it } from 'vitest';
import { DATASET_NAMES, type DatasetName, datasetInfo, isDatasetName } from './catalog.js';
import { CIFAR10_CLASSES } from './cifar10.js';
import { ConcatDataset, firstN } from './dataset.js';

describe('datasetInfo', () => {
  it('gives each dataset its input format, statistics and classes', () => {
    expect(datasetInfo('mnist')).toEqual({
      name: 'mnist',
      input: { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    });
    expect(datasetInfo('mnist-idx').input).toEqual(datasetInfo('mnist').input);
    expect(datasetInfo('cifar10')).toEqual({
      name: 'cifar10',
      input: {
        size: 32,
        channels: 3,
        mean: [0.4914, 0.4822, 0.4465],
        std: [0.247, 0.2435, 0.2616],
      },
      classes: [...CIFAR10_CLASSES],
    });
    expect(datasetInfo('folder').input).toEqual({
      size: 224,
      channels: 3,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
  });

  it('hands out copies, so a caller cannot change the catalog', () => {
    const info = datasetInfo('cifar10');
    info.input.mean[0] = 9;
    info.classes.pop();
    expect(datasetInfo('cifar10').input.mean[0]).toBe(0.4914);
    expect(datasetInfo('cifar10').classes).toHaveLength(10);
  });

  it('names the datasets it knows when asked for another', () => {
    expect(() => datasetInfo('imagenet' as DatasetName)).toThrow(ValueError);
    expect(() => datasetInfo('imagenet' as DatasetName)).toThrow(
      /unknown dataset "imagenet", expected one of mnist, mnist-idx, cifar10, folder/,
    );
    expect(DATASET_NAMES.every(isDatasetName)).toBe(true);
    expect(isDatasetName('constructor')).toBe(false);
  });
});

describe('firstN', () => {
  const ds = new ConcatDataset([{ length: 5, get: (i: number) => i * 10 }]);
  it('keeps the first n samples, or the whole dataset when n is not smaller', () => {
    const head = firstN(ds, 3);
    expect(Array.from({ length: head.length }, (_, i) => head.get(i))).toEqual([0, 10, 20]);
    expect(firstN(ds, 5)).toBe(ds);
    expect(firstN(ds, undefined)).toBe(ds);
    expect(() => firstN(ds, 1.5)).toThrow(/non-negative integer, got 1\.5/);
  });
});
