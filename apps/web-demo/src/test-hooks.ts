/**
 * `window.__demo`: a plain snapshot of what the page shows, so browser tests can wait for
 * facts (steps taken, losses, backend) instead of scraping text or sleeping.
 */
import type { BackendAttempt, BackendName } from '@resnet-ts/core';
import type { EpochReport, TrainState } from './protocol.js';

export interface DemoState {
  ready: boolean;
  state: TrainState;
  backend: BackendName | null;
  tried: BackendAttempt[];
  steps: number;
  losses: number[];
  lrs: number[];
  epochs: EpochReport[];
  prediction: { label: number; probs: number[] } | null;
  predictions: number;
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
    steps: 0,
    losses: [],
    lrs: [],
    epochs: [],
    prediction: null,
    predictions: 0,
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
