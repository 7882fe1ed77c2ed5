/**
 * The two gradients of a depthwise convolution for the wasm backend, which registers
 * neither (so depthwise and grouped models could not train there). Each output channel
 * d1·mult + m reads one input channel d1, so both gradients are short loops over the
 * window with the channels innermost, where NHWC keeps them contiguous; they read and
 * write the wasm heap directly, as the dense backprop kernels do.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { alloc, heapF32 } from './wasm-util.js';

type Shape4D = [number, number, number, number];

/** tfjs's geometry of an NHWC depthwise convolution (dilation 1, as tfjs's gradient requires). */
function depthwiseInfo(
  kernel: string,
  xShape: Shape4D,
  filterShape: Shape4D,
  attrs: DepthwiseConv2dNativeBackpropInputAttrs | DepthwiseConv2dNativeBackpropFilterAttrs,
): backend_util.Conv2DInfo {
  const dilations = attrs.dilations ?? 1;
  if (!backend_util.tupleValuesAreOne(dilations)) {
    throw new Error(`${kernel} on wasm supports dilation 1 only, got ${String(dilations)}`);
  }
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

/**
 * Calls `visit(xBase, yBase, fBase)` for every pair of an output pixel and an in-image
 * input pixel under its window: element offsets of pixel starts in x (channel 0), dy
 * (channel 0) and the filter (row wr, column wc, channel 0).
 */
function forEachTap(
  info: backend_util.Conv2DInfo,
  visit: (xBase: number, yBase: number, fBase: number) => void,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const yBase = ((b * outHeight + yr) * outWidth + yc) * outChannels;
        for (let wr = 0; wr < fh; wr++) {
          const xr = yr * sh - top + wr;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < fw; wc++) {
            const xc = yc * sw - left + wc;
            if (xc < 0 || xc >= inWidth) continue;
            visit(
              ((b * inHeight + xr) * inWidth + xc) * inChannels,
              yBase,
              (wr * fw + wc) * outChannels,
            );
          }
        }
      }
    }
  }
}

/** dx [N, H, W, C] = Σ over each window and multiplier of dy × filter. */
export function depthwiseConv2dNativeBackpropInputWasm(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs;
  backend: BackendWasm;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = depthwiseInfo(
    'DepthwiseConv2dNativeBackpropInput',
    attrs.inputShape as Shape4D,
    filter.shape as Shape4D,
    attrs,
  );
  const { inChannels: channels, outChannels } = info;
  const mult = outChannels / channels;
  const dx = alloc(backend, info.inShape);
  const [heap, dxAt] = heapF32(backend, dx);
  const [, dyAt] = heapF32(backend, dy);
  const [, fAt] = heapF32(backend, filter);
  heap.fill(0, dxAt, dxAt + info.inShape.reduce((a, b) => a * b, 1));
  forEachTap(info, (xBase, yBase, fBase) => {
    let o = 0;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let m = 0; m < mult; m++, o++) sum += heap[dyAt + yBase + o] * heap[fAt + fBase + o];
      heap[dxAt + xBase + c] += sum;
    }
  });
  return dx;
}

/** dfilter [fh, fw, C, mult] = Σ over the batch and output pixels of x × dy. */
export function depthwiseConv2dNativeBackpropFilterWasm(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs;
  backend: BackendWasm;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = depthwiseInfo(
    'DepthwiseConv2dNativeBackpropFilter',
    x.shape as Shape4D,
    attrs.filterShape as Shape4D,
    attrs,
  );
  const { inChannels: channels, outChannels } = info;
  const mult = outChannels / channels;
  // Sums over a whole batch of pixels: accumulated in double precision, as the cpu backend does.
  const sums = new Float64Array(info.filterHeight * info.filterWidth * outChannels);
  const dw = alloc(backend, attrs.filterShape);
  const [heap, dwAt] = heapF32(backend, dw);
  const [, xAt] = heapF32(backend, x);
  const [, dyAt] = heapF32(backend, dy);
  forEachTap(info, (xBase, yBase, fBase) => {
    let o = 0;
    for (let c = 0; c < channels; c++) {
      const xv = heap[xAt + xBase + c];
      for (let m = 0; m < mult; m++, o++) sums[fBase + o] += xv * heap[dyAt + yBase + o];
    }
  });
  heap.set(sums, dwAt);
  return dw;
}
