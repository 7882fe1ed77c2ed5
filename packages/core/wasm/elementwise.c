// resnet-ts's own elementwise wasm kernels: the batch-norm normalisation, the 2x2 max pool,
// ReLU, Step and the float32 sums, differences and products of a training step, each over a
// range of elements or rows so that threads can share a call (src/kernels/own-wasm.ts). They
// compute what tfjs's cpu backend computes, NaN included. Like kernels.c: pointers are byte
// offsets into the backend's heap, and nothing here may touch a stack or static data.
#include <wasm_simd128.h>

#include "relu_grad.h"

typedef __SIZE_TYPE__ size_t;

enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2 };

static inline void zero_fill(float *dst, size_t n) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, z);
  for (; i < n; i++) dst[i] = 0.0f;
}

static inline v128_t apply(int op, v128_t a, v128_t b) {
  return op == OP_ADD ? wasm_f32x4_add(a, b) : op == OP_SUB ? wasm_f32x4_sub(a, b) : wasm_f32x4_mul(a, b);
}

static inline float apply1(int op, float a, float b) {
  return op == OP_ADD ? a + b : op == OP_SUB ? a - b : a * b;
}

// M(OP, ...) expanded once per operation, with OP the constant for `op`: each loop is
// compiled per operation, so that the choice is made outside it.
#define FOR_OP(M, ...)          \
  if (op == OP_ADD) {           \
    M(OP_ADD, ##__VA_ARGS__)    \
  } else if (op == OP_SUB) {    \
    M(OP_SUB, ##__VA_ARGS__)    \
  } else {                      \
    M(OP_MUL, ##__VA_ARGS__)    \
  }

#define SAME_SHAPE(OP)                                                                       \
  _Pragma("clang loop unroll_count(4)")                                                      \
  for (; i + 4 <= n; i += 4)                                                                 \
    wasm_v128_store(out + i, apply(OP, wasm_v128_load(a + i), wasm_v128_load(b + i)));     \
  for (; i < n; i++) out[i] = apply1(OP, a[i], b[i]);

// out[i] = a[i] op b[i] for i < n (op: 0 add, 1 subtract, 2 multiply).
__attribute__((export_name("binary_f32"))) void binary_f32(
    int op, const float *a, const float *b, float *out, int n) {
  int i = 0;
  FOR_OP(SAME_SHAPE)
}

#define BY_CHANNEL(OP, FIRST)                                                                \
  for (int r = 0; r < rows; r++) {                                                           \
    const float *ar = a + (size_t)r * ch;                                                    \
    float *o = out + (size_t)r * ch;                                                         \
    int c = 0;                                                                               \
    _Pragma("clang loop unroll_count(4)")                                                    \
    for (; c + 4 <= ch; c += 4) {                                                            \
      const v128_t x = wasm_v128_load(ar + c), w = wasm_v128_load(v + c);                   \
      wasm_v128_store(o + c, FIRST ? apply(OP, w, x) : apply(OP, x, w));                    \
    }                                                                                        \
    for (; c < ch; c++) o[c] = FIRST ? apply1(OP, v[c], ar[c]) : apply1(OP, ar[c], v[c]);   \
  }

// out[r, c] = a[r, c] op v[c] over `rows` rows of `ch` channels, or v[c] op a[r, c] when
// `vFirst`: a per-channel vector broadcast over the last axis.
__attribute__((export_name("binary_channel_f32"))) void binary_channel_f32(
    int op, int vFirst, const float *a, const float *v, float *out, int rows, int ch) {
  if (vFirst) {
    FOR_OP(BY_CHANNEL, 1)
  } else {
    FOR_OP(BY_CHANNEL, 0)
  }
}

#define BY_ROW(OP, FIRST)                                                                    \
  for (int r = 0; r < rows; r++) {                                                           \
    const float *ar = a + (size_t)r * ch;                                                    \
    float *o = out + (size_t)r * ch;                                                         \
    const float s = v[(size_t)r * vStride];                                                  \
    const v128_t w = wasm_f32x4_splat(s);                                                    \
    int c = 0;                                                                               \
    _Pragma("clang loop unroll_count(4)")                                                    \
    for (; c + 4 <= ch; c += 4) {                                                            \
      const v128_t x = wasm_v128_load(ar + c);                                               \
      wasm_v128_store(o + c, FIRST ? apply(OP, w, x) : apply(OP, x, w));                    \
    }                                                                                        \
    for (; c < ch; c++) o[c] = FIRST ? apply1(OP, s, ar[c]) : apply1(OP, ar[c], s);         \
  }

// out[r, c] = a[r, c] op v[r * vStride] over `rows` rows of `ch` (v[...] op a[r, c] when
// `vFirst`): a value per row broadcast over the last axis, or one scalar (vStride 0).
__attribute__((export_name("binary_row_f32"))) void binary_row_f32(
    int op, int vFirst, const float *a, const float *v, int vStride, float *out, int rows,
    int ch) {
  if (vFirst) {
    FOR_OP(BY_ROW, 1)
  } else {
    FOR_OP(BY_ROW, 0)
  }
}

// out = max(0, x), NaN kept and -0 made +0, as Math.max(0, x) does: pmax(x, 0) is x < 0 ?
// 0 : x (one maxps on x86, where f32x4.max takes several to order NaN and zeros), and
// adding +0 turns -0 into +0 and leaves every other value as it is.
__attribute__((export_name("relu_f32"))) void relu_f32(const float *x, float *out, int n) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  int i = 0;
#pragma clang loop unroll_count(4)
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(out + i, wasm_f32x4_add(wasm_f32x4_pmax(wasm_v128_load(x + i), zero), zero));
  }
  for (; i < n; i++) out[i] = __builtin_wasm_max_f32(0.0f, x[i]);
}

// out = x * x.
__attribute__((export_name("square_f32"))) void square_f32(const float *x, float *out, int n) {
  int i = 0;
#pragma clang loop unroll_count(4)
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    wasm_v128_store(out + i, wasm_f32x4_mul(v, v));
  }
  for (; i < n; i++) out[i] = x[i] * x[i];
}

