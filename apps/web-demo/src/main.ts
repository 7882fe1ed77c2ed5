/**
 * The page: wires the controls, charts, draw pad and digit grid to the training worker.
 * Nothing here touches tfjs; every tensor lives in the worker so the page stays responsive.
 */
import './style.css';
import mnistUrl from '@resnet-ts/data/mnist-digits.bin?url';
import type { OptimizerName, SchedulerName } from '@resnet-ts/train';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { ProbabilityChart, TrainingCharts } from './charts.js';
import { renderDigitGrid } from './digit-grid.js';
import { createDrawPad } from './draw-pad.js';
import { setupIntro, setupModes, untrainedNotice } from './first-run.js';
import { mountOwnImages } from './own-images.js';
import type {
  BackendChoice,
  BackendProbe,
  FromWorker,
  RunHistory,
  SavedRunSummary,
  ToWorker,
  TrainConfig,
  TrainState,
} from './protocol.js';
import { formatBytes, UNCHANGED } from './refusals.js';
import { sizeRun, TARGET_SECONDS } from './run-size.js';
import { type DemoState, exposeDemoState } from './test-hooks.js';
import { plural } from './text.js';
import { ProgressClock } from './training-progress.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const el = {
  backendStatus: $('backend-status'),
  backendTried: $<HTMLUListElement>('backend-tried'),
  backendThreads: $('backend-threads'),
  backendSelect: $<HTMLSelectElement>('backend-select'),
  backendApply: $<HTMLButtonElement>('backend-apply'),
  backendMessage: $('backend-message'),
  form: $<HTMLFormElement>('train-form'),
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $('progress-text'),
  sizing: $('train-sizing'),
  warning: $('train-warning'),
  savedRun: $('saved-run'),
  savedRunText: $('saved-run-text'),
  savedContinue: $<HTMLButtonElement>('saved-continue'),
  savedDiscard: $<HTMLButtonElement>('saved-discard'),
  savedNote: $('saved-note'),
  state: $('stat-state'),
  epoch: $('stat-epoch'),
  step: $('stat-step'),
  loss: $('stat-loss'),
  speed: $('stat-speed'),
  lr: $('stat-lr'),
  acc: $('stat-acc'),
  trainMessage: $('train-message'),
  drawPad: $<HTMLCanvasElement>('draw-pad'),
  prediction: $<HTMLOutputElement>('prediction'),
  predictionStatus: $('prediction-status'),
  predictionAnnounce: $('prediction-announce'),
  clear: $<HTMLButtonElement>('clear'),
  testDigit: $<HTMLButtonElement>('test-digit'),
  grid: $('digit-grid'),
  gridRefresh: $<HTMLButtonElement>('grid-refresh'),
  download: $<HTMLButtonElement>('download'),
  upload: $<HTMLInputElement>('upload'),
  weightsMessage: $('weights-message'),
  ping: $<HTMLButtonElement>('ping'),
  pingOut: $<HTMLOutputElement>('ping-out'),
};

const demo: DemoState = exposeDemoState();
const charts = new TrainingCharts($('loss-chart'), $('acc-chart'));
const probChart = new ProbabilityChart($('prob-chart'));
probChart.show(null);

const wasmPaths = {
  'tfjs-backend-wasm.wasm': new URL(wasmUrl, location.href).href,
  'tfjs-backend-wasm-simd.wasm': new URL(wasmSimdUrl, location.href).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreadedUrl, location.href).href,
};

setupIntro($('intro'), $<HTMLButtonElement>('intro-dismiss'), el.start);
const untrained = untrainedNotice($('untrained'));
/** True from an upload until the worker says whether it loaded. */
let uploading = false;
const ownImages = mountOwnImages($('images-mode'), {
  backend: () => demo.backend ?? 'wasm',
  wasmPaths,
});
setupModes(
  Array.from(document.querySelectorAll<HTMLButtonElement>('.modes button')),
  { digits: $('digits-mode'), images: $('images-mode') },
  (mode) => {
    if (mode === 'images') ownImages.activate();
  },
);

