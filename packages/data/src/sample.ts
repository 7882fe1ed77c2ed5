/** Pixel storage of one image: bytes as stored on disk, or floats once converted. */
export type Pixels = Uint8Array | Float32Array;

/**
 * One image in channels-last (HWC) order: `image[(y * W + x) * C + c]`. This is the unit
 * every transform reads and returns.
 */
export interface HWCImage {
  /** Pixel values, `H * W * C` of them; uint8 in [0, 255] or float32. */
  image: Pixels;
  /** `[H, W, C]`. */
  shape: [number, number, number];
}

/**
 * The sample type of the image datasets (MNIST, CIFAR-10, {@link ImageArrayDataset}) and
 * what {@link defaultCollate} batches: an HWC image and its integer class label.
 */
export interface ImageSample extends HWCImage {
  /** The class index, 0..classes-1. */
  label: number;
}
