/**
 * Messages between the page and the training worker. The worker owns the tfjs backend, the
 * model and the data; the page only draws.
 */
import type { BackendName, BackendSelection } from '@resnet-ts/core';
import type { OptimizerName, SchedulerName } from '@resnet-ts/train';

/** `auto` lets the worker try WebGPU, WebGL, WASM and CPU in turn. */
export type BackendChoice = 'auto' | BackendName;

/** What Automatic measured on one usable backend: a warm one-batch training step. */
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
  | { type: 'init'; backend: BackendChoice; dataUrl: string; wasmPaths: Record<string, string> }
  | { type: 'start'; config: TrainConfig }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'predict'; id: number; pixels: Float32Array }
  | { type: 'grid'; count: number }
  | { type: 'exportWeights' }
  | { type: 'importWeights'; bytes: Uint8Array; fileName: string };

/** One optimisation step, reported after the batch ends. */
export interface BatchReport {
  step: number;
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  lr: number;
  imagesPerSec: number;
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
    }
  | { type: 'initError'; message: string; selection?: BackendSelection }
  | { type: 'state'; state: TrainState; message?: string }
  | ({ type: 'batch' } & BatchReport)
  | ({ type: 'epoch' } & EpochReport)
  | { type: 'prediction'; id: number; probs: Float32Array }
  | { type: 'grid'; pixels: Uint8Array; labels: Int32Array; predictions: Int32Array }
  | { type: 'weights'; bytes: Uint8Array }
  | { type: 'weightsLoaded'; ok: boolean; message: string }
  | { type: 'error'; message: string };