// URL parameters preset the controls (e.g. ?backend=wasm&batchSize=8&trainSize=256), so a
// configuration can be shared as a link.
const params = new URLSearchParams(location.search);
for (const input of Array.from(el.form.elements) as HTMLInputElement[]) {
  const v = input.name ? params.get(input.name) : null;
  if (v !== null) input.value = v;
}
/** Fields the address preset or the user edited: the measured run size leaves them alone. */
const chosenByUser = new Set(['epochs', 'trainSize'].filter((name) => params.has(name)));
for (const name of ['epochs', 'trainSize']) {
  (el.form.elements.namedItem(name) as HTMLInputElement | null)?.addEventListener('input', () =>
    chosenByUser.add(name),
  );
}
/** Steps between saves of a run for a reload (`?saveEvery=`); each epoch's end is saved too. */
const SAVE_EVERY = Math.max(1, Math.floor(Number(params.get('saveEvery') ?? 20)) || 20);
// The tests' Ping panel stays out of the page unless asked for.
if (params.has('hooks')) $('hooks-panel').hidden = false;
const initialBackend = params.get('backend');
if (initialBackend && [...el.backendSelect.options].some((o) => o.value === initialBackend)) {
  el.backendSelect.value = initialBackend;
}

let worker: Worker;
/** What the worker last said its state was. */
let state: TrainState = 'loading';
/** True from a Switch click until the new backend is ready or the switch has failed. */
let switching = false;
let whenIdle: (() => void) | null = null;
let batchesPerEpoch = 1;
let totalEpochs = 1;
let totalSteps = 0;
/** Training digits the worker holds. */
let trainCount = Number.POSITIVE_INFINITY;
/** The ETA estimate of the run under way, null between runs. */
let clock: ProgressClock | null = null;
let predictionId = 0;
/** The id of the one prediction the worker is computing, or null. */
let predictionInFlight: number | null = null;
let pendingWeights: ((bytes: Uint8Array) => void) | null = null;
/** Set by the worker once it knows the model: an upload above it is refused unread. */
let maxUploadBytes = Number.POSITIVE_INFINITY;

function post(msg: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(msg, transfer);
}

type ReadyMessage = Extract<FromWorker, { type: 'ready' }>;

