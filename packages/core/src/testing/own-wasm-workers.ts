/**
 * Helpers for tests that check the own wasm kernels' parts really run on the pool's worker
 * threads (own-wasm-threads.ts), which start asynchronously and sleep between calls.
 */
import { expect } from 'vitest';
import { partsRunOnWorkers } from '../kernels/own-wasm-threads.js';

/**
 * Parts as small as the tests' end before a sleeping worker wakes, and the caller then
 * runs them itself: a first call wakes the worker, which then spins a tenth of a millisecond
 * for the next part, so a call 0.03 ms later finds it awake.
 */
export function wakeWorker(call: () => void): void {
  call();
  for (const t = performance.now(); performance.now() - t < 0.03; );
}

/** Runs `body` on the threaded wasm backend until a worker has run a part of it (workers start asynchronously). */
export async function onWorkers(body: () => void): Promise<void> {
  const before = partsRunOnWorkers();
  for (let i = 0; i < 200 && partsRunOnWorkers() === before; i++) {
    body();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(partsRunOnWorkers()).toBeGreaterThan(before);
}
