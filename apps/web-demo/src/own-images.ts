/**
 * The page's "Your images" mode: pick or drop a folder of class subfolders (or capture
 * webcam frames into classes), fine-tune a small ResNet on it in a worker, classify new
 * pictures, and download the weights as safetensors or ONNX. Nothing here touches tfjs or
 * decodes a picture: the worker (`own-images-worker.ts`) does both.
 */
import './own-images.css';
import type { BackendName } from '@resnet-ts/core';
import markup from './own-images.html?raw';
import type {
  FromOwnWorker,
  OwnModelName,
  OwnPrediction,
  OwnState,
  OwnTrainConfig,
  PickedFile,
  ToOwnWorker,
} from './own-images-protocol.js';
import { plural } from './text.js';

/** What the mode shows, as plain data, for the browser tests (`window.__ownImages`). */
export interface OwnImagesState {
  ready: boolean;
  backend: BackendName | null;
  state: OwnState;
  classes: string[];
  counts: number[];
  skipped: { path: string; reason: string }[];
  folderError: string | null;
  epochs: { epoch: number; trainLoss: number; trainAccuracy: number; valAccuracy: number | null }[];
  trained: boolean;
  trainMessage: string;
  pretrainedMessage: string;
  predictions: OwnPrediction[];
  predictionBatches: number;
  predictSkipped: { path: string; reason: string }[];
  captured: Record<string, number>;
  downloads: { format: string; fileName: string; bytes: number }[];
  errors: string[];
}

declare global {
  interface Window {
    __ownImages: OwnImagesState;
  }
}

/** What the mode needs from the page. */
export interface OwnImagesOptions {
  /** The backend the page trains on, which this mode's worker starts on too. */
  backend: () => BackendName;
  wasmPaths: Record<string, string>;
}

/** The mounted mode; `activate()` starts its worker the first time the mode is shown. */
export interface OwnImages {
  activate(): void;
}

/** Largest pretrained file read: ResNet-18 in float64 is ~90 MB; anything far above is not weights for these models. */
const MAX_PRETRAINED_BYTES = 256 * 1024 * 1024;