/** A worker that has been asked to start `choice`; it answers 'ready' or 'initError' first. */
function spawnWorker(choice: BackendChoice, onFirst: (msg: FromWorker) => void): Worker {
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  let started = false;
  w.onmessage = (e: MessageEvent<FromWorker>) => {
    if (!started) {
      started = e.data.type === 'ready' || e.data.type === 'initError';
      if (started) onFirst(e.data);
      return;
    }
    if (w === worker) onMessage(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    if (!started) {
      started = true;
      onFirst({ type: 'initError', message: `worker failed: ${e.message}` });
    } else if (w === worker) showError(`worker failed: ${e.message}`);
  };
  w.postMessage({
    type: 'init',
    backend: choice,
    dataUrl: new URL(mnistUrl, location.href).href,
    wasmPaths,
  } satisfies ToWorker);
  return w;
}

function startWorker(choice: BackendChoice): void {
  setState('loading');
  el.backendStatus.textContent =
    choice === 'auto' ? 'Measuring each backend on one batch…' : `Starting ${choice}…`;
  el.backendTried.replaceChildren();
  worker = spawnWorker(choice, (msg) => {
    if (msg.type === 'ready') {
      onReady(msg);
      requestGrid();
      requestPrediction();
    } else onMessage(msg);
  });
}

function onReady(msg: ReadyMessage): void {
  demo.backend = msg.selection.name;
  demo.tried = msg.selection.tried;
  demo.probes = msg.probes;
  maxUploadBytes = msg.maxUploadBytes;
  trainCount = msg.trainCount;
  showBackend(msg.selection.name, msg.selection.tried, msg.probes);
  showThreads(msg);
  sizeDefaultRun(msg.selection.name, msg.probes);
  demo.ready = true;
  setState('idle');
}

/** Says how many threads wasm computes on, and why not more. */
function showThreads(msg: ReadyMessage): void {
  demo.isolated = msg.isolated;
  demo.wasmThreads = msg.wasmThreads ?? null;
  const n = msg.wasmThreads;
  el.backendThreads.textContent =
    n === undefined
      ? ''
      : msg.isolated
        ? `wasm computes on ${plural(n, 'thread')} (the page is cross-origin isolated).`
        : `wasm computes on ${n} thread: the page is not cross-origin isolated (its server sends no COOP/COEP headers), so threads are off.`;
}

/**
 * Sizes the default run from Automatic's measurement of the picked backend so that it takes
 * about two minutes here, and says so; fields the address or the user set are kept.
 */
function sizeDefaultRun(backend: string, probes: BackendProbe[]): void {
  const probe = probes.find((p) => p.name === backend);
  if (!probe || (chosenByUser.has('epochs') && chosenByUser.has('trainSize'))) return;
  const field = (name: string) => el.form.elements.namedItem(name) as HTMLInputElement;
  const size = sizeRun(probe.imagesPerSec, {
    maxDigits: Number(field('trainSize').max),
    valSize: Number(field('valSize').value),
    seconds: TARGET_SECONDS,
    epochs: chosenByUser.has('epochs') ? Number(field('epochs').value) : undefined,
  });
  if (!chosenByUser.has('epochs')) field('epochs').value = String(size.epochs);
  if (!chosenByUser.has('trainSize')) field('trainSize').value = String(size.trainSize);
  demo.sizing = size;
  const epochs = plural(size.epochs, 'epoch');
  el.sizing.textContent = `Sized for about ${Math.round(TARGET_SECONDS / 60)} minutes at the ${probe.imagesPerSec.toFixed(0)} img/s ${backend} measured: ${epochs} of ${size.trainSize.toLocaleString('en')} digits. Change them as you like.`;
}

function onMessage(msg: FromWorker): void {
  switch (msg.type) {
    case 'ready':
      break;
    case 'initError':
      showBackend(null, msg.selection?.tried ?? []);
      el.backendStatus.textContent = `No backend could start: ${msg.message}`;
      showError(msg.message);
      break;
    case 'state':
      setState(msg.state);
      if (msg.state === 'idle' && clock) {
        clock = null;
        showProgressText(demo.steps > 0 ? `step ${demo.steps}/${totalSteps}` : '');
      }
      if (msg.state === 'paused' && clock) {
        clock.restart();
        showProgressText(`paused at step ${demo.steps}/${totalSteps}`);
      }
      if (msg.state === 'idle') whenIdle?.();
      if (msg.message) el.trainMessage.textContent = msg.message;
      if (msg.state === 'idle') {
        requestGrid();
        requestPrediction();
      }
      break;
    case 'batch': {
      batchesPerEpoch = msg.batchesPerEpoch;
      totalSteps = msg.totalSteps;
      demo.steps = msg.step;
      demo.losses.push(msg.loss);
      demo.accuracies.push(msg.accuracy);
      demo.lrs.push(msg.lr);
      el.step.textContent = String(msg.step);
      el.epoch.textContent = `${msg.epoch + 1} / ${totalEpochs}`;
      el.loss.textContent = msg.loss.toFixed(4);
      el.speed.textContent = msg.imagesPerSec.toFixed(1);
      el.lr.textContent = msg.lr.toPrecision(3);
      el.progress.value = msg.step / msg.totalSteps;
      if (clock) showProgressText(clock.update(msg.step, msg.totalSteps, performance.now()));
      charts.addBatch(msg.step, msg.loss, msg.accuracy);
      demo.chartSeries = charts.series();
      break;
    }
    case 'restored':
      showRestored(msg);
      untrained.hide();
      break;
    case 'savedRun':
      demo.savedRunChecked = true;
      offerSavedRun(msg.run, msg.problem);
      break;
    case 'saved':
      demo.savedStep = msg.problem ? demo.savedStep : msg.step;
      el.savedNote.textContent =
        msg.problem ?? `Saved at step ${msg.step}: a reload offers to continue from there.`;
      break;
    case 'diverged':
      demo.warnings.push(msg.message);
      el.warning.textContent = msg.message;
      el.warning.hidden = false;
      break;
    case 'epoch': {
      const { type: _, ...report } = msg;
      demo.epochs.push(report);
      el.acc.textContent = `${(msg.valAccuracy * 100).toFixed(1)} %`;
      charts.addEpoch(demo.steps, msg);
      demo.chartSeries = charts.series();
      untrained.hide();
      requestGrid();
      break;
    }
    case 'prediction':
      if (msg.id === predictionInFlight) predictionInFlight = null;
      // An answer overtaken by newer ink is dropped, and the newest drawing is asked for.
      if (msg.id !== predictionId) sendPrediction();
      else showPrediction(msg.probs);
      break;
    case 'grid':
      renderDigitGrid(el.grid, msg.pixels, msg.labels, msg.predictions);
      testDigits = msg.pixels;
      demo.gridPredictions = Array.from(msg.predictions);
      demo.gridLabels = Array.from(msg.labels);
      demo.gridUpdates++;
      break;
    case 'weights':
      pendingWeights?.(msg.bytes);
      pendingWeights = null;
      break;
    case 'weightsLoaded':
      showWeightsMessage(msg.message, msg.ok);
      demo.weightsMessage = msg.message;
      demo.weightsLoads++;
      if (msg.ok && uploading) untrained.hide();
      uploading = false;
      if (msg.ok) {
        requestGrid();
        requestPrediction();
      }
      break;
    case 'error':
      showError(msg.message);
      break;
  }
}

function showBackend(
  name: string | null,
  tried: { name: string; ok: boolean; reason: string }[],
  probes: BackendProbe[] = [],
): void {
  const picked = tried.find((t) => t.ok);
  const measured = probes
    .map((p) => `${p.name}${p.software ? ' (software)' : ''} ${p.imagesPerSec.toFixed(0)} img/s`)
    .join('; ');
  el.backendStatus.textContent = !name
    ? 'No backend available'
    : probes.length > 0
      ? `Training on ${name}, picked by measurement: ${measured}`
      : `Training on ${name}${picked ? ` (${picked.reason})` : ''}`;
  const wasMeasured = new Set<string>(probes.map((p) => p.name));
  el.backendTried.replaceChildren(
    ...tried.map((t) => {
      const li = document.createElement('li');
      const slower = !t.ok && wasMeasured.has(t.name);
      li.className = t.ok ? 'ok' : slower ? 'untried' : 'skip';
      li.dataset.backend = t.name;
      const verdict = t.ok ? 'picked' : slower ? 'not picked' : 'skipped';
      li.textContent = `${t.name}: ${verdict}: ${t.reason}`;
      return li;
    }),
  );
}

function setState(next: TrainState): void {
  state = next;
  // While switching, the page shows 'switching' and keeps every control that could act on
  // the weights disabled, whatever the old worker reports as it stops.
  const s: TrainState | 'switching' = switching ? 'switching' : next;
  demo.state = s;
  el.state.textContent = s;
  const ready = s !== 'loading' && s !== 'error' && s !== 'switching';
  el.start.disabled = s !== 'idle';
  el.pause.disabled = s !== 'training' && s !== 'paused';
  el.pause.textContent = s === 'paused' ? 'Resume' : 'Pause';
  el.stop.disabled = s !== 'training' && s !== 'paused';
  el.download.disabled = !ready;
  el.upload.disabled = s !== 'idle';
  el.gridRefresh.disabled = !ready;
  el.backendApply.disabled = s === 'loading' || s === 'switching';
  el.backendSelect.disabled = s === 'switching';
}

function showProgressText(text: string): void {
  demo.progressText = text;
  el.progressText.textContent = text;
}

/** Offers the run a reload interrupted (or says why a saved one could not be used). */
function offerSavedRun(run: SavedRunSummary | null, problem?: string): void {
  demo.savedRun = run;
  el.savedRun.hidden = !run;
  if (problem) el.savedNote.textContent = problem;
  if (!run) return;
  const c = run.config;
  const elsewhere =
    run.backend === demo.backend
      ? ''
      : ` It trained on ${run.backend}; continuing on ${demo.backend} gives close, not identical, weights.`;
  el.savedRunText.textContent = `A run was interrupted at step ${run.step} of ${run.totalSteps} (${plural(c.epochs, 'epoch')} of ${c.trainSize.toLocaleString('en')} digits, ${c.optimizer}, lr ${c.lr}). Continue it where it was saved?${elsewhere}`;
}

/** Sets the controls to a run's configuration, as a continued run trains with it. */
function showConfig(config: TrainConfig): void {
  for (const [name, value] of Object.entries(config)) {
    const field = el.form.elements.namedItem(name) as HTMLInputElement | null;
    if (field) field.value = String(value);
  }
}

/** Draws a continued run's charts and numbers as they were when it was saved. */
function showRestored(h: RunHistory): void {
  charts.reset();
  demo.losses = [...h.losses];
  demo.accuracies = [...h.accuracies];
  demo.lrs = [...h.lrs];
  demo.epochs = [...h.epochs];
  demo.steps = h.losses.length;
  h.losses.forEach((loss, i) => {
    charts.addBatch(i + 1, loss, h.accuracies[i]);
  });
  for (const e of h.epochs) charts.addEpoch((e.epoch + 1) * batchesPerEpoch, e);
  demo.chartSeries = charts.series();
  el.step.textContent = String(demo.steps);
}

function showError(message: string): void {
  demo.errors.push(message);
  showWeightsMessage(message, false);
  el.state.textContent = `error: ${message}`;
}

function showWeightsMessage(message: string, ok: boolean): void {
  el.weightsMessage.textContent = message;
  el.weightsMessage.className = ok ? 'ok' : 'error';
}

function readConfig(): TrainConfig {
  const f = new FormData(el.form);
  const num = (k: string) => Number(f.get(k));
  return {
    epochs: num('epochs'),
    batchSize: num('batchSize'),
    lr: num('lr'),
    optimizer: f.get('optimizer') as OptimizerName,
    scheduler: f.get('scheduler') as SchedulerName,
    trainSize: num('trainSize'),
    valSize: num('valSize'),
    seed: Number(params.get('seed') ?? 0),
  };
}

function requestGrid(): void {
  if (state === 'loading' || state === 'error' || switching) return;
  post({ type: 'grid', count: 40 });
}

const pad = createDrawPad(el.drawPad, () => requestPrediction());

/**
 * Asks for a prediction of the pad as it is now. At most one request is in the worker at a
 * time: while one is, a newer drawing only marks itself wanted, and the answer's arrival
 * sends the pad as it is then — so a burst of pointer moves costs two predictions, not one
 * per move, and a download or grid request never queues behind dozens of them.
 */
function requestPrediction(): void {
  if (state === 'loading' || state === 'error' || switching) return;
  predictionId++;
  sendPrediction();
}

function sendPrediction(): void {
  if (predictionInFlight !== null || state === 'loading' || state === 'error' || switching) return;
  const pixels = pad.pixels();
  if (!pixels) {
    showPrediction(null);
    return;
  }
  predictionInFlight = predictionId;
  el.predictionStatus.textContent = 'predicting…';
  demo.predictRequests++;
  post({ type: 'predict', id: predictionId, pixels }, [pixels.buffer]);
}

function showPrediction(probs: Float32Array | null): void {
  probChart.show(probs);
  el.predictionStatus.textContent = '';
  if (!probs) {
    el.prediction.textContent = '–';
    demo.prediction = null;
    return;
  }
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
  el.prediction.textContent = String(best);
  demo.prediction = { label: best, probs: Array.from(probs) };
  demo.predictions++;
  // Screen readers hear the answer for a finished stroke only, not one per pointer move.
  if (!pad.drawing()) {
    el.predictionAnnounce.textContent = `Prediction: ${best}`;
    demo.announced.push(best);
  }
}

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (switching) {
    el.trainMessage.textContent =
      'Not started: the backend is switching. Start again once it is ready.';
    demo.refusedStarts++;
    return;
  }
  if (state !== 'idle' || !el.form.reportValidity()) return;
  const config = readConfig();
  beginRun(config);
  post({ type: 'start', config, saveEvery: SAVE_EVERY });
});

