/**
 * @resnet-ts/data: datasets, samplers, the DataLoader and image transforms, PyTorch's
 * `torch.utils.data` and torchvision's transforms for TypeScript. Browser-safe; file-system
 * loaders and downloads live in `@resnet-ts/data/node`.
 */

export {
  CIFAR10_MEAN,
  CIFAR10_STD,
  DATASET_NAMES,
  type DatasetInfo,
  type DatasetName,
  datasetInfo,
  IMAGENET_MEAN,
  IMAGENET_STD,
  isDatasetName,
  MNIST_CLASSES,
  MNIST_MEAN,
  MNIST_STD,
} from './catalog.js';
export {
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  parseCifar10Batch,
  parseCifar10Meta,
} from './cifar10.js';
export {
  type Batch,
  defaultCollate,
  isImageSample,
  type PackedBatch,
  packedToBatch,
  packImages,
} from './collate.js';
export {
  type BatchSamplerLike,
  DataLoader,
  type DataLoaderOptions,
  type PackedBatchSource,
} from './data-loader.js';
export { ConcatDataset, type Dataset, firstN, randomSplit, Subset } from './dataset.js';
export { DatasetFileError, ImageFileError } from './errors.js';
export { checkLabels, type IdxArray, parseIdx } from './idx.js';
export { ImageArrayDataset, type ImageArrayDatasetOptions } from './image-array-dataset.js';
export {
  hasImageExtension,
  IMG_EXTENSIONS,
  ImageFolder,
  type ImageFolderOptions,
  type ImageLoader,
  type SkippedFile,
} from './image-folder.js';
export {
  checkPixelLimit,
  DEFAULT_MAX_PIXELS,
  type ImageHeader,
  readImageHeader,
} from './image-header.js';
export {
  fetchMnistDigits,
  type MnistDigits,
  type MnistDigitsOptions,
  type MnistDigitsSplit,
  mnistDigitsDataset,
  parseMnistDigits,
  splitMnistDigits,
} from './mnist-digits.js';
export {
  type LoaderPosition,
  ResumableBatchSampler,
} from './resumable-batch-sampler.js';
export type { HWCImage, ImageSample, Pixels } from './sample.js';
export {
  BatchSampler,
  RandomSampler,
  type RandomSamplerOptions,
  type Sampler,
  SequentialSampler,
} from './samplers.js';
export { TensorDataset } from './tensor-dataset.js';
export { type Preprocessing, type RgbaImage, toModelInput } from './to-model-input.js';
export { CenterCrop, type CropSize, centerCrop, cropSize } from './transforms/center-crop.js';
export {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  rgbToGrayscale,
} from './transforms/color.js';
export {
  ColorJitter,
  type ColorJitterOptions,
  type ColorJitterParams,
  type JitterRange,
} from './transforms/color-jitter.js';
export { Compose, Lambda } from './transforms/compose.js';
export {
  crop,
  hflip,
  normalize,
  type Padding,
  type PaddingMode,
  pad,
  resize,
  resizeShape,
  toFloat,
} from './transforms/functional.js';
export { Grayscale, RandomGrayscale } from './transforms/grayscale.js';
export { imagenetNormalize } from './transforms/imagenet.js';
export { Normalize } from './transforms/normalize.js';
export { Pad, type PadOptions } from './transforms/pad.js';
export { RandomCrop, type RandomCropOptions } from './transforms/random-crop.js';
export {
  type ErasingParams,
  erase,
  RandomErasing,
  type RandomErasingOptions,
} from './transforms/random-erasing.js';
export { RandomHorizontalFlip } from './transforms/random-horizontal-flip.js';
export {
  type CropBox,
  RandomResizedCrop,
  type RandomResizedCropOptions,
  resizedCrop,
} from './transforms/random-resized-crop.js';
export {
  type ResampleOptions,
  type ResizeInterpolation,
  resample,
  roundHalfEven,
} from './transforms/resample.js';
export { Resize } from './transforms/resize.js';
export {
  RandomRotation,
  type RandomRotationOptions,
  type RotateInterpolation,
  type RotateOptions,
  rotate,
} from './transforms/rotate.js';
export { ToTensor } from './transforms/to-tensor.js';
export type { Transform } from './transforms/transform.js';
