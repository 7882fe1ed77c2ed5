#!/usr/bin/env node
/**
 * Measures what starting from pretrained weights buys, as a user starting from ImageNet
 * weights: pretrain a ResNet on the "other shapes" (PRETRAIN_CLASSES, drawn in memory at
 * random sides and resized to the input size), then fine-tune it on the drawn-shapes folder
 * (TARGET_CLASSES, decoded from PNG/JPEG files) with a new head, and report held-out accuracy
 * per epoch; `--scratch` runs the same fine-tuning from random weights for comparison. An
 * experiment, not a test: it trains for minutes on a CPU. `dump` writes the pretraining
 * images for fine-tune-torch.py, the same experiment in PyTorch.
 *
 *   node tools/shapes/fine-tune-experiment.mjs pretrain OUT.safetensors [--model resnet18_w16] [--per-class 600] [--epochs 10] [--lr 3e-3] [--square-renders]
 *   node tools/shapes/fine-tune-experiment.mjs finetune [WEIGHTS.safetensors | --scratch] [--model resnet18_w16] [--epochs 2] [--bn-eval] [--backbone-lr 3e-4]
 *   node tools/shapes/fine-tune-experiment.mjs dump PREFIX [--set pretrain|target] [--per-class 600] [--seed 1000] [--max-aspect 1.25]
 */
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Generator } from '@resnet-ts/core';
import { useThreadedWasm } from '@resnet-ts/core/node';
import { imagenetNormalize, pad, Resize, ToTensor } from '@resnet-ts/data';
import { BatchNorm2d, Linear } from '@resnet-ts/layers';
import { buildModel, loadTorchStateDict, modelSpec, toTorchSafetensors } from '@resnet-ts/models';
import { Adam, crossEntropy, freeze, OneCycleLR, valueAndGrads } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import {
  createRng,
  makeShapesFolder,
  PRETRAIN_CLASSES,
  renderShape,
  shapeSamples,
  TARGET_CLASSES,
} from './shapes.mjs';

const BATCH = 32;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'per-class': { type: 'string', default: '100' },
    epochs: { type: 'string' },
    seed: { type: 'string', default: '0' },
    scratch: { type: 'boolean', default: false },
    'bn-eval': { type: 'boolean', default: false },
    'backbone-lr': { type: 'string' },
    model: { type: 'string', default: 'resnet18' },
    size: { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-3' },
    set: { type: 'string', default: 'pretrain' },
    'max-aspect': { type: 'string', default: '1.25' },
    'square-renders': { type: 'boolean', default: false },
  },
});

const SIZE = Number(values.size);

const resize = new Resize([SIZE, SIZE], { antialias: true });
const toTensor = new ToTensor();
const normalize = imagenetNormalize();
/** Pads to a square with the edge colour first, so resizing keeps the shapes' proportions. */
function square(hwc) {
  const [h, w] = hwc.shape;
  const d = Math.abs(h - w);
  /** @type {[number, number, number, number]} */
  const padding = h < w ? [0, d >> 1, 0, d - (d >> 1)] : [d >> 1, 0, d - (d >> 1), 0];
  return d === 0 ? hwc : pad(hwc, padding, 0, 'edge');
}
const prepare = (hwc) => normalize.apply(toTensor.apply(resize.apply(square(hwc)))).image;

/** Stacks prepared images into one NHWC float tensor. */
function stack(images) {
  const out = new Float32Array(images.length * SIZE * SIZE * 3);
  for (const [i, im] of images.entries()) out.set(im, i * SIZE * SIZE * 3);
  return tf.tensor4d(out, [images.length, SIZE, SIZE, 3]);
}

function accuracy(model, x, y) {
  model.eval();
  let correct = 0;
  for (let i = 0; i < y.length; i += BATCH) {
    const n = Math.min(BATCH, y.length - i);
    const pred = tf.tidy(() => tf.argMax(model.forward(x.slice([i, 0, 0, 0], [n, -1, -1, -1])), 1));
    const p = pred.dataSync();
    for (let k = 0; k < n; k++) if (p[k] === y[i + k]) correct++;
    pred.dispose();
  }
  return correct / y.length;
}