/** Builds the mode's panels in `root` and wires them to a worker started on `activate()`. */
export function mountOwnImages(root: HTMLElement, options: OwnImagesOptions): OwnImages {
  root.innerHTML = markup;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
  const el = {
    folder: $<HTMLInputElement>('oi-folder'),
    drop: $('oi-drop'),
    camera: $<HTMLButtonElement>('oi-camera'),
    video: $<HTMLVideoElement>('oi-video'),
    className: $<HTMLInputElement>('oi-class-name'),
    capture: $<HTMLButtonElement>('oi-capture'),
    captured: $('oi-captured'),
    useCaptures: $<HTMLButtonElement>('oi-use-captures'),
    folderMessage: $('oi-folder-message'),
    classes: $<HTMLUListElement>('oi-classes'),
    skipped: $<HTMLUListElement>('oi-skipped'),
    form: $<HTMLFormElement>('oi-form'),
    pretrained: $<HTMLInputElement>('oi-pretrained'),
    forget: $<HTMLButtonElement>('oi-forget'),
    freeze: $<HTMLInputElement>('oi-freeze'),
    pretrainedMessage: $('oi-pretrained-message'),
    train: $<HTMLButtonElement>('oi-train'),
    stop: $<HTMLButtonElement>('oi-stop'),
    progress: $<HTMLProgressElement>('oi-progress'),
    trainMessage: $('oi-train-message'),
    state: $('oi-state'),
    epoch: $('oi-epoch'),
    loss: $('oi-loss'),
    trainAcc: $('oi-train-acc'),
    valAcc: $('oi-val-acc'),
    predict: $<HTMLInputElement>('oi-predict'),
    predictDrop: $('oi-predict-drop'),
    predictMessage: $('oi-predict-message'),
    results: $<HTMLUListElement>('oi-results'),
    download: $<HTMLButtonElement>('oi-download'),
    onnx: $<HTMLButtonElement>('oi-onnx'),
    saveMessage: $('oi-save-message'),
  };

  const shown: OwnImagesState = {
    ready: false,
    backend: null,
    state: 'loading',
    classes: [],
    counts: [],
    skipped: [],
    folderError: null,
    epochs: [],
    trained: false,
    trainMessage: '',
    pretrainedMessage: '',
    predictions: [],
    predictionBatches: 0,
    predictSkipped: [],
    captured: {},
    downloads: [],
    errors: [],
  };
  window.__ownImages = shown;

  let worker: Worker | null = null;
  let hasFolder = false;
  /** The pretrained file training starts from, as the worker last said; null: random weights. */
  let startsFrom: string | null = null;
  let totalEpochs = 1;
  let predictId = 0;
  /** Object URLs of the thumbnails shown, revoked when replaced. */
  let thumbnails: string[] = [];
  const captures: PickedFile[] = [];

  const post = (msg: ToOwnWorker, transfer: Transferable[] = []) =>
    worker?.postMessage(msg, transfer);

  function activate(): void {
    if (worker) return;
    worker = new Worker(new URL('./own-images-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<FromOwnWorker>) => onMessage(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      showError(`the worker failed: ${e.message}`);
    };
    post({ type: 'init', backend: options.backend(), wasmPaths: options.wasmPaths });
  }

  function onMessage(msg: FromOwnWorker): void {
    switch (msg.type) {
      case 'ready':
        shown.ready = true;
        shown.backend = msg.backend;
        break;
      case 'initError':
        showError(`No backend could start: ${msg.message}`);
        break;
      case 'state':
        setState(msg.state);
        if (msg.message) setText(el.trainMessage, msg.message, 'trainMessage');
        break;
      case 'folder':
        showFolder(msg.classes, msg.counts, msg.skipped);
        break;
      case 'folderError':
        hasFolder = false;
        shown.folderError = msg.message;
        shown.classes = [];
        el.classes.replaceChildren();
        el.skipped.replaceChildren();
        showMessage(el.folderMessage, msg.message, false);
        setState(shown.state);
        break;
      case 'pretrained':
        shown.pretrainedMessage = msg.message;
        showMessage(el.pretrainedMessage, msg.message, msg.ok);
        startsFrom = msg.startsFrom;
        el.forget.hidden = startsFrom === null;
        setState(shown.state);
        break;
      case 'batch':
        el.progress.value = msg.step / msg.steps;
        el.epoch.textContent = `${msg.epoch + 1} / ${totalEpochs}`;
        el.loss.textContent = msg.loss.toFixed(4);
        break;
      case 'epoch':
        shown.epochs.push({
          epoch: msg.epoch,
          trainLoss: msg.trainLoss,
          trainAccuracy: msg.trainAccuracy,
          valAccuracy: msg.valAccuracy,
        });
        el.trainAcc.textContent = percent(msg.trainAccuracy);
        el.valAcc.textContent =
          msg.valAccuracy === null ? 'none held out' : percent(msg.valAccuracy);
        break;
      case 'trained':
        shown.trained = true;
        el.predictMessage.textContent = `Classifies into ${msg.classes.join(', ')}.`;
        setState(shown.state);
        break;
      case 'predictions':
        if (msg.id === predictId) showPredictions(msg.results, msg.skipped);
        break;
      case 'file':
        saveFile(msg.bytes, msg.fileName);
        shown.downloads.push({
          format: msg.format,
          fileName: msg.fileName,
          bytes: msg.bytes.length,
        });
        showMessage(
          el.saveMessage,
          `Downloaded ${msg.fileName} (${Math.ceil(msg.bytes.length / 1024)} KB).`,
          true,
        );
        break;
      case 'error':
        showError(msg.message);
        break;
    }
  }

  function setState(s: OwnState): void {
    shown.state = s;
    el.state.textContent = s;
    const idle = s === 'idle';
    el.folder.disabled = !idle;
    el.useCaptures.disabled = !idle || captures.length === 0;
    el.train.disabled = !idle || !hasFolder;
    el.stop.disabled = s !== 'training';
    el.pretrained.disabled = !idle;
    // Freezing is for a pretrained backbone; a random one would never learn.
    el.freeze.disabled = !idle || startsFrom === null;
    el.predict.disabled = !idle || !shown.trained;
    el.download.disabled = !idle || !shown.trained;
    el.onnx.disabled = !idle || !shown.trained;
  }

  function setText(node: HTMLElement, text: string, key: 'trainMessage'): void {
    node.textContent = text;
    shown[key] = text;
  }

  function showError(message: string): void {
    shown.errors.push(message);
    showMessage(el.trainMessage, message, false);
  }

  function showFolder(
    classes: string[],
    counts: number[],
    skipped: { path: string; reason: string }[],
  ): void {
    hasFolder = true;
    shown.folderError = null;
    shown.classes = classes;
    shown.counts = counts;
    shown.skipped = skipped;
    const total = counts.reduce((a, b) => a + b, 0);
    showMessage(
      el.folderMessage,
      `${plural(total, 'picture')} in ${plural(classes.length, 'class', 'classes')}${skipped.length > 0 ? `; ${plural(skipped.length, 'file')} skipped` : ''}.`,
      true,
    );
    el.classes.replaceChildren(
      ...classes.map((c, i) => item(`${c}: ${plural(counts[i], 'picture')}`)),
    );
    el.skipped.replaceChildren(
      ...skipped.map((s) => item(`Skipped ${s.path}: ${s.reason}`, 'error')),
    );
    setState(shown.state);
  }

  function showPredictions(
    results: OwnPrediction[],
    skipped: { path: string; reason: string }[],
  ): void {
    shown.predictions = results;
    shown.predictSkipped = skipped;
    shown.predictionBatches++;
    for (const url of thumbnails) URL.revokeObjectURL(url);
    thumbnails = results.map((r) => URL.createObjectURL(pendingPredict[r.index]));
    el.results.replaceChildren(
      ...results.map((r, i) => predictionItem(r, thumbnails[i])),
      ...skipped.map((s) => item(s.reason, 'error')),
    );
    const skippedText =
      skipped.length > 0 ? `; ${plural(skipped.length, 'file')} could not be read` : '';
    el.predictMessage.textContent =
      results.length === 1
        ? `${results[0].name}: ${results[0].className} (${percent(results[0].confidence)} confident)${skippedText}.`
        : `Classified ${plural(results.length, 'picture')}${skippedText}.`;
  }

  let pendingPredict: File[] = [];
  function predict(files: File[]): void {
    if (files.length === 0) return;
    if (!shown.trained) {
      el.predictMessage.textContent = 'Train a model first.';
      return;
    }
    pendingPredict = files;
    predictId++;
    el.predictMessage.textContent = `Classifying ${plural(files.length, 'picture')}…`;
    post({
      type: 'predict',
      id: predictId,
      files: files.map((file) => ({ file, path: file.name })),
    });
  }

  function openFolder(files: PickedFile[]): void {
    if (files.length === 0) return;
    activate();
    shown.folderError = null;
    showMessage(el.folderMessage, `Reading ${plural(files.length, 'file')}…`, true);
    post({ type: 'folder', files });
  }

  function readConfig(): OwnTrainConfig {
    const f = new FormData(el.form);
    const num = (k: string) => Number(f.get(k));
    return {
      model: f.get('model') as OwnModelName,
      imageSize: num('imageSize'),
      epochs: num('epochs'),
      batchSize: num('batchSize'),
      lr: num('lr'),
      valFraction: num('valPercent') / 100,
      freezeBackbone: el.freeze.checked && startsFrom !== null,
      seed: 0,
    };
  }

  el.folder.addEventListener('change', () => {
    const files = Array.from(el.folder.files ?? []);
    el.folder.value = '';
    openFolder(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
  });
  dropZone(el.drop, async (dt) => openFolder(await droppedFolder(dt)));
  dropZone(el.predictDrop, async (dt) => predict(Array.from(dt.files)));
  el.predict.addEventListener('change', () => {
    const files = Array.from(el.predict.files ?? []);
    el.predict.value = '';
    predict(files);
  });

  el.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (shown.state !== 'idle' || !hasFolder || !el.form.reportValidity()) return;
    const config = readConfig();
    totalEpochs = config.epochs;
    shown.epochs = [];
    shown.trained = false;
    el.progress.value = 0;
    for (const dd of [el.epoch, el.loss, el.trainAcc, el.valAcc]) dd.textContent = '–';
    post({ type: 'train', config });
  });
  el.stop.addEventListener('click', () => post({ type: 'stop' }));

  el.pretrained.addEventListener('change', async () => {
    const file = el.pretrained.files?.[0];
    el.pretrained.value = '';
    if (!file) return;
    if (file.size > MAX_PRETRAINED_BYTES) {
      showMessage(
        el.pretrainedMessage,
        `${file.name} is ${(file.size / 1024 / 1024).toFixed(0)} MB, more than weights of these models can be, so it was not read.`,
        false,
      );
      return;
    }
    activate();
    const bytes = new Uint8Array(await file.arrayBuffer());
    post({ type: 'pretrained', bytes, fileName: file.name }, [bytes.buffer]);
  });
  el.forget.addEventListener('click', () => post({ type: 'forgetPretrained' }));

  el.download.addEventListener('click', () => post({ type: 'export', format: 'safetensors' }));
  el.onnx.addEventListener('click', () => post({ type: 'export', format: 'onnx' }));

  wireWebcam(el, (name, file) => {
    captures.push({ file, path: `webcam/${name}/${file.name}` });
    shown.captured[name] = (shown.captured[name] ?? 0) + 1;
    el.captured.textContent = Object.entries(shown.captured)
      .map(([c, n]) => `${c}: ${plural(n, 'frame')}`)
      .join(', ');
    setState(shown.state);
  });
  el.useCaptures.addEventListener('click', () => openFolder([...captures]));

  setState('loading');
  return { activate };
}

