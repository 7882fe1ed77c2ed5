import type { HWCImage } from '../sample.js';
import { toFloat } from './functional.js';
import type { Transform } from './transform.js';

/**
 * uint8 pixels in [0, 255] to float32 in [0, 1], as `torchvision.transforms.ToTensor`, but
 * the result stays an HWC typed array (tensors are made per batch by the DataLoader).
 */
export class ToTensor implements Transform {
  apply(input: HWCImage): HWCImage {
    return toFloat(input);
  }
}
