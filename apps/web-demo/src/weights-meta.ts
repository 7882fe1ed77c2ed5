/**
 * The weights this page trains, as the model registry and the dataset catalog describe
 * them: the spec and metadata written into a downloaded file (the key and limits the node
 * trainer reads too), and the size bound an upload is held to.
 */
import { datasetInfo } from '@resnet-ts/data';
import { encodeWeightsMeta, modelSpec, stateDictSize } from '@resnet-ts/models';

/** The data this page trains on: the embedded MNIST digits, as the dataset catalog has them. */
export const PAGE_DATASET = datasetInfo('mnist');

/** The model this page trains: VanResNet on 28×28 greyscale digits, 10 classes. */
export const PAGE_SPEC = modelSpec('vanresnet', {
  inChannels: PAGE_DATASET.input.channels,
  inputSize: PAGE_DATASET.input.size,
  numClasses: PAGE_DATASET.classes.length,
});

/**
 * The largest upload worth reading: every number of the page's model as F64 (the widest
 * dtype) plus a megabyte of header and metadata. Anything larger cannot be this model's
 * weights, so it is refused before its bytes are read.
 */
export const MAX_UPLOAD_BYTES = stateDictSize(PAGE_SPEC).elements * 8 + 1024 * 1024;

/** Metadata for a file of this page's weights after `epoch` epochs of training. */
export function weightsMetadata(epoch: number): Record<string, string> {
  return encodeWeightsMeta({ model: PAGE_SPEC, dataset: PAGE_DATASET, epoch });
}
