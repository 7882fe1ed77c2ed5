/**
 * Conv2DBackpropFilter for the wasm backend, which has none (tensorflow/tfjs#8474).
 * dW [fh * fw * inC, outC] = colsT @ dy, one plain (NN) matrix product, which XNNPACK runs
 * as fast as the forward convolution; its transposed forms run 10-20x slower on wasm, and so
 * does the backend's 2-D transpose, so the transposed patch matrix colsT is built directly,
 * from a channels-first copy of x (a cheap 4-D transpose) so that every row is made of
 * contiguous runs. The product lands in HWIO order, so no transpose follows it. Where the own
 * wasm kernels run, the patches and the product of each chunk of images are built and run by
 * gemm.c's conv_filter_grad_images, every thread over its own images into its own partial
 * dW, in one dispatch (VanResNet's first layer made three per chunk of 8 images, 24, otherwise).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropFilterInputs,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { winogradBackpropFilter } from './conv2d-backprop-filter-winograd-wasm.js';
import { packedSize } from './gemm-wasm.js';
import { im2colTransposedCNHW } from './im2col.js';
import { convGeometry, ownWasmKernels } from './own-wasm.js';
import {
  alloc,
  borrow,
  heapF32,
  matMulNN,
  nhwcConvInfo,
  release,
  transpose2d,
  unborrow,
  view,
} from './wasm-util.js';

/** dy elements per chunk (256K floats, 1 MB), fastest of 16K-1M on VanResNet and ResNet-18 layers. */
let chunkElements = 262144;

/** Sets how many dy elements one chunk holds (at least one image's); for tests and tuning. */
export function setBackpropFilterChunk(elements: number): void {
  chunkElements = elements;
}

export function conv2DBackpropFilterWasm(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = nhwcConvInfo(
    'Conv2DBackpropFilter',
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs,
  );
  const winograd = winogradBackpropFilter(backend, x, dy, info);
  if (winograd != null) return winograd;
  const { filterHeight: fh, filterWidth: fw, inChannels, outChannels } = info;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const k = fh * fw * inChannels;

  // x [N, H, W, C] as CNHW: the matrix [N * H * W, C] transposed.
  const xT = transpose2d(backend, x, info.batchSize * info.inHeight * info.inWidth, inChannels);
  // A 1x1, stride-1, unpadded convolution's transposed patches are x^T itself.
  const identityPatches =
    fh === 1 &&
    fw === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0;
  const own = ownWasmKernels(backend);
  if (identityPatches) {
    const dw = matMulNN(backend, xT, dy, k, rows, outChannels);
    release(backend, xT);
    return view(dw, [fh, fw, inChannels, outChannels]);
  }
  // The product runs over a few images at a time: XNNPACK streams its packed right operand
  // (the dy rows) once per 4 output rows, so that operand must stay in cache, and the patch
  // chunk is read back while still warm.
  const perImage = info.outHeight * info.outWidth;
  const images = Math.max(
    1,
    Math.min(info.batchSize, Math.floor(chunkElements / (perImage * outChannels))),
  );
  const dw = alloc(backend, [fh, fw, inChannels, outChannels]);
  if (own) {
    // One dispatch: each thread runs the chunks of its own images with its own scratch and
    // partial dW (the first part writes dW itself), and the partials are added up after.
    const perImageFloats = perImage * (k + outChannels);
    const parts = own.partCount(info.batchSize, perImageFloats);
    const colsSize = k * images * perImage;
    const packedFloats = packedSize(images * perImage, outChannels);
    const perPart = colsSize + packedFloats + k * outChannels;
    const scratch = alloc(backend, [parts * perPart]);
    const [, sOff] = heapF32(backend, scratch);
    const [, xOff] = heapF32(backend, xT);
    const [, dyOff] = heapF32(backend, dy);
    const [, dwOff] = heapF32(backend, dw);
    const partial = (p: number) => sOff + p * perPart + colsSize + packedFloats;
    own.byParts('conv_filter_grad_images', info.batchSize, perImageFloats, (p, b0, b1) => [
      xOff * 4,
      dyOff * 4,
      (sOff + p * perPart) * 4,
      (sOff + p * perPart + colsSize) * 4,
      (p === 0 ? dwOff : partial(p)) * 4,
      outChannels,
      images,
      ...convGeometry(info),
      b0,
      b1,
    ]);
    for (let p = 1; p < parts; p++) own.addInto(dwOff, partial(p), k * outChannels);
    release(backend, scratch);
    release(backend, xT);
    return dw;
  }
  const colsT = alloc(backend, [k, images * perImage]);
  for (let b0 = 0; b0 < info.batchSize; b0 += images) {
    const b1 = Math.min(info.batchSize, b0 + images);
    const m = (b1 - b0) * perImage;
    const [heap, xOff] = heapF32(backend, xT);
    const [, colOff] = heapF32(backend, colsT);
    im2colTransposedCNHW(heap, xOff, colOff, info, b0, b1);
    const dyRows = borrow(backend, dy, b0 * perImage * outChannels, [m, outChannels]);
    const part = matMulNN(backend, view(colsT, [k, m]), dyRows, k, m, outChannels);
    unborrow(backend, dyRows);
    const [h, partOff] = heapF32(backend, part);
    const [, dwOff] = heapF32(backend, dw);
    if (b0 === 0) h.copyWithin(dwOff, partOff, partOff + k * outChannels);
    else for (let i = 0; i < k * outChannels; i++) h[dwOff + i] += h[partOff + i];
    release(backend, part);
  }
  release(backend, colsT);
  release(backend, xT);
  return dw;
}
