/**
 * The "Your images" worker: reads a picked folder of class subfolders with the library's
 * `ImageFolder.fromFiles` (decoding with `createImageBitmap` and `OffscreenCanvas`, here,
 * off the page's thread), fine-tunes a small ResNet on it, from scratch or from uploaded
 * pretrained weights with a new head, predicts new pictures, and writes the weights as
 * safetensors (with the node trainer's metadata) or ONNX.
 */

import {
  type BackendName,
  encodeSafetensors,
  Generator,
  type Module,
  readTensors,
  selectBackend,
} from '@resnet-ts/core';
import {
  Compose,
  DataLoader,
  hasImageExtension,
  IMAGENET_MEAN,
  IMAGENET_STD,
  IMG_EXTENSIONS,
  ImageArrayDataset,
  ImageFolder,
  imagenetNormalize,
  RandomHorizontalFlip,
  Resize,
  randomSplit,
  type SkippedFile,
  Subset,
  ToTensor,
} from '@resnet-ts/data';
import {
  buildModel,
  encodeWeightsMeta,
  exportOnnx,
  loadPretrainedWeights,
  type ModelSpec,
  modelSpec,
  sniffWeightsFormat,
} from '@resnet-ts/models';
import { createOptimizer, fit, freeze } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from './backends.js';
import type {
  FromOwnWorker,
  OwnPrediction,
  OwnState,
  OwnTrainConfig,
  PickedFile,
  ToOwnWorker,
} from './own-images-protocol.js';
import { errorText, plural } from './text.js';

const scope = self as unknown as {
  postMessage(msg: FromOwnWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToOwnWorker>) => void) | null;
};

function send(msg: FromOwnWorker, transfer: Transferable[] = []): void {
  scope.postMessage(msg, transfer);
}

/** The dataset name written into downloaded weights: a folder of the user's pictures. */
const DATASET_NAME = 'image-folder';
/** The classifier each model's new head replaces, as PyTorch's `model.fc = Linear(...)`. */
const HEAD: Record<string, string> = { vanresnet: 'fc2', resnet18: 'fc' };
/** The folder and class a picture to classify is put in, to be read as training's were. */
const ONE = 'picked/picked/';

let state: OwnState = 'loading';
let folder: ImageFolder<File> | null = null;
/** The folder's pictures resized once, so epochs do not decode them again. */
let decoded: { size: number; dataset: ImageArrayDataset } | null = null;
let pretrained: { bytes: Uint8Array; fileName: string } | null = null;
let trained: { model: Module; spec: ModelSpec; classes: string[]; epochs: number } | null = null;
let abort: AbortController | null = null;
let queue: Promise<void> = Promise.resolve();

function setState(s: OwnState, message?: string): void {
  state = s;
  send({ type: 'state', state: s, message });
}

scope.onmessage = (e) => {
  const msg = e.data;
  // Stop must reach a run that is awaiting its next batch, so it bypasses the queue.
  if (msg.type === 'stop') {
    if (state === 'training') {
      abort?.abort();
      setState('stopping');
    }
    return;
  }
  queue = queue
    .then(() => handle(msg))
    .catch((err) => {
      send({ type: 'error', message: errorText(err) });
      if (state !== 'loading') setState('idle');
    });
};

async function handle(msg: Exclude<ToOwnWorker, { type: 'stop' }>): Promise<void> {
  switch (msg.type) {
    case 'init':
      return init(msg.backend, msg.wasmPaths);
    case 'folder':
      return openFolder(msg.files);
    case 'pretrained':
      return keepPretrained(msg.bytes, msg.fileName);
    case 'forgetPretrained':
      pretrained = null;
      send({
        type: 'pretrained',
        ok: true,
        message: 'Training will start from random weights.',
        startsFrom: null,
      });
      return;
    case 'train':
      return train(msg.config);
    case 'predict':
      return predict(msg.id, msg.files);
    case 'export':
      return exportModel(msg.format);
  }
}

async function init(backend: BackendName, wasmPaths: Record<string, string>): Promise<void> {
  try {
    setWasmPaths(wasmPaths);
    const selection = await selectBackend({ prefer: [backend, 'wasm', 'cpu'] });
    send({ type: 'ready', backend: selection.name });
    setState('idle');
  } catch (err) {
    send({ type: 'initError', message: errorText(err) });
  }
}

/** The file as `ImageFolder.fromFiles` reads it, with its path in the picked folder again. */
function withPath({ file, path }: PickedFile): File {
  Object.defineProperty(file, 'webkitRelativePath', { value: path, configurable: true });
  return file;
}

