import { existsSync } from 'node:fs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  assertBackendReady,
  defaultBackendOrder,
  formatBackendReport,
  isNode,
  Module,
  registerWasmTrainingKernels,
  selectBackend,
  wasmTrainingKernels,
} from './index.js';

// SwiftShader's Vulkan driver ships with Debian's chromium; SWIFTSHADER_ICD points elsewhere.
const ICD = process.env.SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
// Without the driver these tests are skipped with the reason, unless CI requires them.
const swiftShaderMissing =
  !existsSync(ICD) && process.env.CI !== 'true'
    ? `no SwiftShader Vulkan driver at ${ICD}: apt-get install chromium (as .ci/run does) to run it`
    : null;

/** A small conv computed on the active backend, read back to plain numbers. */
async function convProbe(): Promise<number[]> {
  const x = tf.tensor4d(
    Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)),
    [2, 5, 5, 3],
  );
  const w = tf.tensor4d(
    Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
    [3, 3, 3, 4],
  );
  const y = tf.conv2d(x, w, 1, 'same');
  const out = Array.from(await y.data());
  tf.dispose([x, w, y]);
  return out;
}

describe('selectBackend', () => {
  it('tries tensorflow, webgpu, wasm, cpu in Node', () => {
    expect(isNode()).toBe(true);
    expect(defaultBackendOrder()).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
  });

  it('picks cpu when asked and reports it', async () => {
    const sel = await selectBackend(['cpu']);
    expect(sel).toEqual({
      name: 'cpu',
      tried: [{ name: 'cpu', ok: true, reason: expect.any(String) }],
    });
    expect(tf.getBackend()).toBe('cpu');
    expect(formatBackendReport(sel)).toMatch(/^backend: cpu\n {2}✓ cpu/);
  });

  it('runs wasm in Node with the same results as cpu', async () => {
    await selectBackend(['cpu']);
    const expected = await convProbe();
    const sel = await selectBackend(['wasm']);
    expect(sel.name).toBe('wasm');
    expect(sel.threads).toBe(1);
    expect(sel.wasmFeatures).toMatchObject({ simd: true, threads: true });
    expect(formatBackendReport(sel)).toMatch(
      /^backend: wasm\n {2}✓ wasm {7}picked: XNNPACK with resnet-ts training kernels\n {2}wasm features: SIMD yes, relaxed SIMD (yes|no)/,
    );
    expect(tf.getBackend()).toBe('wasm');
    const got = await convProbe();
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i], 4);
  });

  it('says why tensorflow is skipped when tfjs-node is not installed', async () => {
    const sel = await selectBackend(['tensorflow', 'cpu']);
    expect(sel.name).toBe('cpu');
    expect(sel.tried[0]).toEqual({
      name: 'tensorflow',
      ok: false,
      reason: expect.stringMatching(
        /^@tensorflow\/tfjs-node-gpu and @tensorflow\/tfjs-node are not installed: npm i @tensorflow\/tfjs-node-gpu \(CUDA GPUs\) or npm i @tensorflow\/tfjs-node$/,
      ),
    });
  });

  it('skips webgl in Node with a reason', async () => {
    const sel = await selectBackend(['webgl', 'cpu']);
    expect(sel.tried[0]).toEqual({
      name: 'webgl',
      ok: false,
      reason: 'only available in browsers',
    });
  });

  it('rejects an unknown backend name, naming it', async () => {
    await expect(selectBackend(['tpu' as never])).rejects.toThrow(/unknown backend "tpu"/);
  });

  it('registers the wasm training kernels because tfjs-backend-wasm is installed', () => {
    expect(registerWasmTrainingKernels()).toBe(true);
    for (const name of wasmTrainingKernels) {
      expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    }
  });

  it('says to await selectBackend() when a module is built before any backend is ready', async () => {
    await selectBackend(['cpu']);
    expect(() => assertBackendReady('Conv2d')).not.toThrow();
    expect(() => new Module()).not.toThrow();
    // A backend that starts asynchronously, like wasm and webgpu: until its promise
    // settles no op can run.
    tf.registerBackend('slow-start', async () => new MathBackendCPU());
    const pending = tf.setBackend('slow-start');
    expect(() => new Module()).toThrow(
      /^Module needs a TensorFlow.js backend, and none is ready yet: `await selectBackend\(\)`/,
    );
    expect(await pending).toBe(true);
    await selectBackend(['cpu']);
    tf.removeBackend('slow-start');
    expect(() => new Module()).not.toThrow();
  });

  describe('webgpu through the webgpu package on SwiftShader', () => {
    it('skips a software adapter in the automatic order and takes it when asked', async (ctx) => {
      if (swiftShaderMissing) {
        console.warn(`skipped: ${swiftShaderMissing}`);
        // The reason travels in the JSON report, where tools/sum-test-results.mjs prints it.
        (ctx.task.meta as Record<string, unknown>).skipReason = swiftShaderMissing;
        ctx.skip(swiftShaderMissing);
      }
      expect(existsSync(ICD), `${ICD} is missing: apt-get install chromium`).toBe(true);
      process.env.VK_ICD_FILENAMES = ICD;
      process.env.XDG_RUNTIME_DIR ??= '/tmp';
      await selectBackend(['cpu']);
      const expected = await convProbe();

      const auto = await selectBackend({ prefer: ['webgpu', 'cpu'], allowSoftwareWebGPU: false });
      expect(auto.name).toBe('cpu');
      expect(auto.tried[0].reason).toMatch(/only a software WebGPU adapter \(google swiftshader/);
      // The adapter was looked for in a child process: Dawn never loaded into this one.
      expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();

      const sel = await selectBackend(['webgpu']);
      expect(sel.name).toBe('webgpu');
      expect(sel.tried[0].reason).toMatch(/^software adapter: google swiftshader/);
      const got = await convProbe();
      for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i], 3);
      await selectBackend(['cpu']);
    });
  });
});