async function trainEpochs(
  model,
  optimizer,
  params,
  x,
  y,
  epochs,
  seed,
  evaluate,
  what,
  scheduler,
) {
  const gen = new Generator(seed);
  const labels = tf.tensor1d(y, 'int32');
  for (let epoch = 0; epoch < epochs; epoch++) {
    model.train();
    const order = gen.permutation(y.length);
    const start = Date.now();
    let lossSum = 0;
    let batches = 0;
    for (let i = 0; i < order.length; i += BATCH) {
      const idx = tf.tensor1d(order.slice(i, i + BATCH), 'int32');
      const xb = tf.gather(x, idx);
      const yb = tf.gather(labels, idx);
      const { value, grads } = valueAndGrads(
        () => /** @type {tf.Scalar} */ (crossEntropy(model.forward(xb), yb)),
        params,
      );
      optimizer.step(new Map(params.map((p, k) => [p, grads[k]])));
      scheduler?.step();
      lossSum += value.dataSync()[0];
      batches++;
      tf.dispose([idx, xb, yb, value, ...grads]);
    }
    const seconds = (Date.now() - start) / 1000;
    const line = `epoch ${epoch + 1}: loss ${(lossSum / batches).toFixed(4)}, ${(y.length / seconds).toFixed(1)} img/s`;
    console.log(`${line}, ${what} ${(evaluate() * 100).toFixed(1)}%`);
  }
  labels.dispose();
}

/**
 * `perClass` images of each pretraining shape, prepared as the model reads them: resized
 * renders ({@link resizedRenders}), or with `--square-renders` shapes drawn straight into
 * SIZE² squares, the first recipe, whose features transfer worse to a folder's pictures.
 */
function pretrainSet(perClass, seed) {
  const s = values['square-renders']
    ? shapeSamples({ seed, classes: PRETRAIN_CLASSES, count: perClass, size: SIZE })
    : resizedRenders(PRETRAIN_CLASSES, perClass, seed, Number(values['max-aspect']));
  const images = [];
  for (let i = 0; i < s.labels.length; i++) {
    images.push(
      prepare({
        image: s.images.subarray(i * SIZE * SIZE * 3, (i + 1) * SIZE * SIZE * 3),
        shape: [SIZE, SIZE, 3],
      }),
    );
  }
  return { x: stack(images), y: s.labels };
}

