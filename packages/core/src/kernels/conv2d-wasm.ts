/**
 * Convolutions on the wasm backend by resnet-ts's own implicit-GEMM kernel
 * (wasm/gemm.c): 1.2-1.3x XNNPACK's speed per CPU-second on VanResNet's and ResNet-18's
 * layers, with the same sums in the same order. Bias and ReLU are applied in the product's
 * own pass. Below 8 input channels (first layers) on one thread XNNPACK is faster and keeps
 * the work where it computes right, as it does for NCHW, other dtypes and other fused
 * activations.
 * conv2d-winograd-wasm.ts registers the kernels and sends here what Winograd does not take.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { packedSize } from './gemm-wasm.js';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

/**
 * Below this many input channels XNNPACK's convolution is faster on one thread (VanResNet's
 * 3 -> 32 first layer: own 3.06 ms, XNNPACK 2.80, the same sums).
 */
const MIN_IN_CHANNELS = 8;

/**
 * Whether the stock kernel may take a convolution with few input channels: tfjs-backend-wasm
 * 4.22 computes wrong values for some non-square filters under 'same' padding with stride 2
 * (a 3x1 filter with strides [1, 2] on a 5x6 input is off by up to 2.0), so only square
 * filters with equal strides and no dilation, checked against the cpu backend, go there.
 * With more than one thread the own kernel takes them all: after each call XNNPACK's pool
 * thread spins for about 2 ms of CPU time waiting for the next, which on a machine with as
 * many cores as threads takes a core from the own kernels that follow (a VanResNet training
 * step on 2 threads, alternated: 17.56 ms with XNNPACK's first layer, 16.90 with the own).
 */
function stockTakes(info: backend_util.Conv2DInfo, threads: number): boolean {
  return (
    threads <= 1 &&
    info.inChannels < MIN_IN_CHANNELS &&
    info.filterHeight === info.filterWidth &&
    info.strideHeight === info.strideWidth &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1
  );
}

/** What the own convolution needs besides x and the filter. */
interface Epilogue {
  bias: TensorInfo | null;
  relu: boolean;
}

/**
 * The NHWC convolution `info` of x with an HWIO filter on the own kernel, plus a float32
 * [outC] bias where the epilogue has one, or null where it does not apply here (the caller
 * then runs the stock kernel).
 */
export function ownConv2D(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  epilogue: Epilogue = { bias: null, relu: false },
): TensorInfo | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if (info.dataFormat !== 'channelsLast') return null;
  const own = ownWasmKernels(backend);
  if (own == null || stockTakes(info, own.threads)) return null;
  const { bias } = epilogue;
  const outC = info.outChannels;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const paddedOut = Math.ceil(outC / 8) * 8;
  const out = alloc(backend, info.outShape);
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0 || outC === 0) return out;
  const packed = alloc(backend, [packedSize(k, outC)]);
  // inC zeros read under padding taps, then the bias padded to whole 8-column panels.
  const aux = alloc(backend, [info.inChannels + paddedOut]);
  const [, xOff] = heapF32(backend, x);
  const [, fOff] = heapF32(backend, filter);
  const [, pOff] = heapF32(backend, packed);
  const [, outOff] = heapF32(backend, out);
  const [heap, auxOff] = heapF32(backend, aux);
  heap.fill(0, auxOff, auxOff + info.inChannels + paddedOut);
  let biasOff = -1;
  if (bias != null) {
    biasOff = auxOff + info.inChannels;
    const [, bOff] = heapF32(backend, bias);
    heap.copyWithin(biasOff, bOff, bOff + outC);
  }
  own.gemmPackB(fOff, outC, k, outC, pOff, 0, paddedOut / 8);
  own.convNHWC(xOff, auxOff, pOff, biasOff, outOff, info, epilogue.relu, 0, pixels);
  release(backend, packed);
  release(backend, aux);
  return out;
}