/** Clears the last run's figures for a new or continued one (a new run replaces a saved one). */
function beginRun(config: TrainConfig): void {
  totalEpochs = config.epochs;
  batchesPerEpoch = Math.ceil(Math.min(config.trainSize, trainCount) / config.batchSize);
  clearStats();
  el.trainMessage.textContent = '';
  el.warning.hidden = true;
  el.warning.textContent = '';
  el.savedNote.textContent = '';
  el.savedRun.hidden = true;
  demo.savedRun = null;
  demo.savedStep = 0;
  clock = new ProgressClock(demo.backend === 'webgl' || demo.backend === 'webgpu');
  showProgressText(clock.startText());
}

el.savedContinue.addEventListener('click', () => {
  const run = demo.savedRun;
  if (!run || state !== 'idle' || switching) return;
  showConfig(run.config);
  beginRun(run.config);
  post({ type: 'continueSaved', saveEvery: SAVE_EVERY });
});
el.savedDiscard.addEventListener('click', () => {
  el.savedRun.hidden = true;
  demo.savedRun = null;
  post({ type: 'discardSaved' });
});
el.pause.addEventListener('click', () => post({ type: state === 'paused' ? 'resume' : 'pause' }));
el.stop.addEventListener('click', () => post({ type: 'stop' }));
el.clear.addEventListener('click', () => pad.clear());

