/** Helpers for the tests of the one-kernel optimizer updates (sgdUpdate, adamUpdate). */
import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from '../generator.js';

/** Values in [low, 1) with zeros, NaN, infinities and -0 sprinkled in. */
export function oddValues(gen: Generator, n: number, low = -1): Float32Array {
  const odd = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  return Float32Array.from({ length: n }, () =>
    gen.random() < 0.05 ? odd[gen.randint(odd.length)] : gen.uniform(low, 1),
  );
}

/** An optimizer's per-step scalar cache: one kept tensor per value, as `scalar` hands them out. */
export function scalarCache(): { cache: Map<number, tf.Scalar>; scalar: (v: number) => tf.Scalar } {
  const cache = new Map<number, tf.Scalar>();
  const scalar = (v: number) => {
    let t = cache.get(v);
    if (t == null) {
      t = tf.keep(tf.scalar(v));
      cache.set(v, t);
    }
    return t;
  };
  return { cache, scalar };
}
