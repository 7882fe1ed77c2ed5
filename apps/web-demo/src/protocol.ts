/**
 * Messages between the page and the training worker. The worker owns the tfjs backend, the
 * model and the data; the page only draws.
 */
import type { BackendName, BackendSelection } from '@resnet-ts/core';
import type { OptimizerName, SchedulerName } from '@resnet-ts/train';

/** `auto` lets the worker try WebGPU, WebGL, WASM and CPU in turn. */
export type BackendChoice = 'auto' | BackendName;

/** What Automatic measured on one usable backend: a few warm training steps. */
export interface BackendProbe {
  name: BackendName;
  /** Drawn by a software rasteriser (SwiftShader, llvmpipe): ranked below wasm. */
  software: boolean;
  imagesPerSec: number;
}

/** What the training controls ask for. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerName;
  scheduler: SchedulerName;
  /** How many of the training digits to use (the rest are left out to keep a run short). */
  trainSize: number;
  /** How many of the test digits to validate on after each epoch. */
  valSize: number;
  seed: number;
}

export type TrainState = 'loading' | 'idle' | 'training' | 'paused' | 'stopping' | 'error';

export type ToWorker =
  | {
      type: 'init';
      backend: BackendChoice;
      dataUrl: string;
      wasmPaths: Record<string, string>;
    }
  /** `saveEvery`: save the run for a reload every this many steps (and after each epoch). */
  | { type: 'start'; config: TrainConfig; saveEvery: number }
  /** Continue the run a reload interrupted (see `savedRun`), or forget it. */
  | { type: 'continueSaved'; saveEvery: number }
  | { type: 'discardSaved' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'predict'; id: number; pixels: Float32Array }
  | { type: 'grid'; count: number }
  | { type: 'exportWeights' }
  | { type: 'importWeights'; bytes: Uint8Array; fileName: string };

/** One optimisation step, reported after the batch ends. */
export interface BatchReport {
  /** Steps of this run so far, counting those before a reload. */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  /** The batch's top-1 training accuracy. */
  accuracy: number;
  lr: number;
  imagesPerSec: number;
}

/** Per-step figures of a run, carried across a reload so the charts can be drawn again. */
export interface RunHistory {
  losses: number[];
  accuracies: number[];
  lrs: number[];
  epochs: EpochReport[];
}

/** An interrupted run found on load, as the page offers it. */
export interface SavedRunSummary {
  config: TrainConfig;
  /** Steps done when it was saved, and of the whole run. */
  step: number;
  totalSteps: number;
  /** The backend it trained on: continuing elsewhere gives close, not identical, weights. */
  backend: BackendName;
}

/** Validation after an epoch. */
export interface EpochReport {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
}

export type FromWorker =
  | {
      type: 'ready';
      selection: BackendSelection;
      trainCount: number;
      testCount: number;
      numParameters: number;
      /** The largest upload that could hold the page's weights; bigger files are not read. */
      maxUploadBytes: number;
      /** Automatic's measurements in the order tried; empty for a named backend. */
      probes: BackendProbe[];
      /** Whether the page is cross-origin isolated (threads for wasm need it). */
      isolated: boolean;
      /** Threads the wasm backend computes on, when wasm is the backend. */
      wasmThreads?: number;
    }
  | { type: 'initError'; message: string; selection?: BackendSelection }
  | { type: 'state'; state: TrainState; message?: string }
  | ({ type: 'batch' } & BatchReport)
  | ({ type: 'epoch' } & EpochReport)
  | { type: 'prediction'; id: number; probs: Float32Array }
  | { type: 'grid'; pixels: Uint8Array; labels: Int32Array; predictions: Int32Array }
  | { type: 'weights'; bytes: Uint8Array }
  | { type: 'weightsLoaded'; ok: boolean; message: string }
  /** A run a reload interrupted, to offer; `problem` when one was found but unreadable (and removed). */
  | { type: 'savedRun'; run: SavedRunSummary | null; problem?: string }
  /** The figures of a continued run so far, sent before its next batch. */
  | ({ type: 'restored' } & RunHistory)
  /** The run was saved after `step` steps; `problem` when saving failed (and stopped). */
  | { type: 'saved'; step: number; problem?: string }
  /** The loss diverged: NaN/Inf (training stopped) or far above where it started. */
  | { type: 'diverged'; message: string }
  | { type: 'error'; message: string };
