/**
 * Patch matrices for convolution gradients: im2col in transposed form, where every (filter
 * tap, input channel) pair is one row over all output positions, built from a channels-first
 * copy of the input so that each row is made of contiguous runs; and col2im, its adjoint in
 * the ordinary layout.
 */
import type { backend_util } from '@tensorflow/tfjs-core';

/**
 * Writes the transposed patch matrix [fh * fw * inChannels, images * outHeight * outWidth]
 * of images [firstImage, endImage) (rows in HWC order, matching an HWIO filter) at element
 * offset `colOff`, reading the input in CNHW layout ([inChannels, batch, inHeight, inWidth])
 * at `xOff`.
 */
export function im2colTransposedCNHW(
  heap: Float32Array,
  xOff: number,
  colOff: number,
  info: backend_util.Conv2DInfo,
  firstImage = 0,
  endImage = info.batchSize,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const plane = inHeight * inWidth;
  let o = colOff;
  for (let ky = 0; ky < info.filterHeight; ky++) {
    for (let kx = 0; kx < info.filterWidth; kx++) {
      // Output columns whose input column lies inside the image; the rest read padding.
      const shift = kx * dw - padLeft;
      let oxLo = 0;
      while (oxLo < outWidth && oxLo * sw + shift < 0) oxLo++;
      let oxHi = outWidth;
      while (oxHi > oxLo && (oxHi - 1) * sw + shift >= inWidth) oxHi--;
      for (let c = 0; c < inChannels; c++) {
        for (let b = firstImage; b < endImage; b++) {
          const image = xOff + (c * batchSize + b) * plane;
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * sh - padTop + ky * dh;
            if (iy < 0 || iy >= inHeight) {
              heap.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            const src = image + iy * inWidth + shift;
            for (let ox = 0; ox < oxLo; ox++) heap[o + ox] = 0;
            if (sw === 1) {
              for (let ox = oxLo; ox < oxHi; ox++) heap[o + ox] = heap[src + ox];
            } else {
              for (let ox = oxLo; ox < oxHi; ox++) heap[o + ox] = heap[src + ox * sw];
            }
            for (let ox = oxHi; ox < outWidth; ox++) heap[o + ox] = 0;
            o += outWidth;
          }
        }
      }
    }
  }
}

/**
 * col2im for NHWC: adds every patch row of `cols` [batch * outHeight * outWidth,
 * fh * fw * inChannels] (at `colOff`) back into an NHWC image (at `xOff`, overwritten) where the patch was read from.
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