async function openFolder(files: PickedFile[]): Promise<void> {
  setState('decoding');
  try {
    folder = await ImageFolder.fromFiles(files.map(withPath), { onBadFile: 'skip' });
    decoded = null;
    const counts = folder.classes.map(() => 0);
    for (const [, label] of folder.samples) counts[label]++;
    send({
      type: 'folder',
      classes: [...folder.classes],
      counts,
      skipped: [...folder.skipped],
    });
  } catch (err) {
    send({ type: 'folderError', message: errorText(err) });
  } finally {
    setState('idle');
  }
}

function keepPretrained(bytes: Uint8Array, fileName: string): void {
  const sniffed = sniffWeightsFormat(bytes);
  if (sniffed.format === null) {
    send({
      type: 'pretrained',
      ok: false,
      message: `${fileName}: this looks like ${sniffed.looksLike}, not weights. Training will start from ${pretrained ? pretrained.fileName : 'random weights'}.`,
      startsFrom: pretrained?.fileName ?? null,
    });
    return;
  }
  pretrained = { bytes, fileName };
  send({
    type: 'pretrained',
    ok: true,
    message: `Training will start from ${fileName} (${sniffed.format}), with a new head for your classes.`,
    startsFrom: fileName,
  });
}

/** Reads every picture of the folder once, resized to `size`², as uint8 RGB. */
async function decodeFolder(source: ImageFolder<File>, size: number): Promise<ImageArrayDataset> {
  const resized = source.withTransform(new Resize([size, size], { antialias: true }));
  const n = resized.length;
  const pixels = size * size * 3;
  const images = new Uint8Array(n * pixels);
  const labels = Int32Array.from(resized.targets);
  // Several decodes in flight at once; ImageFolder keeps their transforms in order.
  const inFlight = 8;
  for (let start = 0; start < n; start += inFlight) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + inFlight); i++) batch.push(resized.get(i));
    for (const [k, sample] of (await Promise.all(batch)).entries()) {
      images.set(toRgb(sample.image as Uint8Array, sample.shape[2]), (start + k) * pixels);
    }
  }
  return new ImageArrayDataset(images, labels, [size, size, 3], { classes: resized.classes });
}

/** A greyscale picture (PGM) repeated into three channels; RGB as it is. */
function toRgb(image: Uint8Array, channels: number): Uint8Array {
  if (channels === 3) return image;
  const out = new Uint8Array(image.length * 3);
  for (let i = 0; i < image.length; i++) out.fill(image[i], i * 3, i * 3 + 3);
  return out;
}