async function pretrain(out) {
  const perClass = Number(values['per-class']);
  const epochs = Number(values.epochs ?? 4);
  const seed = Number(values.seed);
  const lr = Number(values.lr);
  const train = pretrainSet(perClass, 1000 + seed);
  // Held-out shapes of the same classes, drawn from another seed: how well the features generalise.
  const heldOut = pretrainSet(25, 9000 + seed);
  const spec = modelSpec(/** @type {any} */ (values.model), {
    inChannels: 3,
    inputSize: SIZE,
    numClasses: PRETRAIN_CLASSES.length,
  });
  const model = buildModel(spec, new Generator(seed));
  const params = model.parameters();
  const optimizer = new Adam(params, { lr });
  // One cycle (warm-up, then annealing to ~0): the run ends at a minimum, not mid-oscillation.
  const scheduler = new OneCycleLR(optimizer, {
    maxLr: lr,
    totalSteps: epochs * Math.ceil(train.y.length / BATCH),
    pctStart: 0.15,
  });
  console.log(
    `pretraining ${spec.name} on ${train.y.length} images of ${PRETRAIN_CLASSES.join(', ')} at ${SIZE} px`,
  );
  await trainEpochs(
    model,
    optimizer,
    params,
    train.x,
    train.y,
    epochs,
    seed,
    () => accuracy(model, heldOut.x, heldOut.y),
    'held-out accuracy',
    scheduler,
  );
  const bytes = toTorchSafetensors(model, { classes: JSON.stringify(PRETRAIN_CLASSES) });
  await writeFile(`${out}.tmp`, bytes);
  await rename(`${out}.tmp`, out);
  console.log(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB)`);
}

function decode(path, bytes) {
  const img = path.endsWith('.png')
    ? PNG.sync.read(bytes)
    : jpeg.decode(bytes, { useTArray: true });
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    rgb[p] = img.data[q];
    rgb[p + 1] = img.data[q + 1];
    rgb[p + 2] = img.data[q + 2];
  }
  return { image: rgb, shape: [img.height, img.width, 3] };
}

async function loadSplit(files) {
  const images = [];
  const labels = [];
  for (const path of files) {
    const c = path.split('/').at(-2);
    images.push(prepare(decode(path, await readFile(path))));
    labels.push(TARGET_CLASSES.indexOf(c));
  }
  return { x: stack(images), y: Int32Array.from(labels) };
}

async function finetune(weights) {
  const epochs = Number(values.epochs ?? 2);
  const seed = Number(values.seed);
  const dir = await mkdtemp(join(tmpdir(), 'shapes-folder-'));
  try {
    const folder = await makeShapesFolder(join(dir, 'data'), { seed, train: 40, val: 20 });
    console.log(
      `folder: ${folder.files.train.length} train, ${folder.files.val.length} held-out images; skipping corrupt ${folder.corrupt}`,
    );
    const train = await loadSplit(folder.files.train);
    const val = await loadSplit(folder.files.val);
    const model = /** @type {import('@resnet-ts/models').ResNet} */ (
      buildModel(
        modelSpec(/** @type {any} */ (values.model), {
          inChannels: 3,
          inputSize: SIZE,
          numClasses: PRETRAIN_CLASSES.length,
        }),
        new Generator(seed),
      )
    );
    if (weights) loadTorchStateDict(model, await readFile(weights));
    if (values['bn-eval']) {
      // Pretrained BatchNorm statistics and affine parameters stay as they are: a few
      // batches of a small folder estimate them worse than the pretraining data did.
      for (const m of model.modules())
        if (m instanceof BatchNorm2d) freeze(m, { batchNormEval: true });
    }
    const oldHead = model.fc;
    model.fc = new Linear(oldHead.weight.shape[0], TARGET_CLASSES.length, {
      generator: new Generator(seed + 1),
    });
    oldHead.dispose();
    const head = /** @type {tf.Variable[]} */ ([model.fc.weight, model.fc.bias]);
    const backbone = model.parameters().filter((p) => p.trainable && !head.includes(p));
    // Per-group rates: the new head learns fast, the pretrained backbone slowly.
    const optimizer = new Adam(
      [
        { params: backbone, lr: Number(values['backbone-lr'] ?? (weights ? 3e-4 : 1e-3)) },
        { params: head, lr: 1e-3 },
      ],
      { lr: 1e-3 },
    );
    console.log(`fine-tuning ${weights ? `from ${weights}` : 'from scratch'} for ${epochs} epochs`);
    await trainEpochs(
      model,
      optimizer,
      optimizer.params,
      train.x,
      train.y,
      epochs,
      seed,
      () => accuracy(model, val.x, val.y),
      'held-out accuracy',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `perClass` images of each of `classes` as uint8 HWC SIZE² pictures: each shape drawn at
 * random sides (48–112 px, the longer at most `maxAspect` times the shorter) and resized to
 * SIZE² as the command line resizes a folder's pictures, so pretraining sees shapes squashed
 * as fine-tuning will.
 */
function resizedRenders(classes, perClass, seed, maxAspect) {
  const rng = createRng(seed);
  const n = classes.length * perClass;
  const images = new Uint8Array(n * SIZE * SIZE * 3);
  const labels = new Int32Array(n);
  const resizeTo = new Resize([SIZE, SIZE], { antialias: true });
  let k = 0;
  for (let i = 0; i < perClass; i++) {
    for (const [label, c] of classes.entries()) {
      const width = rng.int(48, 112);
      const h = rng.int(48, 112);
      const lo = Math.max(48, Math.ceil(width / maxAspect));
      const hi = Math.min(112, Math.floor(width * maxAspect));
      const height = Math.min(hi, Math.max(lo, h));
      const { data } = renderShape(c, { width, height, rng });
      images.set(
        resizeTo.apply({ image: data, shape: [height, width, 3] }).image,
        k * SIZE * SIZE * 3,
      );
      labels[k++] = label;
    }
  }
  return { images, labels };
}

/**
 * Writes `PREFIX.u8` (N × SIZE × SIZE × 3 bytes) and `PREFIX.labels` (N int32) of
 * {@link resizedRenders}, for fine-tune-torch.py.
 */
async function dump(prefix) {
  const classes = values.set === 'target' ? [...TARGET_CLASSES].sort() : PRETRAIN_CLASSES;
  const { images, labels } = resizedRenders(
    classes,
    Number(values['per-class']),
    Number(values.seed),
    Number(values['max-aspect']),
  );
  await writeFile(`${prefix}.u8`, images);
  await writeFile(`${prefix}.labels`, new Uint8Array(labels.buffer));
  console.log(
    `wrote ${labels.length} images of ${classes.join(', ')} to ${prefix}.u8 and ${prefix}.labels`,
  );
}

const [command, path] = positionals;
if (command === 'dump' && path) {
  await dump(path);
  process.exit(0);
}
await useThreadedWasm();
await tf.setBackend('wasm');
if (command === 'pretrain' && path) await pretrain(path);
else if (command === 'finetune' && (path || values.scratch))
  await finetune(values.scratch ? undefined : path);
else {
  console.error(
    'usage: fine-tune-experiment.mjs pretrain OUT.safetensors | finetune (WEIGHTS | --scratch) | dump PREFIX',
  );
  process.exit(2);
}
// The threaded wasm backend's workers would keep the process alive.
process.exit(0);
