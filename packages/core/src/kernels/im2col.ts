/**
 * im2col for NHWC input: every output position's receptive field becomes one row of
 * `fh * fw * inChannels` values (HWC order, zeros where the window hangs over the padding),
 * so a convolution's filter gradient becomes one matrix product.
 */
import type { backend_util } from '@tensorflow/tfjs-core';

/**
 * Writes the patches of `x` (at element offset `xOff` of `heap`) into `cols` (at `colOff`):
 * [batch * outHeight * outWidth, fh * fw * inChannels].
 */
export function im2colNHWC(
  heap: Float32Array,
  xOff: number,
  colOff: number,
  info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const xRow = inWidth * inChannels;
  const xImage = inHeight * xRow;
  let o = colOff;
  for (let b = 0; b < batchSize; b++) {
    const xb = xOff + b * xImage;
    for (let oy = 0; oy < outHeight; oy++) {
      const iy0 = oy * strideHeight - padTop;
      for (let ox = 0; ox < outWidth; ox++) {
        const ix0 = ox * strideWidth - padLeft;
        for (let ky = 0; ky < fh; ky++) {
          const iy = iy0 + ky * dilationHeight;
          if (iy < 0 || iy >= inHeight) {
            heap.fill(0, o, o + fw * inChannels);
            o += fw * inChannels;
            continue;
          }
          const xr = xb + iy * xRow;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ix0 + kx * dilationWidth;
            if (ix < 0 || ix >= inWidth) {
              for (let c = 0; c < inChannels; c++) heap[o + c] = 0;
            } else {
              const s = xr + ix * inChannels;
              for (let c = 0; c < inChannels; c++) heap[o + c] = heap[s + c];
            }
            o += inChannels;
          }
        }
      }
    }
  }
}

/**
 * The adjoint of `im2colNHWC`: adds every patch row of `cols` (at `colOff`) back into an
 * NHWC image (at `xOff`, overwritten) where the patch was read from.
 */
export function col2imNHWC(
  heap: Float32Array,
  colOff: number,
  xOff: number,
  info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const fh = info.filterHeight;
  const fw = info.filterWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const xRow = inWidth * inChannels;
  const xImage = inHeight * xRow;
  heap.fill(0, xOff, xOff + batchSize * xImage);
  let o = colOff;
  for (let b = 0; b < batchSize; b++) {
    const xb = xOff + b * xImage;
    for (let oy = 0; oy < outHeight; oy++) {
      const iy0 = oy * strideHeight - padTop;
      for (let ox = 0; ox < outWidth; ox++) {
        const ix0 = ox * strideWidth - padLeft;
        for (let ky = 0; ky < fh; ky++) {
          const iy = iy0 + ky * dilationHeight;
          if (iy < 0 || iy >= inHeight) {
            o += fw * inChannels;
            continue;
          }
          const xr = xb + iy * xRow;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ix0 + kx * dilationWidth;
            if (ix >= 0 && ix < inWidth) {
              const d = xr + ix * inChannels;
              for (let c = 0; c < inChannels; c++) heap[d + c] += heap[o + c];
            }
            o += inChannels;
          }
        }
      }
    }
  }
}
