import type { HWCImage } from '../sample.js';

/**
 * A per-image transform, the TypeScript form of a torchvision transform: `apply` reads an
 * HWC image and returns a new one. Transforms never write into their input, because
 * datasets hand out views of their storage.
 */
export interface Transform {
  apply(input: HWCImage): HWCImage;
}
