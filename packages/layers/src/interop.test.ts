import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  hwioToOihw,
  ioToOi,
  nchwFlattenOrder,
  nchwToNhwc,
  nhwcToNchw,
  oihwToHwio,
  oiToIo,
} from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Element [a,b,c,d] of a tensor built so that its value encodes its own index. */
function indexTensor(shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: size }, (_, i) => i),
    shape,
  );
}

describe('interop between PyTorch and tfjs layouts', () => {
  it('NCHW -> NHWC moves element [n,c,h,w] to [n,h,w,c], and back', () => {
    const x = indexTensor([2, 3, 4, 5]);
    const y = nchwToNhwc(x);
    expect(y.shape).toEqual([2, 4, 5, 3]);
    const xs = x.arraySync() as number[][][][];
    const ys = y.arraySync() as number[][][][];
    expect(ys[1][2][3][0]).toBe(xs[1][0][2][3]);
    expect(ys[0][3][4][2]).toBe(xs[0][2][3][4]);
    expect([...nhwcToNchw(y).dataSync()]).toEqual([...x.dataSync()]);
  });

  it('OIHW -> HWIO moves element [o,i,h,w] to [h,w,i,o], and back', () => {
    const w = indexTensor([4, 3, 2, 5]);
    const h = oihwToHwio(w);
    expect(h.shape).toEqual([2, 5, 3, 4]);
    const ws = w.arraySync() as number[][][][];
    const hs = h.arraySync() as number[][][][];
    expect(hs[1][4][2][3]).toBe(ws[3][2][1][4]);
    expect([...hwioToOihw(h).dataSync()]).toEqual([...w.dataSync()]);
  });

  it('Linear [out, in] <-> [in, out]', () => {
    const w = indexTensor([3, 5]);
    const io = oiToIo(w);
    expect(io.shape).toEqual([5, 3]);
    expect((io.arraySync() as number[][])[4][1]).toBe((w.arraySync() as number[][])[1][4]);
    expect([...ioToOi(io).dataSync()]).toEqual([...w.dataSync()]);
  });

  it('rejects tensors of the wrong rank', () => {
    expect(() => oihwToHwio(tf.zeros([3, 3]))).toThrow(
      'oihwToHwio: expected a 4-D OIHW tensor, got shape [3,3]',
    );
    expect(() => oiToIo(tf.zeros([3]))).toThrow(/oiToIo: expected a 2-D/);
  });

  it('nchwFlattenOrder maps our flattened features to PyTorch flat indices', () => {
    const x = indexTensor([1, 3, 2, 4]); // NCHW: value = its NCHW flat index
    const ours = tf.reshape(nchwToNhwc(x), [-1]).dataSync();
    const order = nchwFlattenOrder(2, 4, 3);
    expect([...ours]).toEqual([...order]);
  });
});
