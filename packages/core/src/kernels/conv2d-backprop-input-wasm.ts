/**
 * Conv2DBackpropInput for the wasm backend. The stock kernel is a scalar loop (2-4 GFLOP/s);
 * both routes here spend their time in a matrix product instead:
 * - stride 1: dx is the convolution of dy with the spatially flipped filter whose in and out
 *   channels are swapped, padded by (filter size - 1 - forward padding), which runs by
 *   Winograd for 3x3 filters (conv2d-winograd-wasm.ts);
 * - otherwise, and where the filter is large against dy (small maps, many channels) and
 *   Winograd does not apply: dcols = dy @ W^T (a plain matrix product), scattered back by
 *   col2im.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2DFast, wasmThreads, winogradApplies } from './conv2d-winograd-wasm.js';
import { col2imNHWC } from './im2col.js';
import { ownWasmKernels } from './own-wasm.js';
import {
  alloc,
  heapF32,
  matMulNN,
  nhwcConvInfo,
  release,
  transpose2d,
  transposeBatched,
  view,
} from './wasm-util.js';

/**
 * Below this many input channels the flipped convolution has too few output channels for
 * XNNPACK to run well, and matMul + col2im is faster (first layers: 1 or 3 channels).
 */
const FLIPPED_CONV_MIN_CHANNELS = 8;

/**
 * Above this many filter weights per dy element, the flipped convolution spends more time
 * transposing and packing its new filter (on one thread) than matMul + col2im spends in all
 * (measured with XNNPACK's convolution: ResNet-18's 512-channel 3x3 layers on 4x4 maps, 9
 * weights per dy element, ran 73 ms of CPU by col2im against 86 ms flipped). Where the
 * flipped convolution runs by Winograd it wins at any ratio: those layers take 62.6 ms by
 * col2im, 28 ms flipped (channels swapped and taps flipped by the own transpose), on one
 * thread.
 */
const FLIPPED_CONV_MAX_WEIGHTS_PER_DY = 2;

export function conv2DBackpropInputWasm(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = nhwcConvInfo(
    'Conv2DBackpropInput',
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs,
  );
  const { filterHeight: fh, filterWidth: fw } = info;
  const top = fh - 1 - info.padInfo.top;
  const bottom = info.inHeight - info.outHeight - top + fh - 1;
  const left = fw - 1 - info.padInfo.left;
  const right = info.inWidth - info.outWidth - left + fw - 1;
  const weights = fh * fw * info.inChannels * info.outChannels;
  const dySize = info.batchSize * info.outHeight * info.outWidth * info.outChannels;
  if (
    info.inChannels >= FLIPPED_CONV_MIN_CHANNELS &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    top >= 0 &&
    bottom >= 0 &&
    left >= 0 &&
    right >= 0 &&
    (weights <= FLIPPED_CONV_MAX_WEIGHTS_PER_DY * dySize ||
      winogradApplies(flippedConvInfo(dy, info, [top, bottom, left, right]), wasmThreads(backend)))
  ) {
    return viaFlippedConv(backend, dy, filter, info, [top, bottom, left, right]);
  }
  return viaCol2im(backend, dy, filter, info);
}

/** The convolution of dy with the flipped filter that computes dx. */
function flippedConvInfo(
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  [top, bottom, left, right]: number[],
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    dy.shape as [number, number, number, number],
    [info.filterHeight, info.filterWidth, info.outChannels, info.inChannels],
    1,
    1,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ] as never,
  );
}

function viaFlippedConv(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  [top, bottom, left, right]: number[],
): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const flipped = view(transposeBatched(backend, filter, fh * fw, ci, co, true), [fh, fw, co, ci]);
  const dx = conv2DFast(backend, dy, flipped, {
    strides: 1,
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    dilations: 1,
    dataFormat: 'NHWC',
  });
  release(backend, flipped);
  return dx;
}

function viaCol2im(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const { filterHeight: fh, filterWidth: fw, inChannels: ci, outChannels: co } = info;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const k = fh * fw * ci;
  const wT = transpose2d(backend, filter, k, co);
  const dcols = matMulNN(backend, dy, wT, rows, co, k);
  release(backend, wT);
  const dx = alloc(backend, info.inShape);
  const [heap, colOff] = heapF32(backend, dcols);
  const [, dxOff] = heapF32(backend, dx);
  const own = ownWasmKernels(backend);
  if (own) own.col2imNHWC(colOff, dxOff, info);
  else col2imNHWC(heap, colOff, dxOff, info);
  release(backend, dcols);
  return view(dx, info.inShape);
}