// out = x > 0 ? 1 : alpha, NaN where x is NaN.
__attribute__((export_name("step_f32"))) void step_f32(const float *x, float *out, int n, float alpha) {
  const v128_t one = wasm_f32x4_splat(1.0f), low = wasm_f32x4_splat(alpha);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  int i = 0;
#pragma clang loop unroll_count(4)
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t s = wasm_v128_bitselect(one, low, wasm_f32x4_gt(v, zero));
    wasm_v128_store(out + i, wasm_v128_bitselect(v, s, wasm_f32x4_ne(v, v)));
  }
  for (; i < n; i++) out[i] = x[i] != x[i] ? x[i] : x[i] > 0.0f ? 1.0f : alpha;
}

// Training-mode batch norm's normalisation over NHWC rows: y = (x - mean[c]) * a[c] +
// offset[c], with a = scale / sqrt(variance + epsilon) computed by the caller.
__attribute__((export_name("batch_norm_f32"))) void batch_norm_f32(
    const float *x, const float *mean, const float *a, const float *offset, float *y, int rows,
    int ch) {
  for (int r = 0; r < rows; r++) {
    const size_t p = (size_t)r * ch;
    int c = 0;
#pragma clang loop unroll_count(4)
    for (; c + 4 <= ch; c += 4) {
      const v128_t xm = wasm_f32x4_sub(wasm_v128_load(x + p + c), wasm_v128_load(mean + c));
      wasm_v128_store(y + p + c, wasm_f32x4_add(wasm_f32x4_mul(xm, wasm_v128_load(a + c)), wasm_v128_load(offset + c)));
    }
    for (; c < ch; c++) y[p + c] = (x[p + c] - mean[c]) * a[c] + offset[c];
  }
}

