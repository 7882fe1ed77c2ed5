/**
 * MaxPoolGrad for the wasm backend: one pass over the pooling windows that routes each
 * output gradient to its window's first maximum (row-major order, as tfjs's cpu kernel
 * does, which matters after a relu where whole windows tie at zero). The stock wasm kernel
 * takes 10-40 ms per VanResNet pool; this takes a few.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { alloc, heapF32 } from './wasm_util.js';

export function maxPoolGradWasm(args: {
  inputs: MaxPoolGradInputs;
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const input = inputs.input as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = alloc(backend, input.shape);
  const [heap, xOff] = heapF32(backend, input);
  const [, dyOff] = heapF32(backend, dy);
  const [, dxOff] = heapF32(backend, dx);
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const xRow = inWidth * ch;
  const xImage = inHeight * xRow;
  heap.fill(0, dxOff, dxOff + batchSize * xImage);
  let g = dyOff;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * xImage;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * sh - padTop;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(inHeight, y0 + fh);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * sw - padLeft;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(inWidth, x0 + fw);
        for (let c = 0; c < ch; c++, g++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let y = yLo + ((dh - ((yLo - y0) % dh)) % dh); y < yHi; y += dh) {
            const row = xb + y * xRow + c;
            for (let x = xLo + ((dw - ((xLo - x0) % dw)) % dw); x < xHi; x += dw) {
              const v = heap[xOff + row + x * ch];
              if (v > best || at < 0) {
                best = v;
                at = row + x * ch;
              }
            }
          }
          if (at >= 0) heap[dxOff + at] += heap[g];
        }
      }
    }
  }
  return dx;
}
