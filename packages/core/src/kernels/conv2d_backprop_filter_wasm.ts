/**
 * Conv2DBackpropFilter for the wasm backend, which has none (tensorflow/tfjs#8474): an
 * im2col of x, then one plain matrix product against the transposed dy. The plain (NN)
 * product is used because XNNPACK's transposed forms run 10-20x slower on wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { im2colNHWC } from './im2col.js';
import { alloc, heapF32, matMulNN, release, transpose2d, view } from './wasm_util.js';

export function conv2DBackpropFilterWasm(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(
      `Conv2DBackpropFilter on wasm supports NHWC only, got dataFormat '${dataFormat}'`,
    );
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const { filterHeight: fh, filterWidth: fw, inChannels, outChannels } = info;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const k = fh * fw * inChannels;

  // A 1x1, stride-1, unpadded convolution's patches are x itself.
  const identityPatches =
    fh === 1 &&
    fw === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0;
  let cols: TensorInfo;
  if (identityPatches) {
    cols = view(x, [rows, k]);
  } else {
    cols = alloc(backend, [rows, k]);
    const [heap, xOff] = heapF32(backend, x);
    const [, colOff] = heapF32(backend, cols);
    im2colNHWC(heap, xOff, colOff, info);
  }
  // dW^T [outC, k] = dy^T [outC, rows] @ cols [rows, k]; dy^T is the cheaper transpose
  // whenever outC < k, which holds for every 3x3 layer.
  const dyT = transpose2d(backend, dy, rows, outChannels);
  const dwT = matMulNN(backend, dyT, cols, outChannels, rows, k);
  release(backend, dyT);
  if (!identityPatches) release(backend, cols);
  const dw = transpose2d(backend, dwT, outChannels, k);
  release(backend, dwT);
  return view(dw, [fh, fw, inChannels, outChannels]);
}