// MaxPool of 2x2 windows with stride 2 inside the image (NHWC), output rows [r0, r1) of
// batch * outH: the largest value above -Infinity, NaN skipped (so -Infinity where a
// window holds nothing else), as tfjs's cpu kernel computes it. f32x4.pmax(m, v) is
// m < v ? v : m, which keeps m when v is NaN. Where `relu`, each maximum then goes through
// relu_f32's max(0, m).
__attribute__((export_name("max_pool_2x2"))) void max_pool_2x2(
    const float *x, float *y, int outH, int outW, int ch, int xRow, int xImage, int relu, int r0,
    int r1) {
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff());
  const v128_t zero = wasm_f32x4_splat(0.0f);
  float *o = y + (size_t)r0 * outW * ch;
  for (int r = r0; r < r1; r++) {
    const int b = r / outH, oy = r % outH;
    const float *row = x + (size_t)b * xImage + (size_t)2 * oy * xRow;
    for (int ox = 0; ox < outW; ox++, o += ch) {
      const float *p00 = row + (size_t)2 * ox * ch, *p01 = p00 + ch;
      const float *p10 = p00 + xRow, *p11 = p10 + ch;
      int c = 0;
      for (; c + 4 <= ch; c += 4) {
        v128_t m = wasm_f32x4_pmax(lowest, wasm_v128_load(p00 + c));
        m = wasm_f32x4_pmax(m, wasm_v128_load(p01 + c));
        m = wasm_f32x4_pmax(m, wasm_v128_load(p10 + c));
        m = wasm_f32x4_pmax(m, wasm_v128_load(p11 + c));
        if (relu) m = wasm_f32x4_add(wasm_f32x4_pmax(m, zero), zero);
        wasm_v128_store(o + c, m);
      }
      for (; c < ch; c++) {
        float m = -__builtin_inff();
        if (p00[c] > m) m = p00[c];
        if (p01[c] > m) m = p01[c];
        if (p10[c] > m) m = p10[c];
        if (p11[c] > m) m = p11[c];
        o[c] = relu ? __builtin_wasm_max_f32(0.0f, m) : m;
      }
    }
  }
}

// ReLU's gradient in one pass: dy * step(x), as tfjs's gradient computes it (NaN where x or
// dy is NaN, 0 * dy where x <= 0).
__attribute__((export_name("relu_grad_f32"))) void relu_grad_f32(
    const float *dy, const float *x, float *out, int n) {
  int i = 0;
#pragma clang loop unroll_count(4)
  for (; i + 4 <= n; i += 4) {
    const v128_t s = relu_step4(wasm_v128_load(x + i));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (; i < n; i++) out[i] = dy[i] * relu_step(x[i]);
}

// MaxPool of any window and stride (no dilation) over NHWC, windows clipped to the image
// (the padding holds no values): output rows [r0, r1) of batch * outH, each the largest value
// above -Infinity in its window, NaN skipped, as tfjs's cpu kernel computes it.
__attribute__((export_name("max_pool_nhwc"))) void max_pool_nhwc(
    const float *x, float *y, int inH, int inW, int ch, int outH, int outW, int fh, int fw,
    int sh, int sw, int padTop, int padLeft, int r0, int r1) {
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff());
  const size_t xRow = (size_t)inW * ch;
  float *o = y + (size_t)r0 * outW * ch;
  for (int r = r0; r < r1; r++) {
    const int b = r / outH, oy = r % outH;
    const float *image = x + (size_t)b * inH * xRow;
    const int y0 = oy * sh - padTop;
    const int yLo = y0 < 0 ? 0 : y0, yHi = y0 + fh > inH ? inH : y0 + fh;
    for (int ox = 0; ox < outW; ox++, o += ch) {
      const int x0 = ox * sw - padLeft;
      const int xLo = x0 < 0 ? 0 : x0, xHi = x0 + fw > inW ? inW : x0 + fw;
      // Sixteen channels at a time in registers over the whole window, then four, then one.
      int c = 0;
      for (; c + 16 <= ch; c += 16) {
        v128_t m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
        for (int iy = yLo; iy < yHi; iy++) {
          for (int ix = xLo; ix < xHi; ix++) {
            const float *p = image + iy * xRow + (size_t)ix * ch + c;
            m0 = wasm_f32x4_pmax(m0, wasm_v128_load(p));
            m1 = wasm_f32x4_pmax(m1, wasm_v128_load(p + 4));
            m2 = wasm_f32x4_pmax(m2, wasm_v128_load(p + 8));
            m3 = wasm_f32x4_pmax(m3, wasm_v128_load(p + 12));
          }
        }
        wasm_v128_store(o + c, m0);
        wasm_v128_store(o + c + 4, m1);
        wasm_v128_store(o + c + 8, m2);
        wasm_v128_store(o + c + 12, m3);
      }
      for (; c + 4 <= ch; c += 4) {
        v128_t m = lowest;
        for (int iy = yLo; iy < yHi; iy++) {
          for (int ix = xLo; ix < xHi; ix++) {
            m = wasm_f32x4_pmax(m, wasm_v128_load(image + iy * xRow + (size_t)ix * ch + c));
          }
        }
        wasm_v128_store(o + c, m);
      }
      for (; c < ch; c++) {
        float m = -__builtin_inff();
        for (int iy = yLo; iy < yHi; iy++) {
          for (int ix = xLo; ix < xHi; ix++) {
            const float v = image[iy * xRow + (size_t)ix * ch + c];
            if (v > m) m = v;
          }
        }
        o[c] = m;
      }
    }
  }
}

