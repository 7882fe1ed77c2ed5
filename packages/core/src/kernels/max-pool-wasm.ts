/**
 * MaxPool on wasm for float32 NHWC without dilation, in one pass of resnet-ts's own SIMD
 * kernels split over their threads: 2x2 windows with stride 2 inside the image (VanResNet's
 * pools) in a kernel of their own, any other window and stride in a general one. Values are
 * tfjs's cpu kernel's: the largest above -Infinity, NaN skipped, which is the cell
 * MaxPoolGrad routes the gradient to (the stock XNNPACK kernel orders NaN otherwise).
 * relu(maxPool(x)) (max-pool-relu.ts) runs here too: its ReLU in the 2x2 kernel's pass,
 * after the pool elsewhere.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  MaxPool,
  type MaxPoolAttrs,
  type MaxPoolInputs,
  Relu,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, run } from './wasm-util.js';

type PoolArgs = { inputs: MaxPoolInputs; backend: BackendWasm; attrs: MaxPoolAttrs };

/** The wasm MaxPool kernel. */
export function maxPoolWasm(args: PoolArgs): TensorInfo {
  return maxPool(args, false);
}

/** The wasm kernel of relu(maxPool(x)) (max-pool-relu.ts). */
export function maxPoolReluWasm(args: PoolArgs): TensorInfo {
  return maxPool(args, true);
}

function maxPool({ inputs, backend, attrs }: PoolArgs, relu: boolean): TensorInfo {
  const x = inputs.x as TensorInfo;
  const own = ownWasmKernels(backend);
  if (own == null || x.dtype !== 'float32' || x.shape.length !== 4) {
    const pooled = run(backend, MaxPool, { x }, { ...attrs });
    if (!relu) return pooled;
    const y = run(backend, Relu, { x: pooled });
    release(backend, pooled);
    return y;
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
  const y = alloc(backend, info.outShape);
  const size = batchSize * outHeight * outWidth * ch;
  if (size === 0) return y;
  const [heap, xAt] = heapF32(backend, x);
  const [, yAt] = heapF32(backend, y);
  const xRow = inWidth * ch;
  if (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    util.arraysEqual(info.inShape, info.outShape)
  ) {
    // The cpu kernel returns x itself here, NaN included.
    heap.copyWithin(yAt, xAt, xAt + size);
    if (relu) own.relu(yAt, yAt, size);
  } else if (windows2x2(info)) {
    own.maxPool2x2(xAt, yAt, batchSize, outHeight, outWidth, ch, xRow, inHeight * xRow, relu);
  } else {
    own.maxPoolNHWC(xAt, yAt, info);
    if (relu) own.relu(yAt, yAt, size);
  }
  return y;
}

/**
 * Whether a pool's windows are 2x2 with stride 2, unpadded and inside the image: the case
 * the own 2x2 kernels of MaxPool and MaxPoolGrad take (each cell in at most one window).
 */
export function windows2x2(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth
  );
}
