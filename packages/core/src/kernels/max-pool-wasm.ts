/**
 * MaxPool on wasm: 2x2 windows with stride 2 inside the image (VanResNet's pools), float32
 * NHWC, in one pass of resnet-ts's own SIMD kernel split over its threads; everything else
 * goes to the stock (XNNPACK, one thread) kernel. Values are tfjs's cpu kernel's: the
 * largest above -Infinity, NaN skipped, which is the cell MaxPoolGrad routes the gradient to.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  MaxPool,
  type MaxPoolAttrs,
  type MaxPoolInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, run } from './wasm-util.js';

/** The wasm MaxPool kernel. */
export function maxPoolWasm(args: {
  inputs: MaxPoolInputs;
  backend: BackendWasm;
  attrs: MaxPoolAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const own = ownWasmKernels(backend);
  if (own == null || x.dtype !== 'float32' || x.shape.length !== 4) {
    return run(backend, MaxPool, { x }, { ...attrs });
  }
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  if (
    info.effectiveFilterHeight !== 2 ||
    info.effectiveFilterWidth !== 2 ||
    info.strideHeight !== 2 ||
    info.strideWidth !== 2 ||
    info.padInfo.top !== 0 ||
    info.padInfo.left !== 0 ||
    2 * outHeight > inHeight ||
    2 * outWidth > inWidth
  ) {
    return run(backend, MaxPool, { x }, { ...attrs });
  }
  const y = alloc(backend, info.outShape);
  if (batchSize * outHeight * outWidth * ch === 0) return y;
  const [, xAt] = heapF32(backend, x);
  const [, yAt] = heapF32(backend, y);
  const xRow = inWidth * ch;
  own.maxPool2x2(xAt, yAt, batchSize, outHeight, outWidth, ch, xRow, inHeight * xRow);
  return y;
}