/** The grid's test digits (28×28 each), which the keyboard puts on the pad in turn. */
let testDigits: Uint8Array | null = null;
let nextTestDigit = 0;
function putTestDigit(): void {
  if (!testDigits) return;
  const size = 28 * 28;
  const i = nextTestDigit++ % (testDigits.length / size);
  pad.showDigit(testDigits.subarray(i * size, (i + 1) * size));
}
el.testDigit.addEventListener('click', putTestDigit);
el.drawPad.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') putTestDigit();
  else if (e.key === 'Delete' || e.key === 'Backspace' || e.key === 'Escape') pad.clear();
  else return;
  e.preventDefault();
});
el.gridRefresh.addEventListener('click', requestGrid);

el.backendApply.addEventListener('click', () => {
  const choice = el.backendSelect.value as BackendChoice;
  if (!demo.ready) {
    // Nothing to keep: the first start failed, so this is a fresh start.
    worker.terminate();
    el.backendMessage.textContent = '';
    startWorker(choice);
    return;
  }
  void switchBackend(choice);
});

/**
 * Moves the model to another backend without risking it: the old worker keeps running until
 * the new one is ready and holds the weights, so a backend that fails to start leaves the
 * page where it was. The weights travel as the same safetensors bytes a user downloads.
 */
async function switchBackend(choice: BackendChoice): Promise<void> {
  const previous = demo.backend;
  switching = true;
  setState(state);
  el.backendMessage.textContent = '';
  el.backendStatus.textContent = `Switching to ${choice === 'auto' ? 'the fastest backend' : choice}…`;
  if (state === 'training' || state === 'paused' || state === 'stopping') {
    const idle = new Promise<void>((resolve) => {
      whenIdle = resolve;
    });
    if (state !== 'stopping') post({ type: 'stop' });
    await idle;
    whenIdle = null;
    el.trainMessage.textContent = `${el.trainMessage.textContent} Training stopped to switch backends.`;
  }
  const weights = await exportWeights();
  const msg = await new Promise<FromWorker>((resolve) => {
    const candidate = spawnWorker(choice, (first) => {
      if (first.type === 'ready') {
        worker.terminate();
        worker = candidate;
        // A prediction the old worker was computing will never be answered.
        predictionInFlight = null;
      } else candidate.terminate();
      resolve(first);
    });
  });
  switching = false;
  if (msg.type === 'ready') {
    clearStats();
    onReady(msg);
    post({ type: 'importWeights', bytes: weights, fileName: 'previous backend' }, [weights.buffer]);
    requestPrediction();
    return;
  }
  const why = msg.type === 'initError' ? msg.message : 'it did not start';
  el.backendMessage.textContent = `Could not switch to ${choice}: ${why}. Still on ${previous} with the same weights.`;
  el.backendMessage.className = 'error';
  demo.switchFailures.push(el.backendMessage.textContent);
  showBackend(demo.backend, demo.tried, demo.probes);
  setState(state);
}

