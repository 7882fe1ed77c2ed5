/**
 * `window.__demo`: a plain snapshot of what the page shows, so browser tests can wait for
 * facts (steps taken, losses, backend) instead of scraping text or sleeping.
 */
import type { BackendAttempt, BackendName } from '@resnet-ts/core';
import type { BackendProbe, EpochReport, TrainState } from './protocol.js';

export interface DemoState {
  ready: boolean;
  /** The worker's state, or 'switching' while the page moves to another backend. */
  state: TrainState | 'switching';
  backend: BackendName | null;
  tried: BackendAttempt[];
  /** Automatic's one-batch measurements (empty when a backend was named). */
  probes: BackendProbe[];
  /** Backend-panel messages of switches that failed and went back. */
  switchFailures: string[];
  /** Start requests refused because a switch was under way. */
  refusedStarts: number;
  steps: number;
  losses: number[];
  lrs: number[];
  epochs: EpochReport[];
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
    steps: 0,
    losses: [],
    lrs: [],
    epochs: [],
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
