/**
 * The training worker: picks a tfjs backend, loads the embedded MNIST digits, owns the
 * VanResNet model, and trains, predicts, exports and imports weights on request. Running
 * here keeps every kernel launch and readback off the page's main thread.
 */

import {
  type BackendName,
  type BackendSelection,
  decodeSafetensors,
  encodeSafetensors,
  FileFormatError,
  Generator,
  type Module,
  readTensors,
  type SafetensorsFile,
  StateDictError,
  safetensorsToTensors,
  selectBackend,
} from '@resnet-ts/core';
import {
  Compose,
  DataLoader,
  fetchMnistDigits,
  firstN,
  type MnistDigitsSplit,
  Normalize,
  ToTensor,
} from '@resnet-ts/data';
import {
  buildModel,
  checkWeightsFitSpec,
  describeForeignModel,
  loadTorchStateDict,
  MODEL_META_KEY,
  parseWeightsMeta,
} from '@resnet-ts/models';
import { createOptimizer, createScheduler, fit, type Optimizer } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from './backends.js';
import type { BackendProbe, FromWorker, ToWorker, TrainConfig, TrainState } from './protocol.js';
import { sniffNonWeights, UNCHANGED } from './refusals.js';
import { MAX_UPLOAD_BYTES, PAGE_DATASET, PAGE_SPEC, weightsMetadata } from './weights-meta.js';

const [MEAN] = PAGE_DATASET.input.mean;
const [STD] = PAGE_DATASET.input.std;
const { size: SIZE } = PAGE_DATASET.input;
const PIXELS = SIZE * SIZE;

const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

function send(msg: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(msg, transfer);
}

let model: Module;
let digits: MnistDigitsSplit;
let state: TrainState = 'loading';
/** Epochs the current weights have been trained for, across runs and loaded files. */
let epochsTrained = 0;
let abort: AbortController | null = null;
let resumeGate: { promise: Promise<void>; open: () => void } | null = null;
// Messages are handled one at a time so a predict never interleaves with a weight import.
let queue: Promise<void> = Promise.resolve();

function setState(s: TrainState, message?: string): void {
  state = s;
  send({ type: 'state', state: s, message });
}

scope.onmessage = (e) => {
  const msg = e.data;
  // Pause, resume and stop must act while a training run is awaiting its next batch, so they
  // bypass the queue; everything else waits its turn.
  if (msg.type === 'pause' || msg.type === 'resume' || msg.type === 'stop') {
    control(msg.type);
    return;
  }
  if (msg.type === 'start') {
    if (state !== 'idle') return;
    setState('training');
    void train(msg.config);
    return;
  }
  queue = queue
    .then(() => handle(msg))
    .catch((err) => send({ type: 'error', message: errorText(err) }));
};

function control(kind: 'pause' | 'resume' | 'stop'): void {
  if (kind === 'pause' && state === 'training') {
    let open = () => {};
    const promise = new Promise<void>((r) => {
      open = r;
    });
    resumeGate = { promise, open };
    // The page hears 'paused' only once the run is actually waiting (see onBatchEnd): a
    // batch already on the device still finishes and reports first.
    state = 'paused';
  } else if (kind === 'resume' && state === 'paused') {
    resumeGate?.open();
    resumeGate = null;
    setState('training');
  } else if (kind === 'stop' && (state === 'training' || state === 'paused')) {
    abort?.abort();
    resumeGate?.open();
    resumeGate = null;
    setState('stopping');
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init':
      return init(msg.backend, msg.dataUrl, msg.wasmPaths);
    case 'predict': {
      const probs = await predictProbabilities(msg.pixels);
      send({ type: 'prediction', id: msg.id, probs }, [probs.buffer]);
      return;
    }
    case 'grid':
      return sendGrid(msg.count);
    case 'exportWeights': {
      const bytes = await exportWeights();
      send({ type: 'weights', bytes }, [bytes.buffer]);
      return;
    }
    case 'importWeights':
      send({ type: 'weightsLoaded', ...importWeights(msg.bytes, msg.fileName) });
      return;
  }
}

