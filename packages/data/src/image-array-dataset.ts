import { formatValue, ValueError } from '@resnet-ts/core';
import { checkIndex, type Dataset } from './dataset.js';
import type { ImageSample } from './sample.js';
import type { Transform } from './transforms/transform.js';

/** Options of {@link ImageArrayDataset}. */
export interface ImageArrayDatasetOptions {
  /** Applied to each image on `get`, as torchvision datasets' `transform`. */
  transform?: Transform;
  /** Class names, index = label. */
  classes?: readonly string[];
}

/**
 * Same-sized images packed back to back in one uint8 array (NHWC) with one label each: the
 * form MNIST and CIFAR-10 load into. `get(i)` returns a view of image `i` (no copy), passed
 * through `transform` when one is set; transforms never write into their input.
 */
export class ImageArrayDataset implements Dataset<ImageSample> {
  /** Pixels of all images, `length * H * W * C` bytes, NHWC. */
  readonly images: Uint8Array;
  /** One label per image. */
  readonly labels: Uint8Array | Int32Array;
  /** `[H, W, C]` of every image. */
  readonly shape: [number, number, number];
  transform: Transform | undefined;
  readonly classes: readonly string[] | undefined;
  private readonly imageSize: number;

  constructor(
    images: Uint8Array,
    labels: Uint8Array | Int32Array,
    shape: readonly [number, number, number],
    options: ImageArrayDatasetOptions = {},
  ) {
    const [h, w, c] = shape;
    this.imageSize = h * w * c;
    if (![h, w, c].every((d) => Number.isInteger(d) && d > 0)) {
      throw new ValueError(
        `ImageArrayDataset shape must be [H, W, C] positive integers, got ${formatValue(shape)}`,
      );
    }
    if (images.length !== labels.length * this.imageSize) {
      throw new ValueError(
        `ImageArrayDataset: ${labels.length} labels of ${formatValue(shape)} images need ${labels.length * this.imageSize} pixel bytes, got ${images.length}`,
      );
    }
    this.images = images;
    this.labels = labels;
    this.shape = [h, w, c];
    this.transform = options.transform;
    this.classes = options.classes;
  }

  get length(): number {
    return this.labels.length;
  }

  get(index: number): ImageSample {
    checkIndex(index, this.labels.length, 'ImageArrayDataset');
    const start = index * this.imageSize;
    const raw = { image: this.images.subarray(start, start + this.imageSize), shape: this.shape };
    const out = this.transform ? this.transform.apply(raw) : raw;
    return { image: out.image, shape: out.shape, label: this.labels[index] };
  }
}