// MaxPoolGrad of any window and stride (no dilation) over NHWC, images [b0, b1): dx
// (overwritten) gets each output gradient at its window's first maximum above -Infinity in
// row-major order, NaN skipped (nowhere when the window holds nothing else), summed over
// the windows in output order as max-pool-grad-wasm.ts's loop sums them.
__attribute__((export_name("max_pool_grad_nhwc"))) void max_pool_grad_nhwc(
    const float *x, const float *dy, float *dx, int inH, int inW, int ch, int outH, int outW,
    int fh, int fw, int sh, int sw, int padTop, int padLeft, int b0, int b1) {
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff());
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const size_t xRow = (size_t)inW * ch, xImage = (size_t)inH * xRow;
  zero_fill(dx + (size_t)b0 * xImage, (size_t)(b1 - b0) * xImage);
  const float *g = dy + (size_t)b0 * outH * outW * ch;
  for (int b = b0; b < b1; b++) {
    const float *image = x + (size_t)b * xImage;
    float *dImage = dx + (size_t)b * xImage;
    for (int oy = 0; oy < outH; oy++) {
      const int y0 = oy * sh - padTop;
      const int yLo = y0 < 0 ? 0 : y0, yHi = y0 + fh > inH ? inH : y0 + fh;
      for (int ox = 0; ox < outW; ox++, g += ch) {
        const int x0 = ox * sw - padLeft;
        const int xLo = x0 < 0 ? 0 : x0, xHi = x0 + fw > inW ? inW : x0 + fw;
        int c = 0;
        for (; c + 4 <= ch; c += 4) {
          v128_t best = lowest, at = wasm_i32x4_splat(-1);
          int k = 0;
          for (int iy = yLo; iy < yHi; iy++) {
            for (int ix = xLo; ix < xHi; ix++, k++) {
              const v128_t v = wasm_v128_load(image + iy * xRow + (size_t)ix * ch + c);
              const v128_t m = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, m);
              at = wasm_v128_bitselect(wasm_i32x4_splat(k), at, m);
            }
          }
          const v128_t d = wasm_v128_load(g + c);
          k = 0;
          for (int iy = yLo; iy < yHi; iy++) {
            for (int ix = xLo; ix < xHi; ix++, k++) {
              float *p = dImage + iy * xRow + (size_t)ix * ch + c;
              const v128_t mine = wasm_i32x4_eq(at, wasm_i32x4_splat(k));
              wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), wasm_v128_bitselect(d, zero, mine)));
            }
          }
        }
        for (; c < ch; c++) {
          float best = -__builtin_inff();
          float *at = 0;
          for (int iy = yLo; iy < yHi; iy++) {
            for (int ix = xLo; ix < xHi; ix++) {
              const size_t i = iy * xRow + (size_t)ix * ch + c;
              if (image[i] > best) {
                best = image[i];
                at = dImage + i;
              }
            }
          }
          if (at) *at += g[c];
        }
      }
    }
  }
}