async function train(config: OwnTrainConfig): Promise<void> {
  if (!folder) throw new Error('Pick a folder of pictures first.');
  setState('decoding');
  if (decoded?.size !== config.imageSize) {
    decoded = { size: config.imageSize, dataset: await decodeFolder(folder, config.imageSize) };
  }
  const all = decoded.dataset;
  const classes = [...folder.classes];
  const normalize = imagenetNormalize();
  const generator = new Generator(config.seed);
  const trainSet = new ImageArrayDataset(all.images, all.labels, all.shape, {
    transform: new Compose([
      new RandomHorizontalFlip(0.5, { generator }),
      new ToTensor(),
      normalize,
    ]),
  });
  const evalSet = new ImageArrayDataset(all.images, all.labels, all.shape, {
    transform: new Compose([new ToTensor(), normalize]),
  });
  const held = Math.floor(all.length * config.valFraction);
  const [trainPart, valPart] =
    held > 0
      ? randomSplit(all, [all.length - held, held], new Generator(config.seed))
      : [null, null];
  const trainData = trainPart ? new Subset(trainSet, trainPart.indices) : trainSet;
  const trainLoader = new DataLoader(trainData, {
    batchSize: config.batchSize,
    shuffle: true,
    seed: config.seed,
  });
  const valLoader = valPart
    ? new DataLoader(new Subset(evalSet, valPart.indices), { batchSize: 64 })
    : undefined;

  const spec = modelSpec(config.model, {
    inChannels: 3,
    inputSize: config.imageSize,
    numClasses: classes.length,
  });
  const model = buildModel(spec, new Generator(config.seed));
  let start = 'random weights';
  try {
    if (pretrained)
      start = initFromPretrained(model, config, pretrained.bytes, pretrained.fileName);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const optimizer = createOptimizer('adam', model.parameters(), { lr: config.lr });
  const controller = new AbortController();
  abort = controller;
  setState('training', `Training a ${spec.name} on ${trainData.length} pictures from ${start}.`);
  let step = 0;
  let epoch = 0;
  let epochsDone = 0;
  try {
    await fit({
      model,
      optimizer,
      trainLoader,
      valLoader,
      epochs: config.epochs,
      signal: controller.signal,
      callbacks: [
        {
          onEpochBegin: (e) => {
            epoch = e;
          },
          onBatchEnd: async (_batch, logs) => {
            step++;
            send({
              type: 'batch',
              step,
              epoch,
              steps: trainLoader.length * config.epochs,
              loss: logs.loss ?? Number.NaN,
            });
            // Let a Stop in.
            await new Promise((resolve) => setTimeout(resolve, 0));
          },
          onEpochEnd: (e, logs) => {
            epochsDone++;
            send({
              type: 'epoch',
              epoch: e,
              trainLoss: logs.trainLoss,
              trainAccuracy: logs.trainAcc,
              valAccuracy: valLoader ? logs.valAcc : null,
            });
          },
        },
      ],
    });
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    abort = null;
    throw err;
  }
  optimizer.dispose();
  model.eval();
  abort = null;
  trained?.model.dispose();
  trained = { model, spec, classes, epochs: epochsDone };
  const how = controller.signal.aborted ? 'Stopped' : 'Finished';
  const message = `${how} after ${plural(epochsDone, 'epoch')} (${plural(step, 'step')}). Pick or drop new pictures to see what the model says.`;
  send({ type: 'trained', classes, epochs: epochsDone, message });
  setState('idle', message);
}

/**
 * Copies every tensor of the pretrained file that fits `model` (the backbone); the head,
 * sized for another number of classes, keeps its fresh weights, as after PyTorch's
 * `model.fc = nn.Linear(512, k)`. With `freezeBackbone`, everything but the head is frozen.
 * Returns how training starts, in words.
 */
function initFromPretrained(
  model: Module,
  config: OwnTrainConfig,
  bytes: Uint8Array,
  fileName: string,
): string {
  const report = loadPretrainedWeights(model, bytes, { stripPrefix: true });
  if (report.loaded.length === 0) {
    throw new Error(
      `None of the tensors in ${fileName} fit a ${config.model}; pick weights of a ${config.model}, or train from random weights.`,
    );
  }
  const head = HEAD[config.model];
  if (config.freezeBackbone) {
    for (const [name, child] of model.namedChildren()) if (name !== head) freeze(child);
  }
  const fresh = report.missing.length + report.shapeMismatched.length;
  return `${fileName} (${plural(report.loaded.length, 'tensor')} loaded, ${plural(fresh, 'tensor')} new${config.freezeBackbone ? ', backbone frozen' : ''})`;
}

async function predict(id: number, files: PickedFile[]): Promise<void> {
  if (!trained) throw new Error('Train a model on your folder first.');
  const { model, spec, classes } = trained;
  const size = spec.inputSize;
  const transform = new Compose([
    new Resize([size, size], { antialias: true }),
    new ToTensor(),
    imagenetNormalize(),
  ]);
  const results: OwnPrediction[] = [];
  const skipped: SkippedFile[] = [];
  for (const [index, { file }] of files.entries()) {
    let input: Float32Array;
    try {
      if (!hasImageExtension(file.name)) {
        throw new Error(
          `${file.name}: not a picture: expected one of ${IMG_EXTENSIONS.join(', ')}`,
        );
      }
      // One picture as a folder of one class, so it is decoded exactly as training's were;
      // one that cannot be decoded fails here with the reason.
      const one = await ImageFolder.fromFiles([withPath({ file, path: `${ONE}${file.name}` })]);
      const { image, shape } = await one.get(0);
      const rgb = toRgb(image as Uint8Array, shape[2]);
      input = transform.apply({ image: rgb, shape: [shape[0], shape[1], 3] }).image as Float32Array;
    } catch (err) {
      skipped.push({ path: file.name, reason: errorText(err).replaceAll(ONE, '') });
      continue;
    }
    const probs = tf.tidy(() =>
      tf.softmax(model.forward(tf.tensor4d(input, [1, size, size, 3])) as tf.Tensor2D),
    );
    const p = Array.from(await probs.data());
    probs.dispose();
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
    results.push({
      index,
      name: file.name,
      label: best,
      className: classes[best],
      confidence: p[best],
      probs: p,
    });
  }
  send({ type: 'predictions', id, results, skipped });
}

async function exportModel(format: 'safetensors' | 'onnx'): Promise<void> {
  if (!trained) throw new Error('Train a model on your folder first.');
  const { model, spec, classes, epochs } = trained;
  const base = `${spec.name}-${classes.length}-classes`;
  const bytes =
    format === 'onnx'
      ? exportOnnx(model, { inputShape: ['N', 3, spec.inputSize, spec.inputSize] })
      : encodeSafetensors(
          await readTensors(model.stateDict()),
          encodeWeightsMeta({
            model: spec,
            dataset: {
              name: DATASET_NAME,
              input: {
                size: spec.inputSize,
                channels: 3,
                mean: [...IMAGENET_MEAN],
                std: [...IMAGENET_STD],
              },
              classes,
            },
            epoch: epochs,
          }),
        );
  send({ type: 'file', format, bytes, fileName: `${base}.${format}` }, [bytes.buffer]);
}
