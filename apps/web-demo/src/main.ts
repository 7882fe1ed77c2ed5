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
import type { BackendChoice, FromWorker, ToWorker, TrainConfig, TrainState } from './protocol.js';
import { formatBytes, UNCHANGED } from './refusals.js';
import { type DemoState, exposeDemoState } from './test-hooks.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const el = {
  backendStatus: $('backend-status'),
  backendTried: $<HTMLUListElement>('backend-tried'),
  backendSelect: $<HTMLSelectElement>('backend-select'),
  backendApply: $<HTMLButtonElement>('backend-apply'),
  form: $<HTMLFormElement>('train-form'),
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
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
  clear: $<HTMLButtonElement>('clear'),
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

// URL parameters preset the controls (e.g. ?backend=wasm&batchSize=8&trainSize=256), so a
// configuration can be shared as a link.
const params = new URLSearchParams(location.search);
for (const input of Array.from(el.form.elements) as HTMLInputElement[]) {
  const v = input.name ? params.get(input.name) : null;
  if (v !== null) input.value = v;
}
const initialBackend = params.get('backend');
if (initialBackend && [...el.backendSelect.options].some((o) => o.value === initialBackend)) {
  el.backendSelect.value = initialBackend;
}

let worker: Worker;
let state: TrainState = 'loading';
let batchesPerEpoch = 1;
let totalEpochs = 1;
let predictionId = 0;
let pendingWeights: ((bytes: Uint8Array) => void) | null = null;
/** Set by the worker once it knows the model: an upload above it is refused unread. */
let maxUploadBytes = Number.POSITIVE_INFINITY;

function post(msg: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(msg, transfer);
}

function startWorker(choice: BackendChoice, weights?: Uint8Array): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data, weights);
  worker.onerror = (e) => {
    showError(`worker failed: ${e.message}`);
  };
  setState('loading');
  el.backendStatus.textContent = 'Choosing a backend…';
  el.backendTried.replaceChildren();
  post({
    type: 'init',
    backend: choice,
    dataUrl: new URL(mnistUrl, location.href).href,
    wasmPaths,
  });
}

function onMessage(msg: FromWorker, carriedWeights?: Uint8Array): void {
  switch (msg.type) {
    case 'ready': {
      demo.backend = msg.selection.name;
      demo.tried = msg.selection.tried;
      maxUploadBytes = msg.maxUploadBytes;
      showBackend(msg.selection.name, msg.selection.tried);
      demo.ready = true;
      setState('idle');
      if (carriedWeights)
        post({ type: 'importWeights', bytes: carriedWeights, fileName: 'previous backend' });
      else requestGrid();
      requestPrediction();
      break;
    }
    case 'initError':
      showBackend(null, msg.selection?.tried ?? []);
      el.backendStatus.textContent = `No backend could start: ${msg.message}`;
      showError(msg.message);
      break;
    case 'state':
      setState(msg.state);
      if (msg.message) el.trainMessage.textContent = msg.message;
      if (msg.state === 'idle') {
        requestGrid();
        requestPrediction();
      }
      break;
    case 'batch': {
      batchesPerEpoch = msg.batchesPerEpoch;
      demo.steps = msg.step;
      demo.losses.push(msg.loss);
      demo.lrs.push(msg.lr);
      el.step.textContent = String(msg.step);
      el.epoch.textContent = `${msg.epoch + 1} / ${totalEpochs}`;
      el.loss.textContent = msg.loss.toFixed(4);
      el.speed.textContent = msg.imagesPerSec.toFixed(1);
      el.lr.textContent = msg.lr.toPrecision(3);
      el.progress.value =
        (msg.epoch * batchesPerEpoch + msg.batch + 1) / (totalEpochs * batchesPerEpoch);
      charts.addTrainLoss(msg.step, msg.loss);
      break;
    }
    case 'epoch':
      demo.epochs.push({ ...msg });
      el.acc.textContent = `${(msg.valAccuracy * 100).toFixed(1)} %`;
      charts.addEpoch(demo.steps, msg);
      requestGrid();
      break;
    case 'prediction':
      if (msg.id !== predictionId) break;
      showPrediction(msg.probs);
      break;
    case 'grid':
      renderDigitGrid(el.grid, msg.pixels, msg.labels, msg.predictions);
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
): void {
  const picked = tried.find((t) => t.ok);
  el.backendStatus.textContent = name
    ? `Training on ${name}${picked ? ` (${picked.reason})` : ''}`
    : 'No backend available';
  el.backendTried.replaceChildren(
    ...tried.map((t) => {
      const li = document.createElement('li');
      li.className = t.ok ? 'ok' : 'skip';
      li.dataset.backend = t.name;
      li.textContent = `${t.name}: ${t.ok ? 'picked' : 'skipped'}: ${t.reason}`;
      return li;
    }),
  );
}

function setState(s: TrainState): void {
  state = s;
  demo.state = s;
  el.state.textContent = s;
  const ready = s !== 'loading' && s !== 'error';
  el.start.disabled = s !== 'idle';
  el.pause.disabled = s !== 'training' && s !== 'paused';
  el.pause.textContent = s === 'paused' ? 'Resume' : 'Pause';
  el.stop.disabled = s !== 'training' && s !== 'paused';
  el.download.disabled = !ready;
  el.upload.disabled = s !== 'idle';
  el.gridRefresh.disabled = !ready;
  el.backendApply.disabled = s === 'loading';
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
  if (state === 'loading' || state === 'error') return;
  post({ type: 'grid', count: 40 });
}

const pad = createDrawPad(el.drawPad, () => requestPrediction());

function requestPrediction(): void {
  if (state === 'loading' || state === 'error') return;
  const pixels = pad.pixels();
  predictionId++;
  if (!pixels) {
    showPrediction(null);
    return;
  }
  post({ type: 'predict', id: predictionId, pixels }, [pixels.buffer]);
}

function showPrediction(probs: Float32Array | null): void {
  probChart.show(probs);
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
}

el.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (state !== 'idle' || !el.form.reportValidity()) return;
  const config = readConfig();
  totalEpochs = config.epochs;
  demo.steps = 0;
  demo.losses = [];
  demo.lrs = [];
  demo.epochs = [];
  charts.reset();
  el.progress.value = 0;
  el.trainMessage.textContent = '';
  post({ type: 'start', config });
});
el.pause.addEventListener('click', () => post({ type: state === 'paused' ? 'resume' : 'pause' }));
el.stop.addEventListener('click', () => post({ type: 'stop' }));
el.clear.addEventListener('click', () => pad.clear());
el.gridRefresh.addEventListener('click', requestGrid);

el.backendApply.addEventListener('click', async () => {
  const choice = el.backendSelect.value as BackendChoice;
  // The model moves to the new backend through the same safetensors bytes a user downloads.
  const weights = demo.ready ? await exportWeights() : undefined;
  worker.terminate();
  demo.ready = false;
  startWorker(choice, weights);
});

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
  post({ type: 'importWeights', bytes, fileName: file.name }, [bytes.buffer]);
});

el.ping.addEventListener('click', () => {
  demo.pings++;
  el.pingOut.textContent = `pong ${demo.pings}`;
});

startWorker(el.backendSelect.value as BackendChoice);