/**
 * The camera button starts and stops the webcam; Capture turns the current frame into a
 * PNG of the named class, handed to `onCapture`: a folder like any other once used.
 */
function wireWebcam(
  el: {
    camera: HTMLButtonElement;
    video: HTMLVideoElement;
    className: HTMLInputElement;
    capture: HTMLButtonElement;
    captured: HTMLElement;
  },
  onCapture: (className: string, file: File) => void,
): void {
  let stream: MediaStream | null = null;
  let frames = 0;
  el.camera.addEventListener('click', async () => {
    if (stream) {
      for (const t of stream.getTracks()) t.stop();
      stream = null;
      el.video.hidden = true;
      el.camera.textContent = 'Start camera';
      el.capture.disabled = true;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
    } catch (err) {
      el.captured.textContent = `No camera: ${(err as Error).message}`;
      return;
    }
    el.video.srcObject = stream;
    el.video.hidden = false;
    await el.video.play();
    el.camera.textContent = 'Stop camera';
    el.capture.disabled = false;
  });
  el.capture.addEventListener('click', async () => {
    // The name becomes a folder name: no separators in it.
    const name = el.className.value.trim().replace(/[/\\]/g, '-');
    if (!name) {
      el.captured.textContent = 'Name the class first.';
      return;
    }
    onCapture(name, await captureFrame(el.video, `${name}-${frames++}.png`));
  });
}

