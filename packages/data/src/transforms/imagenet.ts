import { IMAGENET_MEAN, IMAGENET_STD } from '../catalog.js';
import { Normalize } from './normalize.js';

/** `Normalize(IMAGENET_MEAN, IMAGENET_STD)`: the last step before a torchvision-pretrained model. */
export function imagenetNormalize(): Normalize {
  return new Normalize(IMAGENET_MEAN, IMAGENET_STD);
}
