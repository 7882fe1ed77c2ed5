import { ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conv2d, nchwToNhwc } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('input layout errors', () => {
  it('names nchwToNhwc when a layer gets a PyTorch-layout (NCHW) batch', () => {
    const conv = new Conv2d(3, 8, 3);
    const nchw = tf.zeros([2, 3, 32, 32]);
    expect(() => conv.forward(nchw)).toThrow(ValueError);
    expect(() => conv.forward(nchw)).toThrow(
      "expected input with 3 channels, got 32 (input shape [2,3,32,32]); this looks like NCHW (PyTorch's layout): convert it with nchwToNhwc(x) from @resnet-ts/layers",
    );
    const y = conv.forward(nchwToNhwc(nchw));
    expect(y.shape).toEqual([2, 30, 30, 8]);
    tf.dispose([nchw, y]);
    conv.dispose();
  });

  it('gives no layout hint when the channel count fits neither layout', () => {
    const conv = new Conv2d(3, 8, 3);
    const x = tf.zeros([2, 16, 16, 5]);
    expect(() => conv.forward(x)).toThrow(
      /expected input with 3 channels, got 5 \(input shape \[2,16,16,5\]\)$/,
    );
    tf.dispose(x);
    conv.dispose();
  });
});
