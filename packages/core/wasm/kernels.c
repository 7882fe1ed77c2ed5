// resnet-ts's own wasm kernels: the data movement around XNNPACK's matrix products in the
// convolution gradients (src/kernels/im2col.ts has the same loops in JavaScript and says
// what they compute). Compiled against tfjs-backend-wasm's linear memory, which the module
// imports, so pointers are byte offsets into the backend's heap. Nothing here may touch a
// stack or static data in that memory: no arrays on the stack, no globals, no libc.
#include <wasm_simd128.h>

#include "relu_grad.h"

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

// Rows [r0, r1) of the transposed patch matrix [fh * fw * inC, (b1 - b0) * outH * outW] of
// images [b0, b1), read from x in CNHW layout ([inC, batch, inH, inW]); row r is filter tap
// r / inC (row-major) and input channel r % inC, written at col + r * its length, so threads
// can each fill a range of rows.
__attribute__((export_name("im2col_t_cnhw"))) void im2col_t_cnhw(
    const float *x, float *col, int batch, int inH, int inW, int inC, int outH, int outW,
    int fh, int fw, int sh, int sw, int dh, int dw, int padTop, int padLeft, int b0, int b1,
    int r0, int r1) {
  const int plane = inH * inW;
  float *o = col + (size_t)r0 * (b1 - b0) * outH * outW;
  for (int r = r0; r < r1; r++) {
    const int c = r % inC;
    const int tap = r / inC;
    const int ky = tap / fw;
    const int kx = tap % fw;
    const int shift = kx * dw - padLeft;
    int lo = 0;
    while (lo < outW && lo * sw + shift < 0) lo++;
    int hi = outW;
    while (hi > lo && (hi - 1) * sw + shift >= inW) hi--;
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

// col2im for NHWC, images [b0, b1): adds every patch row of cols [batch * outH * outW,
// fh * fw * inC] back into x (overwritten) where the patch was read from. An image's patches
// land in that image only, so threads can each take a range of images.
__attribute__((export_name("col2im_nhwc"))) void col2im_nhwc(
    const float *cols, float *x, int batch, int inH, int inW, int inC, int outH, int outW,
    int fh, int fw, int sh, int sw, int dh, int dw, int padTop, int padLeft, int b0, int b1) {
  const int xRow = inW * inC;
  const int xImage = inH * xRow;
  zero_run(x + (size_t)b0 * xImage, (b1 - b0) * xImage);
  const float *o = cols + (size_t)b0 * outH * outW * fh * fw * inC;
  for (int b = b0; b < b1; b++) {
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

static inline v128_t promote_high(v128_t v) {
  return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
}

// acc[c] += sum over rows r of x[r * cols + c], in float64 (acc holds cols doubles).
__attribute__((export_name("sum_rows"))) void sum_rows(const float *x, double *acc, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    const float *row = x + (size_t)r * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v128_t v = wasm_v128_load(row + c);
      wasm_v128_store(acc + c, wasm_f64x2_add(wasm_v128_load(acc + c), wasm_f64x2_promote_low_f32x4(v)));
      wasm_v128_store(acc + c + 2, wasm_f64x2_add(wasm_v128_load(acc + c + 2), promote_high(v)));
    }
    for (; c < cols; c++) acc[c] += row[c];
  }
}

// Batch-norm backward, first pass over NHWC rows: sumDy[c] += dy, sumDyXmu[c] += dy * (x -
// mean[c]), in float64.
__attribute__((export_name("bn_grad_sums"))) void bn_grad_sums(
    const float *dy, const float *x, const float *mean, double *sumDy, double *sumDyXmu,
    int rows, int ch) {
  for (int r = 0; r < rows; r++) {
    const float *d = dy + (size_t)r * ch;
    const float *xr = x + (size_t)r * ch;
    int c = 0;
    for (; c + 4 <= ch; c += 4) {
      const v128_t dv = wasm_v128_load(d + c);
      const v128_t xv = wasm_v128_load(xr + c);
      const v128_t mv = wasm_v128_load(mean + c);
      const v128_t dlo = wasm_f64x2_promote_low_f32x4(dv);
      const v128_t dhi = promote_high(dv);
      const v128_t xmlo = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(xv), wasm_f64x2_promote_low_f32x4(mv));
      const v128_t xmhi = wasm_f64x2_sub(promote_high(xv), promote_high(mv));
      wasm_v128_store(sumDy + c, wasm_f64x2_add(wasm_v128_load(sumDy + c), dlo));
      wasm_v128_store(sumDy + c + 2, wasm_f64x2_add(wasm_v128_load(sumDy + c + 2), dhi));
      wasm_v128_store(sumDyXmu + c, wasm_f64x2_add(wasm_v128_load(sumDyXmu + c), wasm_f64x2_mul(dlo, xmlo)));
      wasm_v128_store(sumDyXmu + c + 2, wasm_f64x2_add(wasm_v128_load(sumDyXmu + c + 2), wasm_f64x2_mul(dhi, xmhi)));
    }
    for (; c < ch; c++) {
      const double dd = d[c];
      sumDy[c] += dd;
      sumDyXmu[c] += dd * ((double)xr[c] - (double)mean[c]);
    }
  }
}

// Batch-norm backward, second pass: dx = a[c] * (dy - b[c] - (x - mean[c]) * g[c]).
__attribute__((export_name("bn_grad_dx"))) void bn_grad_dx(
    const float *dy, const float *x, const float *mean, const float *a, const float *b,
    const float *g, float *dx, int rows, int ch) {
  for (int r = 0; r < rows; r++) {
    const size_t p = (size_t)r * ch;
    int c = 0;
    for (; c + 4 <= ch; c += 4) {
      const v128_t xm = wasm_f32x4_sub(wasm_v128_load(x + p + c), wasm_v128_load(mean + c));
      const v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(dy + p + c), wasm_v128_load(b + c)),
                                      wasm_f32x4_mul(xm, wasm_v128_load(g + c)));
      wasm_v128_store(dx + p + c, wasm_f32x4_mul(wasm_v128_load(a + c), t));
    }
    for (; c < ch; c++) dx[p + c] = a[c] * (dy[p + c] - b[c] - (x[p + c] - mean[c]) * g[c]);
  }
}