async function init(
  choice: 'auto' | BackendName,
  dataUrl: string,
  wasmPaths: Record<string, string>,
): Promise<void> {
  let selection: BackendSelection;
  let probes: BackendProbe[] = [];
  try {
    setWasmPaths(wasmPaths);
    if (choice === 'auto') {
      ({ selection, probes } = await chooseByMeasurement(() => loadDigits(dataUrl)));
    } else {
      selection = await selectBackend({ prefer: [choice] });
      const software = softwareRenderer(choice);
      if (software) selection.tried[0].reason += ` (software: ${software})`;
    }
  } catch (err) {
    const message = choice === 'auto' ? errorText(err) : attemptReason(err, choice);
    send({ type: 'initError', message });
    return;
  }
  try {
    await loadDigits(dataUrl);
    model = newModel(0);
    model.eval();
  } catch (err) {
    send({ type: 'initError', message: errorText(err), selection });
    return;
  }
  send({
    type: 'ready',
    selection,
    trainCount: digits.train.length,
    testCount: digits.test.length,
    numParameters: model.numParameters(),
    maxUploadBytes: MAX_UPLOAD_BYTES,
    probes,
  });
  setState('idle');
}

async function loadDigits(dataUrl: string): Promise<void> {
  digits ??= await fetchMnistDigits(dataUrl, {
    transform: new Compose([
      new ToTensor(),
      new Normalize(PAGE_DATASET.input.mean, PAGE_DATASET.input.std),
    ]),
  });
}

/** The order Automatic tries backends in; cpu is measured only when nothing else starts. */
const AUTO_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
/** Images in the probe's batch: big enough to time, small enough to stay a fraction of a second on wasm. */
const PROBE_BATCH = 16;

/**
 * Automatic: starts every backend the browser offers, trains one batch on each (after one
 * warm-up batch, so shader compilation is not counted) and keeps the fastest. A software
 * adapter (SwiftShader, llvmpipe) ranks below wasm whatever it measured: on a machine
 * without a GPU it shares the CPU wasm already uses, and its first steps compile for
 * seconds.
 */
async function chooseByMeasurement(
  load: () => Promise<void>,
): Promise<{ selection: BackendSelection; probes: BackendProbe[] }> {
  const tried: BackendSelection['tried'] = [];
  const probes: BackendProbe[] = [];
  for (const name of AUTO_ORDER) {
    if (name === 'cpu' && probes.length > 0) break;
    let attempt: BackendSelection['tried'][number];
    try {
      attempt = (await selectBackend({ prefer: [name] })).tried[0];
    } catch (err) {
      tried.push({ name, ok: false, reason: attemptReason(err, name) });
      continue;
    }
    const software =
      softwareRenderer(name) ?? (attempt.reason.startsWith('software') ? 'adapter' : null);
    await load();
    try {
      const imagesPerSec = await measureOneBatch();
      probes.push({ name, software: software !== null, imagesPerSec });
      tried.push({
        name,
        ok: true,
        reason: `${attempt.reason}${software && software !== 'adapter' ? ` (software: ${software})` : ''}; ${imagesPerSec.toFixed(0)} img/s`,
      });
    } catch (err) {
      tried.push({ name, ok: false, reason: `failed a training step: ${errorText(err)}` });
    }
  }
  const rank = (p: BackendProbe) => (p.name === 'cpu' ? 0 : p.software ? 1 : 2);
  const best = [...probes].sort((a, b) => rank(b) - rank(a) || b.imagesPerSec - a.imagesPerSec)[0];
  if (!best) {
    throw new Error(
      `no usable backend among ${AUTO_ORDER.join(', ')}: ${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}`,
    );
  }
  if (!(await tf.setBackend(best.name))) throw new Error(`${best.name} failed to start again`);
  // 'ok' marks the backend in use; the others that measured are listed as not picked.
  const marked = tried.map((t) => ({ ...t, ok: t.ok && t.name === best.name }));
  return { selection: { name: best.name, tried: marked }, probes };
}

/** Why `name` did not start, from selectBackend's error, which ends with one "  name: reason" line per attempt. */
function attemptReason(err: unknown, name: BackendName): string {
  const line = errorText(err)
    .split('\n')
    .find((l) => l.trim().startsWith(`${name}:`));
  return (
    line
      ?.trim()
      .slice(name.length + 1)
      .trim() ?? errorText(err)
  );
}

/** Trains a fresh model for one warm-up batch, then times one more; returns images per second. */
async function measureOneBatch(): Promise<number> {
  const probeModel = newModel(0);
  const optimizer = createOptimizer('sgd', probeModel.parameters(), { lr: 0.01, momentum: 0.9 });
  const sync = async () => {
    const weights = await readTensors(probeModel.stateDict());
    return Object.keys(weights).length;
  };
  try {
    const batch = (n: number) =>
      new DataLoader(firstN(digits.train, n * PROBE_BATCH), { batchSize: PROBE_BATCH });
    await fit({ model: probeModel, optimizer, trainLoader: batch(1), epochs: 1 });
    await sync();
    const t0 = performance.now();
    await fit({ model: probeModel, optimizer, trainLoader: batch(1), epochs: 1 });
    await sync();
    return (PROBE_BATCH * 1000) / Math.max(performance.now() - t0, 1e-3);
  } finally {
    optimizer.dispose();
    probeModel.dispose();
  }
}