/** Empties the numbers and charts of the last run, which belong to the backend left behind. */
function clearStats(): void {
  for (const dd of [el.epoch, el.loss, el.speed, el.lr, el.acc]) dd.textContent = '–';
  el.step.textContent = '0';
  el.progress.value = 0;
  charts.reset();
  demo.steps = 0;
  demo.losses = [];
  demo.accuracies = [];
  demo.lrs = [];
  demo.epochs = [];
  demo.chartSeries = charts.series();
  showProgressText('');
}

function exportWeights(): Promise<Uint8Array> {
  return new Promise((resolve) => {
    pendingWeights = resolve;
    post({ type: 'exportWeights' });
  });
}

el.download.addEventListener('click', async () => {
  const bytes = await exportWeights();
  const url = URL.createObjectURL(
    new Blob([bytes as BlobPart], { type: 'application/octet-stream' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = 'vanresnet-mnist.safetensors';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  showWeightsMessage(`Downloaded ${(bytes.byteLength / 1024).toFixed(0)} KiB of weights.`, true);
});

el.upload.addEventListener('change', async () => {
  const file = el.upload.files?.[0];
  if (!file) return;
  el.upload.value = '';
  if (file.size > maxUploadBytes) {
    const message = `${file.name} is ${formatBytes(file.size)}, more than weights for this page can be (${formatBytes(maxUploadBytes)}), so it was not read. ${UNCHANGED}`;
    onMessage({ type: 'weightsLoaded', ok: false, message });
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  showWeightsMessage(`Loading ${file.name}…`, true);
  uploading = true;
  post({ type: 'importWeights', bytes, fileName: file.name }, [bytes.buffer]);
});

el.ping.addEventListener('click', () => {
  demo.pings++;
  el.pingOut.textContent = `pong ${demo.pings}`;
});

startWorker(el.backendSelect.value as BackendChoice);
