import type { HWCImage } from '../sample.js';

/**
 * A per-image transform, the TypeScript form of a torchvision transform: `apply` reads an
 * HWC image and returns a new one. Transforms never write into their input, because
 * datasets hand out views of their storage.
 */
export interface Transform {
  /**
   * `out`, when given, is where the result may be written if it is float32 of exactly that
   * length (a worker pool's slot in a shared batch); a transform that uses it returns an image
   * whose pixels are `out`. Most transforms ignore it.
   */
  apply(input: HWCImage, out?: Float32Array): HWCImage;
}