/** Draws the video's current frame into a PNG file. */
async function captureFrame(video: HTMLVideoElement, name: string): Promise<File> {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth || 320;
  canvas.height = video.videoHeight || 240;
  canvas.getContext('2d')!.drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no frame'))), 'image/png'),
  );
  return new File([blob], name, { type: 'image/png' });
}

/** Makes `zone` accept drops (and highlights it while something is dragged over it). */
function dropZone(zone: HTMLElement, onDrop: (dt: DataTransfer) => void): void {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer) onDrop(e.dataTransfer);
  });
}

/**
 * The files of a drop with their paths: one dropped folder is the root (its subfolders the
 * classes); several dropped folders are the classes themselves.
 */
async function droppedFolder(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  // Without entries (a drop the browser does not describe as files and folders) there are
  // no folders either: the files alone, which fromFiles then says hold no class folder.
  if (entries.length === 0) {
    return Array.from(dt.files, (file) => ({ file, path: `dropped/${file.name}` }));
  }
  const prefix = entries.length === 1 && entries[0].isDirectory ? '' : 'dropped/';
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, dir: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) =>
        (entry as FileSystemFileEntry).file(resolve, reject),
      );
      out.push({ file, path: `${dir}${entry.name}` });
      return;
    }
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) break;
      for (const child of batch) await walk(child, `${dir}${entry.name}/`);
    }
  };
  for (const entry of entries) await walk(entry, prefix);
  return out;
}

function saveFile(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(
    new Blob([bytes as BlobPart], { type: 'application/octet-stream' }),
  );
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A predicted picture: its thumbnail, class, confidence and name. */
function predictionItem(r: OwnPrediction, thumbnail: string): HTMLLIElement {
  const li = document.createElement('li');
  const img = document.createElement('img');
  img.src = thumbnail;
  img.alt = '';
  const text = document.createElement('span');
  const strong = document.createElement('strong');
  strong.textContent = r.className;
  text.append(strong, ` ${percent(r.confidence)}`, document.createElement('br'), r.name);
  li.append(img, text);
  li.dataset.className = r.className;
  return li;
}

function item(text: string, className?: string): HTMLLIElement {
  const li = document.createElement('li');
  li.textContent = text;
  if (className) li.className = className;
  return li;
}

function showMessage(node: HTMLElement, text: string, ok: boolean): void {
  node.textContent = text;
  node.classList.toggle('error', !ok);
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
