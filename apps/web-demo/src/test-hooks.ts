/**
 * `window.__demo`: a plain snapshot of what the page shows, so browser tests can wait for
 * facts (steps taken, losses, backend) instead of scraping text or sleeping.
 */
import type { BackendAttempt, BackendName } from '@resnet-ts/core';
import type { SeriesSummary } from './charts.js';
import type { BackendProbe, EpochReport, SavedRunSummary, TrainState } from './protocol.js';
import type { RunSize } from './run-size.js';

export interface DemoState {
  ready: boolean;
  /** The worker's state, or 'switching' while the page moves to another backend. */
  state: TrainState | 'switching';
  backend: BackendName | null;
  tried: BackendAttempt[];
  /** Automatic's measurements (empty when a backend was named). */
  probes: BackendProbe[];
  /** Backend-panel messages of switches that failed and went back. */
  switchFailures: string[];
  /** Start requests refused because a switch was under way. */
  refusedStarts: number;
  /** Whether the page is cross-origin isolated, and wasm's thread count when wasm runs. */
  isolated: boolean;
  wasmThreads: number | null;
  /** The run size suggested from Automatic's measurement, when it was applied. */
  sizing: RunSize | null;
  steps: number;
  losses: number[];
  /** Training accuracy of each batch. */
  accuracies: number[];
  lrs: number[];
  epochs: EpochReport[];
  /** The line under the progress bar ("step 3/32 · ETA 0:04"). */
  progressText: string;
  /** Divergence warnings shown. */
  warnings: string[];
  /** The step of the last save for a reload (0: none this run). */
  savedStep: number;
  /** The interrupted run offered on load, or null. */
  savedRun: SavedRunSummary | null;
  /** Whether the worker has looked for an interrupted run since it started. */
  savedRunChecked: boolean;
  /** Each chart dataset's point count and point radius, e.g. `accuracy/train (batch)`. */
  chartSeries: Record<string, SeriesSummary>;
  prediction: { label: number; probs: number[] } | null;
  predictions: number;
  /** Prediction requests sent to the worker. */
  predictRequests: number;
  /** Labels the live region announced, one per settled prediction. */
  announced: number[];
  gridPredictions: number[];
  gridLabels: number[];
  gridUpdates: number;
  weightsMessage: string;
  weightsLoads: number;
  pings: number;
  errors: string[];
}

declare global {
  interface Window {
    __demo: DemoState;
  }
}

export function exposeDemoState(): DemoState {
  const demo: DemoState = {
    ready: false,
    state: 'loading',
    backend: null,
    tried: [],
    probes: [],
    switchFailures: [],
    refusedStarts: 0,
    isolated: false,
    wasmThreads: null,
    sizing: null,
    steps: 0,
    losses: [],
    accuracies: [],
    lrs: [],
    epochs: [],
    progressText: '',
    warnings: [],
    savedStep: 0,
    savedRun: null,
    savedRunChecked: false,
    chartSeries: {},
    prediction: null,
    predictions: 0,
    predictRequests: 0,
    announced: [],
    gridPredictions: [],
    gridLabels: [],
    gridUpdates: 0,
    weightsMessage: '',
    weightsLoads: 0,
    pings: 0,
    errors: [],
  };
  window.__demo = demo;
  return demo;
}
