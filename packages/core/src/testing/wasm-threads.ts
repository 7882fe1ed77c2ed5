/**
 * Runs a kernel test on the wasm backend with one thread (the plain build) and with two
 * (the threaded build, every call of more than a few floats split between the threads),
 * against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe } from 'vitest';
import { DEFAULT_MIN_PART, setOwnWasmMinPart } from '../kernels/own-wasm.js';
import { useThreadedWasm } from '../kernels/threaded-wasm-node.js';
import { onWorkers, wakeWorker } from './own-wasm-workers.js';

/** Threads a wasm test runs on. */
export type WasmThreads = 1 | 2;

/**
 * Declares `body`'s tests twice: on the plain wasm backend, then on the threaded build with
 * two threads and parts of 16 floats. Call it last in a file: the second pass replaces the
 * registered wasm backend.
 */
export function onOneAndTwoThreads(title: string, body: (threads: WasmThreads) => void): void {
  describe(`${title} on one thread`, () => {
    beforeAll(async () => {
      await tf.setBackend('wasm');
    });
    body(1);
  });
  describe(`${title} on two threads`, () => {
    beforeAll(async () => {
      await useThreadedWasm({ threads: 2 });
      setOwnWasmMinPart(16);
    });
    afterAll(() => {
      setOwnWasmMinPart(DEFAULT_MIN_PART);
      tf.removeBackend('wasm');
    });
    body(2);
  });
}

/**
 * `compute`'s results on the cpu backend and on wasm: [want, got]. On two threads with
 * `split` (a call the own kernels split), wasm runs it until a worker thread has run a part.
 */
export async function cpuAndWasm<T>(
  threads: WasmThreads,
  split: boolean,
  compute: () => T,
): Promise<[T, T]> {
  await tf.setBackend('cpu');
  const want = compute();
  await tf.setBackend('wasm');
  let got = compute();
  if (threads === 2 && split) {
    await onWorkers(() => {
      wakeWorker(compute);
      got = compute();
    });
  }
  return [want, got];
}
