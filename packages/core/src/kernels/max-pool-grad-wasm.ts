/**
 * MaxPoolGrad for the wasm backend: one pass over the pooling windows that routes each
 * output gradient to its window's first maximum above -Infinity (row-major order, NaN
 * skipped, nowhere when the window holds nothing else: as tfjs's cpu kernel does, which
 * matters after a relu where whole windows tie at zero). The stock wasm kernel
 * takes 10-40 ms per VanResNet pool; this takes a few. resnet-ts's own SIMD kernels run it
 * (2x2 windows with stride 2 in a kernel of their own), the loops below where they cannot.
 * The gradient of relu(maxPool(x)) (max-pool-relu.ts) runs here too: ReLU's gradient in the
 * 2x2 kernel's pass, before the routing elsewhere.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { windows2x2 } from './max-pool-wasm.js';
import { ownWasmKernels } from './own-wasm.js';
import { reluGradWasm } from './relu-grad-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

/** The wasm MaxPoolGrad kernel. */
export function maxPoolGradWasm(args: {
  inputs: MaxPoolGradInputs;
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  return maxPoolGrad(backend, inputs.dy as TensorInfo, inputs.input as TensorInfo, attrs, null);
}

/**
 * The wasm kernel of relu(maxPool(x))'s gradient (max-pool-relu.ts): dy, x and the op's
 * output y; MaxPoolGrad of dy · step(y).
 */
export function maxPoolReluGradWasm(args: {
  inputs: { dy: TensorInfo; x: TensorInfo; y: TensorInfo };
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  return maxPoolGrad(backend, inputs.dy, inputs.x, attrs, inputs.y);
}

/** MaxPoolGrad of dy, or of dy · step(relu) where `relu` is given. */
function maxPoolGrad(
  backend: BackendWasm,
  dy: TensorInfo,
  input: TensorInfo,
  attrs: MaxPoolGradAttrs,
  relu: TensorInfo | null,
): TensorInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const own = ownWasmKernels(backend);
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const twoByTwo = windows2x2(info);
  if (relu != null && (own == null || !twoByTwo)) {
    const g = reluGradWasm({ inputs: { dy, x: relu }, backend });
    const dx = maxPoolGrad(backend, g, input, attrs, null);
    release(backend, g);
    return dx;
  }
  const dx = alloc(backend, input.shape);
  const [heap, xOff] = heapF32(backend, input);
  const [, dyOff] = heapF32(backend, dy);
  const [, dxOff] = heapF32(backend, dx);
  const xRow = inWidth * ch;
  const xImage = inHeight * xRow;
  if (twoByTwo) {
    // Non-overlapping windows write every covered cell exactly once, so only the rows and
    // columns no window covers need clearing.
    if (inHeight !== 2 * outHeight || inWidth !== 2 * outWidth) {
      heap.fill(0, dxOff, dxOff + batchSize * xImage);
    }
    if (own) {
      const reluOff = relu == null ? -1 : heapF32(backend, relu)[1];
      own.maxPoolGrad2x2(
        xOff,
        dyOff,
        reluOff,
        dxOff,
        batchSize,
        outHeight,
        outWidth,
        ch,
        xRow,
        xImage,
      );
    } else {
      pool2x2(heap, xOff, dyOff, dxOff, batchSize, outHeight, outWidth, ch, xRow, xImage);
    }
    return dx;
  }
  if (own) {
    own.maxPoolGradNHWC(xOff, dyOff, dxOff, info);
    return dx;
  }
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
              if (v > best) {
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

function pool2x2(
  heap: Float32Array,
  xOff: number,
  dyOff: number,
  dxOff: number,
  batchSize: number,
  outHeight: number,
  outWidth: number,
  ch: number,
  xRow: number,
  xImage: number,
): void {
  let g = dyOff;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const p00 = b * xImage + 2 * oy * xRow + 2 * ox * ch;
        const p01 = p00 + ch;
        const p10 = p00 + xRow;
        const p11 = p10 + ch;
        for (let c = 0; c < ch; c++, g++) {
          const v00 = heap[xOff + p00 + c];
          const v01 = heap[xOff + p01 + c];
          const v10 = heap[xOff + p10 + c];
          const v11 = heap[xOff + p11 + c];
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          if (v00 > best) {
            best = v00;
            at = 0;
          }
          if (v01 > best) {
            best = v01;
            at = 1;
          }
          if (v10 > best) {
            best = v10;
            at = 2;
          }
          if (v11 > best) at = 3;
          const d = heap[g];
          heap[dxOff + p00 + c] = at === 0 ? d : 0;
          heap[dxOff + p01 + c] = at === 1 ? d : 0;
          heap[dxOff + p10 + c] = at === 2 ? d : 0;
          heap[dxOff + p11 + c] = at === 3 ? d : 0;
        }
      }
    }
  }
}