// One step of SGD for n float32 parameters, as torch.optim.SGD and train's SGD compute it,
// each operation rounded to float32 in the same order as there (so the results are the same
// bits): d = ±g (+ p·wd), next = d on the first step or buf·momentum + d (·keep, keep = 1 -
// dampening), d = next (+ next·momentum for Nesterov), p_out = p + d·neg_lr; buf_out = next.
// flags: 1 maximize, 2 weight decay, 4 momentum, 8 first step (no buf), 16 dampening,
// 32 Nesterov.
__attribute__((export_name("sgd_update_f32"))) void sgd_update_f32(
    const float *p, const float *g, const float *buf, float *p_out, float *buf_out, int n,
    float neg_lr, float wd, float momentum, float keep, int flags) {
  const int maximize = flags & 1, decay = flags & 2, use_momentum = flags & 4;
  const int first = flags & 8, damp = flags & 16, nesterov = flags & 32;
  for (int i = 0; i < n; i++) {
    float d = maximize ? -g[i] : g[i];
    if (decay) d = d + p[i] * wd;
    if (use_momentum) {
      const float next = first ? d : buf[i] * momentum + (damp ? d * keep : d);
      buf_out[i] = next;
      d = nesterov ? d + next * momentum : next;
    }
    p_out[i] = p[i] + d * neg_lr;
  }
}

// max as PyTorch's maximum and JavaScript's Math.max: NaN if either is, +0 over -0.
static inline float max_nan(float a, float b) {
  if (a != a || b != b) return a + b;
  return (a > b || (a == b && !__builtin_signbit(a))) ? a : b;
}

// One step of Adam for n float32 parameters, as torch.optim.Adam (AdamW) and train's Adam
// compute it, each operation rounded to float32 in the same order as there (so the results
// are the same bits): d = ±g, then with L2 decay d = d + p·decay, or with decoupled decay
// p = p·decay; m = m·b1 + d·c1, v = v·b2 + (d·d)·c2, s = v (or vmax = max(vmax, v) with
// AMSGrad), p_out = p + (m·neg_step) / (√s / bc2 + eps). flags: 1 maximize, 2 L2 decay,
// 4 decoupled decay, 8 AMSGrad (vmax and vmax_out are read and written only then). No
// output overlaps an input (restrict lets the loop run four floats at a time).
__attribute__((export_name("adam_update_f32"))) void adam_update_f32(
    const float *restrict p, const float *restrict g, const float *restrict m,
    const float *restrict v, const float *restrict vmax, float *restrict p_out,
    float *restrict m_out, float *restrict v_out, float *restrict vmax_out, int n,
    float decay, float b1, float c1, float b2, float c2, float bc2, float eps, float neg_step,
    int flags) {
  const int maximize = flags & 1, l2 = flags & 2, decoupled = flags & 4, ams = flags & 8;
  for (int i = 0; i < n; i++) {
    float d = maximize ? -g[i] : g[i];
    float w = p[i];
    if (l2) d = d + w * decay;
    if (decoupled) w = w * decay;
    const float m1 = m[i] * b1 + d * c1;
    const float v1 = v[i] * b2 + (d * d) * c2;
    m_out[i] = m1;
    v_out[i] = v1;
    float s = v1;
    if (ams) {
      s = max_nan(vmax[i], v1);
      vmax_out[i] = s;
    }
    p_out[i] = w + (m1 * neg_step) / (__builtin_sqrtf(s) / bc2 + eps);
  }
}
