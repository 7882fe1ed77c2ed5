import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { selectBackend } from '../index.js';
import { randomInput, relativeError } from '../testing/kernel-compare.js';
import { ownWasmKernels } from './own-wasm.js';
import { useThreadedWasm } from './threaded-wasm-node.js';

describe('useThreadedWasm', () => {
  afterAll(() => {
    tf.removeBackend('wasm');
  });

  it('runs tfjs wasm on two threads under Node and matches cpu, our kernels included', async () => {
    const threads = await useThreadedWasm({ threads: 2 });
    expect(threads).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    // The own SIMD kernels instantiate over the threaded build's shared memory too.
    expect(ownWasmKernels(tf.backend() as never)).not.toBeNull();
    const gen = new Generator(5);
    const x = randomInput(gen, [8, 12, 12, 16]);
    const w = randomInput(gen, [3, 3, 16, 24]);
    const results: Float32Array[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      results.push(
        tf.tidy(() => {
          const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
          const wt = tf.tensor4d(w.values, w.shape as [number, number, number, number]);
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
          const [dx, dw] = tf.grads(f)([xt, wt]);
          return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
        }),
      );
    }
    expect(relativeError(results[1][0], results[0][0])).toBeLessThan(1e-4);
    expect(relativeError(results[1][1], results[0][1])).toBeLessThan(1e-4);
  });
});

describe('selectBackend({ threads })', () => {
  afterAll(() => {
    tf.removeBackend('wasm');
  });

  it('refuses a thread count that is not a whole number >= 1 or all, naming it', async () => {
    await expect(selectBackend({ prefer: ['cpu'], threads: 0 })).rejects.toThrow(
      "threads must be a whole number >= 1 or 'all', got 0",
    );
    await expect(selectBackend({ prefer: ['cpu'], threads: 1.5 })).rejects.toThrow(/got 1.5/);
  });

  it('runs the threaded wasm build under Node, reports the threads and matches cpu', async () => {
    await selectBackend(['cpu']);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i)),
      [2, 6, 6, 3],
    );
    const w = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
      [3, 3, 3, 4],
    );
    const probe = () => tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array);
    const expected = probe();
    const sel = await selectBackend({ prefer: ['wasm'], threads: 2 });
    expect(sel).toEqual({
      name: 'wasm',
      threads: 2,
      tried: [
        { name: 'wasm', ok: true, reason: 'XNNPACK on 2 threads with resnet-ts training kernels' },
      ],
      wasmFeatures: { simd: true, relaxedSimd: expect.any(Boolean), threads: true },
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(relativeError(probe(), expected)).toBeLessThan(1e-5);
    tf.dispose([x, w]);
  });
});

describe('a program using the threaded pool', () => {
  it('exits by itself when its work is done', () => {
    // A plain Node child, as a user's script runs: it loads the built package (turbo builds
    // before testing), so nothing of vitest's keeps it alive or ends it.
    const dist = fileURLToPath(new URL('../../dist/node.js', import.meta.url));
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import '${fileURLToPath(new URL('../../dist/index.js', import.meta.url))}';
      import { useThreadedWasm } from '${dist}';
      const threads = await useThreadedWasm({ threads: 2 });
      const y = tf.conv2d(tf.ones([1, 8, 8, 4]), tf.ones([3, 3, 4, 4]), 1, 'same');
      console.log(JSON.stringify({ threads, sum: (await tf.sum(y).data())[0] }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dirname(dist),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.error, 'the program was still running after 60 s').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    // Each output is 4 input channels × the in-image taps of its 3×3 window: 4 corners see 4,
    // 24 edge pixels 6 and 36 inner ones 9; 4 output channels.
    expect(out).toEqual({ threads: 2, sum: 4 * 4 * (4 * 4 + 24 * 6 + 36 * 9) });
  });
});