// MaxPoolGrad for 2x2 windows with stride 2 inside the image (NHWC): every output gradient
// goes to its window's first maximum above -Infinity in row-major order, NaN skipped (none
// where the window holds nothing else, as in tfjs's cpu kernel); the other cells get 0.
// With `relu` (the pool's output through a ReLU, laid out as dy), each gradient is first
// dy * relu_step(relu) as relu_grad_f32 computes it: the gradient of relu(maxPool(x)).
__attribute__((export_name("max_pool_grad_2x2"))) void max_pool_grad_2x2(
    const float *x, const float *dy, const float *relu, float *dx, int batch, int outH, int outW,
    int ch, int xRow, int xImage) {
  const float *g = dy;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff());
  for (int b = 0; b < batch; b++) {
    for (int oy = 0; oy < outH; oy++) {
      for (int ox = 0; ox < outW; ox++) {
        const size_t p00 = (size_t)b * xImage + 2 * oy * xRow + 2 * ox * ch;
        const size_t p01 = p00 + ch, p10 = p00 + xRow, p11 = p10 + ch;
        int c = 0;
        for (; c + 4 <= ch; c += 4, g += 4) {
          const v128_t v00 = wasm_v128_load(x + p00 + c), v01 = wasm_v128_load(x + p01 + c);
          const v128_t v10 = wasm_v128_load(x + p10 + c), v11 = wasm_v128_load(x + p11 + c);
          const v128_t m0 = wasm_f32x4_gt(v00, lowest);
          const v128_t b0 = wasm_v128_bitselect(v00, lowest, m0);
          const v128_t m1 = wasm_f32x4_gt(v01, b0);
          const v128_t b1 = wasm_v128_bitselect(v01, b0, m1);
          const v128_t m2 = wasm_f32x4_gt(v10, b1);
          const v128_t b2 = wasm_v128_bitselect(v10, b1, m2);
          const v128_t m3 = wasm_f32x4_gt(v11, b2);
          v128_t d = wasm_v128_load(g);
          if (relu) d = wasm_f32x4_mul(d, relu_step4(wasm_v128_load(relu + (g - dy))));
          const v128_t at3 = m3;
          const v128_t at2 = wasm_v128_andnot(m2, m3);
          const v128_t at1 = wasm_v128_andnot(wasm_v128_andnot(m1, m2), m3);
          const v128_t at0 = wasm_v128_andnot(wasm_v128_andnot(wasm_v128_andnot(m0, m1), m2), m3);
          wasm_v128_store(dx + p00 + c, wasm_v128_bitselect(d, zero, at0));
          wasm_v128_store(dx + p01 + c, wasm_v128_bitselect(d, zero, at1));
          wasm_v128_store(dx + p10 + c, wasm_v128_bitselect(d, zero, at2));
          wasm_v128_store(dx + p11 + c, wasm_v128_bitselect(d, zero, at3));
        }
        for (; c < ch; c++, g++) {
          const float v00 = x[p00 + c], v01 = x[p01 + c], v10 = x[p10 + c], v11 = x[p11 + c];
          float best = -__builtin_inff();
          int at = -1;
          if (v00 > best) { best = v00; at = 0; }
          if (v01 > best) { best = v01; at = 1; }
          if (v10 > best) { best = v10; at = 2; }
          if (v11 > best) at = 3;
          const float d = relu ? *g * relu_step(relu[g - dy]) : *g;
          dx[p00 + c] = at == 0 ? d : 0.0f;
          dx[p01 + c] = at == 1 ? d : 0.0f;
          dx[p10 + c] = at == 2 ? d : 0.0f;
          dx[p11 + c] = at == 3 ? d : 0.0f;
        }
      }
    }
  }
}
