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
  type LoaderPosition,
  type MnistDigitsSplit,
  Normalize,
  ResumableBatchSampler,
  ToTensor,
} from '@resnet-ts/data';
import {
  buildModel,
  checkWeightsFitSpec,
  describeForeignModel,
  loadTorchStateDict,
  MODEL_META_KEY,
  parseWeightsMeta,
  sniffWeightsFormat,
} from '@resnet-ts/models';
import {
  type BatchLogs,
  createOptimizer,
  createScheduler,
  type EpochLogs,
  fit,
  type Loader,
  NonFiniteLossError,
  type Optimizer,
  restoreCheckpointFile,
  type Scheduler,
} from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths } from './backends.js';
import type {
  BackendProbe,
  EpochReport,
  FromWorker,
  RunHistory,
  ToWorker,
  TrainConfig,
  TrainState,
} from './protocol.js';
import { sniffNonWeights, UNCHANGED } from './refusals.js';
import {
  canSaveRuns,
  discardSavedRun,
  parseSavedExtra,
  readSavedRun,
  type SavedExtra,
  type SavedRun,
  saveRun,
} from './saved-run.js';
import { errorText, plural } from './text.js';
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
/** The backend in use, recorded in saved runs. */
let backendName: BackendName;
/** A run a reload interrupted, read on start and kept until it is continued or discarded. */
let savedRun: { run: SavedRun; extra: SavedExtra } | null = null;
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
  if (msg.type === 'start' || msg.type === 'continueSaved') {
    if (state !== 'idle') return;
    const saved = msg.type === 'continueSaved' ? savedRun : null;
    if (msg.type === 'continueSaved' && !saved) return;
    savedRun = null;
    setState('training');
    void train(
      saved?.extra.config ?? (msg as { config: TrainConfig }).config,
      msg.saveEvery,
      saved,
    );
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
    case 'discardSaved':
      savedRun = null;
      await forgetRun();
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
  const isolated = self.crossOriginIsolated === true;
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
  backendName = selection.name;
  send({
    type: 'ready',
    selection,
    trainCount: digits.train.length,
    testCount: digits.test.length,
    numParameters: model.numParameters(),
    maxUploadBytes: MAX_UPLOAD_BYTES,
    probes,
    isolated,
    ...(selection.name === 'wasm' ? { wasmThreads: getThreadsCount() } : {}),
  });
  setState('idle');
  await offerSavedRun();
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
 * Automatic: starts every backend the browser offers, times a few training batches on each
 * (after one warm-up batch, so shader compilation is not counted) and keeps the fastest. A software
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
      const imagesPerSec = await measureSpeed();
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

/** The probe times batches until this much time is spent (at least one, at most 8). */
const PROBE_MS = 1000;

/**
 * Trains a fresh model for one warm-up batch, then times batches for about `PROBE_MS` (at
 * least one, at most 8); returns their images per second. Timing several averages out what
 * a busy machine (another tab, a build) does to single batches, which swung a one-batch
 * measurement between a third and 1.3 times the speed a run then trained at.
 */
async function measureSpeed(): Promise<number> {
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
    let batches = 0;
    do {
      await fit({ model: probeModel, optimizer, trainLoader: batch(1), epochs: 1 });
      await sync();
      batches++;
    } while (batches < 8 && performance.now() - t0 < PROBE_MS);
    return (batches * PROBE_BATCH * 1000) / Math.max(performance.now() - t0, 1e-3);
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

/** How far above its first value the loss may climb before the page warns of divergence. */
const DIVERGENCE_FACTOR = 3;

/**
 * One run: what it trains with (built from its configuration alone, so a reloaded page builds
 * the same), where it stands, its figures so far, and its saves for a reload.
 */
class TrainingRun {
  readonly optimizer: Optimizer;
  /** Steps done, those before a reload included. */
  step = 0;
  private readonly sampler: ResumableBatchSampler;
  private readonly trainLoader: Loader;
  private readonly valLoader: Loader;
  private readonly scheduler: Scheduler | undefined;
  private readonly totalSteps: number;
  private readonly history: RunHistory = { losses: [], accuracies: [], lrs: [], epochs: [] };
  /** `fit`'s logs of the epochs done, restored ones included. */
  private epochLogs: EpochLogs[] = [];
  /** The epoch training starts at: 0, or where a saved run was. */
  private startEpoch = 0;
  private epoch = 0;
  /** Batches of the current epoch trained before a reload, which the loader skips. */
  private skipped = 0;
  /** Epochs the weights had been trained for before this run began. */
  private epochsBefore = epochsTrained;
  private saving = true;
  private warned = false;
  /** The batch of the current epoch last trained, and the step last saved. */
  private lastBatch = -1;
  private savedStep = 0;

  constructor(
    readonly config: TrainConfig,
    private readonly saveEvery: number,
  ) {
    // The splits are already in random order, so their first digits are a fair sample.
    const trainSet = firstN(digits.train, config.trainSize);
    this.sampler = new ResumableBatchSampler(trainSet, {
      batchSize: config.batchSize,
      seed: config.seed,
    });
    this.trainLoader = new DataLoader(trainSet, {
      batchSampler: this.sampler,
      generator: this.sampler.generator,
    });
    this.valLoader = new DataLoader(firstN(digits.test, config.valSize), { batchSize: 64 });
    this.optimizer = makeOptimizer(config);
    this.scheduler = createScheduler(config.scheduler, this.optimizer, {
      epochs: config.epochs,
      stepsPerEpoch: this.sampler.length,
      lr: config.lr,
    });
    this.totalSteps = config.epochs * this.sampler.length;
  }

  /**
   * Puts the model, optimizer, scheduler, shuffle and position back where a saved run was,
   * and sends the page its figures so far.
   */
  restore({ run, extra }: { run: SavedRun; extra: SavedExtra }): void {
    const { optimizer, scheduler } = this;
    const restored = restoreCheckpointFile(run, { model, optimizer, scheduler });
    const passStart = run.json.generators?.shuffle;
    if (!passStart) throw new Error('the saved run has no shuffling state');
    this.step = extra.step;
    this.skipped = extra.batchesDone;
    this.epochsBefore = extra.epochsBefore;
    this.startEpoch = restored.epoch;
    this.epochLogs = restored.history;
    this.sampler.restore({ passStart, batchesDone: extra.batchesDone });
    Object.assign(this.history, extra.history, { epochs: this.epochLogs.map(toEpochReport) });
    epochsTrained = this.epochsBefore + this.startEpoch;
    send({ type: 'restored', ...this.history });
  }

  /**
   * Trains from where the run stands to its last epoch (or until `signal` aborts), letting
   * the worker's other messages in between batches and holding at a pause.
   */
  async fit(signal: AbortSignal): Promise<void> {
    this.epoch = this.startEpoch;
    await fit({
      model,
      optimizer: this.optimizer,
      scheduler: this.scheduler,
      trainLoader: this.trainLoader,
      valLoader: this.valLoader,
      epochs: this.config.epochs,
      startEpoch: this.startEpoch,
      history: this.epochLogs,
      signal,
      callbacks: [
        {
          onEpochBegin: (e) => {
            this.epoch = e;
          },
          onBatchEnd: async (b, logs) => {
            await this.onBatchEnd(b, logs);
            // Let control messages, predictions and grid requests run between batches.
            await yieldToEventLoop();
            if (resumeGate) {
              await this.saveHere();
              send({ type: 'state', state: 'paused' });
              await resumeGate.promise;
            }
          },
          onEpochEnd: (e, logs) => this.onEpochEnd(e, logs),
        },
      ],
    });
  }

  /** Records and reports a batch, warns of divergence, and saves every `saveEvery` steps. */
  private async onBatchEnd(b: number, logs: BatchLogs): Promise<void> {
    this.step++;
    const batch = this.skipped + b;
    const loss = logs.loss ?? Number.NaN;
    const accuracy = logs.accuracy ?? Number.NaN;
    this.history.losses.push(loss);
    this.history.accuracies.push(accuracy);
    this.history.lrs.push(logs.lr);
    send({
      type: 'batch',
      step: this.step,
      totalSteps: this.totalSteps,
      epoch: this.epoch,
      batch,
      batchesPerEpoch: this.sampler.length,
      loss,
      accuracy,
      lr: logs.lr,
      imagesPerSec: logs.imagesPerSec,
    });
    this.warnIfDiverging(loss);
    this.lastBatch = batch;
    if (this.step % this.saveEvery === 0) await this.saveHere();
  }

  /**
   * Saves the run after the batch just trained (a pause calls this, so a page closed while
   * paused continues from there). The epoch's last batch is saved once the epoch has ended,
   * with its validation done.
   */
  private async saveHere(): Promise<void> {
    if (this.savedStep === this.step || this.lastBatch + 1 >= this.sampler.length) return;
    await this.save(this.epoch, this.sampler.position(this.lastBatch + 1));
  }

  /** Records and reports an epoch, and saves the run at the start of the next one. */
  private async onEpochEnd(e: number, logs: EpochLogs): Promise<void> {
    this.skipped = 0;
    this.lastBatch = -1;
    epochsTrained++;
    this.epochLogs = [...this.epochLogs, logs];
    const report = toEpochReport(logs);
    this.history.epochs.push(report);
    send({ type: 'epoch', ...report });
    if (e + 1 < this.config.epochs) await this.save(e + 1, this.sampler.nextPass());
  }

  /** Warns once when the loss has climbed far above where it started. */
  private warnIfDiverging(loss: number): void {
    const first = this.history.losses[0];
    if (this.warned || !(loss > DIVERGENCE_FACTOR * first)) return;
    this.warned = true;
    send({
      type: 'diverged',
      message: `The loss is diverging: ${loss.toPrecision(3)} at step ${this.step}, up from ${first.toPrecision(3)} at the start. ${lowerLr(this.config)}`,
    });
  }

  /** Saves the run as it stands after `epochsDone` epochs and `position` in the next. */
  private async save(epochsDone: number, position: LoaderPosition): Promise<void> {
    if (!this.saving) return;
    const { losses, accuracies, lrs } = this.history;
    const extra: SavedExtra = {
      config: this.config,
      step: this.step,
      batchesDone: position.batchesDone,
      backend: backendName,
      epochsBefore: this.epochsBefore,
      history: { losses, accuracies, lrs },
    };
    try {
      await saveRun({
        model,
        optimizer: this.optimizer,
        scheduler: this.scheduler,
        generators: { shuffle: new Generator(1).setState(position.passStart) },
        epoch: epochsDone,
        history: this.epochLogs,
        extra,
      });
      this.savedStep = this.step;
      send({ type: 'saved', step: this.step });
    } catch (err) {
      this.saving = false;
      send({ type: 'saved', step: this.step, problem: `progress is not saved: ${errorText(err)}` });
    }
  }
}

/**
 * Trains one run, or continues a saved one with the same configuration from where it was
 * saved, so that on the same backend it ends with the weights an uninterrupted run has. A
 * finished, stopped or failed run is removed from storage.
 */
async function train(
  config: TrainConfig,
  saveEvery: number,
  saved: { run: SavedRun; extra: SavedExtra } | null,
): Promise<void> {
  const controller = new AbortController();
  abort = controller;
  let run: TrainingRun | undefined;
  let message: string | undefined;
  try {
    run = new TrainingRun(config, saveEvery);
    if (saved) run.restore(saved);
    await run.fit(controller.signal);
    message = controller.signal.aborted
      ? `Stopped after ${plural(run.step, 'step')}.`
      : `Finished ${plural(config.epochs, 'epoch')} (${plural(run.step, 'step')}).`;
  } catch (err) {
    const step = run?.step ?? 0;
    if (err instanceof NonFiniteLossError) {
      message = `Stopped after ${plural(step, 'step')}: the loss diverged.`;
      send({
        type: 'diverged',
        message: `The loss became ${err.loss} at step ${step + 1}: training diverged and stopped. ${lowerLr(config)}`,
      });
    } else send({ type: 'error', message: `training failed: ${errorText(err)}` });
  } finally {
    run?.optimizer.dispose();
    model.eval();
    abort = null;
    resumeGate = null;
    await forgetRun();
    setState('idle', message);
  }
}

/** The hint a diverging run gets. */
function lowerLr(config: TrainConfig): string {
  return `Lower the learning rate (it is ${config.lr}; try ${config.optimizer === 'adam' ? '0.001' : '0.01'}).`;
}

function toEpochReport(logs: EpochLogs): EpochReport {
  return {
    epoch: logs.epoch,
    trainLoss: logs.trainLoss,
    trainAccuracy: logs.trainAcc,
    valLoss: logs.valLoss,
    valAccuracy: logs.valAcc,
  };
}

/** Removes the saved run; a failure only means a reload may offer a finished run. */
async function forgetRun(): Promise<void> {
  await discardSavedRun().catch(() => {});
}

/**
 * Offers the run a reload interrupted, if one was saved: its summary goes to the page, which
 * asks whether to continue. One that cannot be read, or no longer fits the page, is removed.
 */
async function offerSavedRun(): Promise<void> {
  let problem: string | undefined;
  if (!canSaveRuns()) {
    send({ type: 'savedRun', run: null });
    return;
  }
  try {
    const run = await readSavedRun(SAVED_RUN_MAX_BYTES);
    if (run) {
      const extra = parseSavedExtra(run.json.extra, {
        trainCount: digits.train.length,
        testCount: digits.test.length,
      });
      savedRun = { run, extra };
      const totalSteps =
        extra.config.epochs *
        Math.ceil(Math.min(extra.config.trainSize, digits.train.length) / extra.config.batchSize);
      send({
        type: 'savedRun',
        run: { config: extra.config, step: extra.step, totalSteps, backend: extra.backend },
      });
      return;
    }
  } catch (err) {
    problem = `A saved run could not be read and was removed: ${errorText(err)}.`;
    await forgetRun();
  }
  send({ type: 'savedRun', run: null, problem });
}

/** Model, Adam's two buffers per parameter, and a few megabytes of history. */
const SAVED_RUN_MAX_BYTES = 4 * MAX_UPLOAD_BYTES + 16 * 1024 * 1024;

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
  if (sniffWeightsFormat(bytes).format === 'pth') return importTorchFile(bytes, fileName, refuse);
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
