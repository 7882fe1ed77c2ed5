/**
 * The `__metadata__` a weights file carries so the node trainer's `eval` and `predict` can
 * rebuild the model from the file alone (its `resnet-ts` key: model spec, dataset input
 * format and classes, epochs trained), and the check that an uploaded file is this model.
 */

/** The metadata key the node trainer writes and reads. */
export const META_KEY = 'resnet-ts';

/** The model and input this page trains: VanResNet on 28×28 grey MNIST digits. */
export const PAGE_MODEL = { name: 'vanresnet', inChannels: 1, inputSize: 28, numClasses: 10 };
export const PAGE_INPUT = { size: 28, channels: 1, mean: [0.1307], std: [0.3081] };

/** Metadata for a file of this page's weights after `epoch` epochs of training. */
export function weightsMetadata(epoch: number): Record<string, string> {
  const meta = {
    model: PAGE_MODEL,
    dataset: {
      name: 'mnist',
      input: PAGE_INPUT,
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    },
    epoch,
  };
  return { [META_KEY]: JSON.stringify(meta) };
}

/**
 * Why a file's own description rules it out for this page (another model or input), or
 * null when it has none or describes this model. Files without metadata (e.g. converted
 * PyTorch weights) are judged by their tensors alone.
 */
export function foreignModel(metadata: Record<string, string>): string | null {
  const raw = metadata[META_KEY];
  if (raw === undefined) return null;
  let model: Partial<typeof PAGE_MODEL> | undefined;
  try {
    model = (JSON.parse(raw) as { model?: Partial<typeof PAGE_MODEL> }).model;
  } catch {
    return null;
  }
  if (!model) return null;
  const same = (Object.keys(PAGE_MODEL) as (keyof typeof PAGE_MODEL)[]).every(
    (k) => model[k] === PAGE_MODEL[k],
  );
  if (same) return null;
  return `it holds a ${model.name} for ${model.inChannels}×${model.inputSize}×${model.inputSize} images and ${model.numClasses} classes, but this page trains a vanresnet for 1×28×28 digits and 10 classes`;
}

/** Epochs recorded in the file's metadata, or 0. */
export function epochsIn(metadata: Record<string, string>): number {
  try {
    const epoch = (JSON.parse(metadata[META_KEY] ?? '{}') as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' && Number.isInteger(epoch) && epoch >= 0 ? epoch : 0;
  } catch {
    return 0;
  }
}