/**
 * The renderer's name when the active backend draws with a software rasteriser (WebGL on
 * SwiftShader or llvmpipe, a fallback WebGPU adapter), else null.
 */
function softwareRenderer(name: BackendName): string | null {
  const software = /swiftshader|llvmpipe|softpipe|software|fallback/i;
  if (name === 'webgl') {
    const gl = (tf.backend() as { gpgpu?: { gl?: WebGL2RenderingContext } }).gpgpu?.gl;
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    return software.test(renderer) ? renderer : null;
  }
  return null;
}

function newModel(seed: number): Module {
  return buildModel(PAGE_SPEC, new Generator(seed));
}

/** uint8 pixels (scale 1/255) or [0, 1] floats (scale 1) → normalised NHWC float32. */
function toInput(pixels: Uint8Array | Float32Array, count: number, scale: number): tf.Tensor4D {
  const x = new Float32Array(count * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = (pixels[i] * scale - MEAN) / STD;
  return tf.tensor4d(x, [count, SIZE, SIZE, 1]);
}

/** The page's optimizer: SGD with the momentum its label promises, or Adam as PyTorch's. */
function makeOptimizer(config: TrainConfig): Optimizer {
  const momentum = config.optimizer === 'sgd' ? 0.9 : undefined;
  return createOptimizer(config.optimizer, model.parameters(), { lr: config.lr, momentum });
}

async function train(config: TrainConfig): Promise<void> {
  const controller = new AbortController();
  abort = controller;
  // The splits are already in random order, so their first digits are a fair sample.
  const trainLoader = new DataLoader(firstN(digits.train, config.trainSize), {
    batchSize: config.batchSize,
    shuffle: true,
    seed: config.seed,
  });
  const valLoader = new DataLoader(firstN(digits.test, config.valSize), { batchSize: 64 });
  const optimizer = makeOptimizer(config);
  const scheduler = createScheduler(config.scheduler, optimizer, {
    epochs: config.epochs,
    stepsPerEpoch: trainLoader.length,
    lr: config.lr,
  });
  let step = 0;
  let epoch = 0;
  let message: string | undefined;
  try {
    await fit({
      model,
      optimizer,
      scheduler,
      trainLoader,
      valLoader,
      epochs: config.epochs,
      signal: controller.signal,
      callbacks: [
        {
          onEpochBegin: (e) => {
            epoch = e;
          },
          onBatchEnd: async (batch, logs) => {
            step++;
            send({
              type: 'batch',
              step,
              epoch,
              batch,
              batchesPerEpoch: trainLoader.length,
              loss: logs.loss ?? Number.NaN,
              lr: logs.lr,
              imagesPerSec: logs.imagesPerSec,
            });
            // Let control messages, predictions and grid requests run between batches.
            await yieldToEventLoop();
            if (resumeGate) {
              send({ type: 'state', state: 'paused' });
              await resumeGate.promise;
            }
          },
          onEpochEnd: (e, logs) => {
            epochsTrained++;
            send({
              type: 'epoch',
              epoch: e,
              trainLoss: logs.trainLoss,
              trainAccuracy: logs.trainAcc,
              valLoss: logs.valLoss,
              valAccuracy: logs.valAcc,
            });
          },
        },
      ],
    });
    message = controller.signal.aborted
      ? `Stopped after ${plural(step, 'step')}.`
      : `Finished ${plural(config.epochs, 'epoch')} (${plural(step, 'step')}).`;
  } catch (err) {
    send({ type: 'error', message: `training failed: ${errorText(err)}` });
  } finally {
    optimizer.dispose();
    model.eval();
    abort = null;
    resumeGate = null;
    setState('idle', message);
  }
}

/** "1 step", "2 steps". */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Runs the model in eval mode (and puts back the mode it found). */
async function inEval(fn: () => tf.Tensor): Promise<Float32Array | Int32Array> {
  const wasTraining = model.training;
  model.eval();
  try {
    const out = fn();
    const data = (await out.data()) as Float32Array | Int32Array;
    out.dispose();
    return data;
  } finally {
    if (wasTraining) model.train();
  }
}

async function predictProbabilities(pixels: Float32Array): Promise<Float32Array> {
  const data = await inEval(() =>
    tf.tidy(() => tf.softmax(model.forward(toInput(pixels, 1, 1)) as tf.Tensor2D)),
  );
  return Float32Array.from(data);
}

async function sendGrid(count: number): Promise<void> {
  const n = Math.min(count, digits.test.length);
  const pixels = digits.test.images.slice(0, n * PIXELS);
  const labels = Int32Array.from(digits.test.labels.subarray(0, n));
  const predictions = Int32Array.from(
    await inEval(() =>
      tf.tidy(() => tf.argMax(model.forward(toInput(pixels, n, 1 / 255)) as tf.Tensor2D, 1)),
    ),
  );
  send({ type: 'grid', pixels, labels, predictions }, [
    pixels.buffer,
    labels.buffer,
    predictions.buffer,
  ]);
}

async function exportWeights(): Promise<Uint8Array> {
  // Asynchronous reads: a synchronous GPU readback would block on WebGPU and WebGL.
  return encodeSafetensors(await readTensors(model.stateDict()), weightsMetadata(epochsTrained));
}

/**
 * Replaces the weights with a file's, or says why not. Every check (what the bytes are, the
 * file format, the metadata's schema and limits, the model it describes, its tensor shapes)
 * runs before the model is touched, so a refused file leaves the weights as they were.
 */
function importWeights(bytes: Uint8Array, fileName: string): { ok: boolean; message: string } {
  const refuse = (why: string) => ({ ok: false, message: `${why} ${UNCHANGED}` });
  if (state !== 'idle') return refuse('Stop training before loading weights.');
  const kind = sniffNonWeights(bytes);
  if (kind) return refuse(`${fileName}: this looks like ${kind}, not weights.`);
  if (isTorchSave(bytes)) return importTorchFile(bytes, fileName, refuse);
  let file: SafetensorsFile;
  try {
    file = decodeSafetensors(bytes);
  } catch (err) {
    return refuse(`${fileName} is not a valid safetensors file: ${errorText(err)}.`);
  }
  // Files without resnet-ts metadata (converted PyTorch weights) are judged by their tensors.
  let epochs = 0;
  if (Object.hasOwn(file.metadata, MODEL_META_KEY)) {
    try {
      const meta = parseWeightsMeta(file.metadata, fileName);
      const foreign = describeForeignModel(meta, PAGE_SPEC);
      if (foreign) return refuse(`${fileName} does not fit this page: ${foreign}.`);
      checkWeightsFitSpec(meta.model, file, fileName);
      epochs = meta.epoch;
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      return refuse(`Cannot load ${err.message}.`);
    }
  }
  const tensors = safetensorsToTensors(file);
  try {
    model.loadStateDict(tensors, { strict: true });
  } catch (err) {
    return refuse(doesNotFit(fileName, err));
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  epochsTrained = epochs;
  return { ok: true, message: `Loaded ${Object.keys(tensors).length} tensors from ${fileName}.` };
}

/** A `torch.save` file (PyTorch ≥ 1.6) is a zip archive. */
function isTorchSave(bytes: Uint8Array): boolean {
  return (
    bytes.length > 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4
  );
}

/**
 * A `.pth` of this model's state dict, as `torch.save(model.state_dict())` writes it (a
 * DataParallel `module.` prefix is dropped), read without running anything from the file.
 */
function importTorchFile(
  bytes: Uint8Array,
  fileName: string,
  refuse: (why: string) => { ok: boolean; message: string },
): { ok: boolean; message: string } {
  try {
    loadTorchStateDict(model, bytes, { strict: true, stripPrefix: true });
    epochsTrained = 0;
    const count = Object.keys(model.stateDict()).length;
    return { ok: true, message: `Loaded ${count} tensors from ${fileName}.` };
  } catch (err) {
    if (err instanceof StateDictError) return refuse(doesNotFit(fileName, err));
    if (err instanceof FileFormatError) return refuse(`Cannot load ${fileName}: ${err.message}.`);
    throw err;
  }
}

function doesNotFit(fileName: string, err: unknown): string {
  const detail = err instanceof StateDictError ? err.message : errorText(err);
  const { inChannels: c, inputSize: n, numClasses } = PAGE_SPEC;
  return `${fileName} does not fit this VanResNet (${c}×${n}×${n} input, ${numClasses} classes): ${detail}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
