import { Normalize } from './normalize.js';

/** ImageNet's per-channel RGB mean, the one torchvision's pretrained models expect. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);

/** ImageNet's per-channel RGB standard deviation, the one torchvision's pretrained models expect. */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** `Normalize(IMAGENET_MEAN, IMAGENET_STD)`: the last step before a torchvision-pretrained model. */
export function imagenetNormalize(): Normalize {
  return new Normalize(IMAGENET_MEAN, IMAGENET_STD);
}
