import { readFileSync } from 'node:fs';
import { decodeSafetensors, type SafetensorsFile } from '@resnet-ts/core';
import { nchwToNhwc } from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { FormulaSpec } from './formula.js';
import { formulaValues } from './formula.js';

const dir = new URL('../__fixtures__/', import.meta.url);

/** A fixture file's bytes. */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, dir)));
}

/** A decoded safetensors fixture. */
export function fixtureSafetensors(name: string): SafetensorsFile {
  return decodeSafetensors(fixtureBytes(name));
}

/** A JSON fixture. */
export function fixtureJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;
}

/** One model of formula-models.json. */
export interface FormulaModel {
  inputName: string;
  inputShape: [number, number, number, number];
  state: Record<string, FormulaSpec>;
  logitsShape: number[];
  logits: number[];
  /** resnet18 only: one training-mode forward and the BatchNorm buffers it updated. */
  train?: { logits: number[]; buffers: Record<string, number[]> };
}

/** formula-models.json. */
export interface FormulaModels {
  script: string;
  torch: string;
  models: Record<string, FormulaModel>;
}

/** The script's NCHW formula input as an NHWC tensor. */
export function formulaInput(name: string, nchw: readonly number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const n = nchw.reduce((a, b) => a * b, 1);
    return nchwToNhwc(tf.tensor(formulaValues(name, n, 1), [...nchw]));
  });
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
