import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { detectWasmFeatures, formatWasmFeatures } from './wasm-features.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);
const relaxedFlag = process.execArgv.includes('--experimental-wasm-relaxed-simd');

describe('detectWasmFeatures', () => {
  it('finds SIMD and shared memory in Node', () => {
    const f = detectWasmFeatures();
    expect(f.simd).toBe(true);
    expect(f.threads).toBe(true);
  });

  it.runIf(nodeMajor < 22 && !relaxedFlag)(
    'finds relaxed SIMD exactly when V8 is told to compile it (Node 20)',
    () => {
      expect(detectWasmFeatures().relaxedSimd).toBe(false);
      expect(formatWasmFeatures(detectWasmFeatures())).toBe(
        'wasm features: SIMD yes, relaxed SIMD no (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd), threads yes',
      );
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      try {
        expect(detectWasmFeatures().relaxedSimd).toBe(true);
        expect(formatWasmFeatures(detectWasmFeatures())).toBe(
          'wasm features: SIMD yes, relaxed SIMD yes, threads yes',
        );
      } finally {
        setFlagsFromString('--no-experimental-wasm-relaxed-simd');
      }
      expect(detectWasmFeatures().relaxedSimd).toBe(false);
    },
  );

  it.runIf(nodeMajor >= 22)('finds relaxed SIMD in Node 22+', () => {
    expect(detectWasmFeatures().relaxedSimd).toBe(true);
  });
});
