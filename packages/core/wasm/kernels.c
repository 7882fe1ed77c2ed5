// resnet-ts's own wasm kernels: the data movement around XNNPACK's matrix products in the
// convolution gradients (src/kernels/im2col.ts has the same loops in JavaScript and says
// what they compute). Compiled against tfjs-backend-wasm's linear memory, which the module
// imports, so pointers are byte offsets into the backend's heap. Nothing here may touch a
// stack or static data in that memory: no arrays on the stack, no globals, no libc.
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

static inline void copy_run(float *restrict dst, const float *restrict src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

static inline void zero_run(float *dst, int n) {
  int i = 0;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, z);
  for (; i < n; i++) dst[i] = 0.0f;
}

// The transposed patch matrix [fh * fw * inC, (b1 - b0) * outH * outW] of images [b0, b1),
// read from x in CNHW layout ([inC, batch, inH, inW]).
__attribute__((export_name("im2col_t_cnhw"))) void im2col_t_cnhw(
    const float *x, float *col, int batch, int inH, int inW, int inC, int outH, int outW,
    int fh, int fw, int sh, int sw, int dh, int dw, int padTop, int padLeft, int b0, int b1) {
  const int plane = inH * inW;
  float *o = col;
  for (int ky = 0; ky < fh; ky++) {
    for (int kx = 0; kx < fw; kx++) {
      const int shift = kx * dw - padLeft;
      int lo = 0;
      while (lo < outW && lo * sw + shift < 0) lo++;
      int hi = outW;
      while (hi > lo && (hi - 1) * sw + shift >= inW) hi--;
      for (int c = 0; c < inC; c++) {
        for (int b = b0; b < b1; b++) {
          const float *image = x + (size_t)(c * batch + b) * plane;
          for (int oy = 0; oy < outH; oy++) {
            const int iy = oy * sh - padTop + ky * dh;
            if (iy < 0 || iy >= inH) {
              zero_run(o, outW);
              o += outW;
              continue;
            }
            const float *src = image + iy * inW + shift;
            for (int ox = 0; ox < lo; ox++) o[ox] = 0.0f;
            if (sw == 1) {
              copy_run(o + lo, src + lo, hi - lo);
            } else {
              for (int ox = lo; ox < hi; ox++) o[ox] = src[ox * sw];
            }
            for (int ox = hi; ox < outW; ox++) o[ox] = 0.0f;
            o += outW;
          }
        }
      }
    }
  }
}

// col2im for NHWC: adds every patch row of cols [batch * outH * outW, fh * fw * inC] back
// into x (overwritten) where the patch was read from.
__attribute__((export_name("col2im_nhwc"))) void col2im_nhwc(
    const float *cols, float *x, int batch, int inH, int inW, int inC, int outH, int outW,
    int fh, int fw, int sh, int sw, int dh, int dw, int padTop, int padLeft) {
  const int xRow = inW * inC;
  const int xImage = inH * xRow;
  zero_run(x, batch * xImage);
  const float *o = cols;
  for (int b = 0; b < batch; b++) {
    float *xb = x + (size_t)b * xImage;
    for (int oy = 0; oy < outH; oy++) {
      const int iy0 = oy * sh - padTop;
      for (int ox = 0; ox < outW; ox++) {
        const int ix0 = ox * sw - padLeft;
        for (int ky = 0; ky < fh; ky++) {
          const int iy = iy0 + ky * dh;
          if (iy < 0 || iy >= inH) {
            o += fw * inC;
            continue;
          }
          float *xr = xb + iy * xRow;
          for (int kx = 0; kx < fw; kx++) {
            const int ix = ix0 + kx * dw;
            if (ix >= 0 && ix < inW) {
              float *restrict d = xr + ix * inC;
              int c = 0;
              for (; c + 4 <= inC; c += 4) {
                wasm_v128_store(d + c, wasm_f32x4_add(wasm_v128_load(d + c), wasm_v128_load(o + c)));
              }
              for (; c < inC; c++) d[c] += o[c];
            }
            o += inC;
          }
        }
      }
    }
  }
}

// dst[i] += src[i] for i < n: summing partial filter gradients.
__attribute__((export_name("add_into"))) void add_into(float *restrict dst, const float *restrict src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  }
  for (; i < n; i++) dst[i] += src[i];
}
