// resnet-ts's own single-precision matrix product for the wasm backend: C = A B (or C += A B)
// with row-major operands, B packed once into panels of 8 columns. Its 4x8 register tile is
// the widest V8 keeps in registers on x64 (16 xmm registers: 8 accumulators, 2 B vectors, the
// broadcast A value and the product); wider tiles spill and run at half speed. Like
// kernels.c it works in tfjs's memory and may not touch a stack or static data.
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

// Columns per packed panel, rows of A per register tile, depth per pass (the panel of
// KC x 8 floats, 8 KB, stays in L1 while the rows stream past it).
#define NR 8
#define MR 4
#define KC 256
#define MC 64

// Packs B [k, n] (row stride ldb floats) into ceil(n / 8) panels of [k, 8], the columns past
// n zero, for panels [p0, p1).
__attribute__((export_name("gemm_pack_b"))) void gemm_pack_b(const float *b, int ldb, int k, int n,
                                                             float *packed, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    const int j0 = p * NR;
    const int cols = n - j0 < NR ? n - j0 : NR;
    float *dst = packed + (size_t)p * k * NR;
    for (int r = 0; r < k; r++) {
      const float *src = b + (size_t)r * ldb + j0;
      if (cols == NR) {
        wasm_v128_store(dst, wasm_v128_load(src));
        wasm_v128_store(dst + 4, wasm_v128_load(src + 4));
      } else {
        for (int j = 0; j < NR; j++) dst[j] = j < cols ? src[j] : 0.0f;
      }
      dst += NR;
    }
  }
}

// Writes the first `cols` (< 8) columns of one tile row, adding to C when `add`. Lanes are
// read with constant indices only: a variable index would put the vectors on a stack.
static inline void put(float *c, float v, int add) { *c = add ? *c + v : v; }

static inline void store_part(float *c, v128_t lo, v128_t hi, int cols, int add) {
  if (cols > 0) put(c, wasm_f32x4_extract_lane(lo, 0), add);
  if (cols > 1) put(c + 1, wasm_f32x4_extract_lane(lo, 1), add);
  if (cols > 2) put(c + 2, wasm_f32x4_extract_lane(lo, 2), add);
  if (cols > 3) put(c + 3, wasm_f32x4_extract_lane(lo, 3), add);
  if (cols > 4) put(c + 4, wasm_f32x4_extract_lane(hi, 0), add);
  if (cols > 5) put(c + 5, wasm_f32x4_extract_lane(hi, 1), add);
  if (cols > 6) put(c + 6, wasm_f32x4_extract_lane(hi, 2), add);
}

static inline v128_t load_or_zero(const float *c, int add) {
  return add ? wasm_v128_load(c) : wasm_f32x4_splat(0.0f);
}

// One step of a 4x8 tile: the panel's next row of 8 against element r of the four A rows
// a0..a3, added into the accumulators x00..x31; advances `panel`.
#define STEP4X8(r)                                                           \
 {                                                                           \
   const v128_t b0 = wasm_v128_load(panel), b1 = wasm_v128_load(panel + 4);  \
   panel += NR;                                                              \
   v128_t v = wasm_v128_load32_splat(a0 + (r));                              \
   x00 = wasm_f32x4_add(x00, wasm_f32x4_mul(v, b0));                         \
   x01 = wasm_f32x4_add(x01, wasm_f32x4_mul(v, b1));                         \
   v = wasm_v128_load32_splat(a1 + (r));                                     \
   x10 = wasm_f32x4_add(x10, wasm_f32x4_mul(v, b0));                         \
   x11 = wasm_f32x4_add(x11, wasm_f32x4_mul(v, b1));                         \
   v = wasm_v128_load32_splat(a2 + (r));                                     \
   x20 = wasm_f32x4_add(x20, wasm_f32x4_mul(v, b0));                         \
   x21 = wasm_f32x4_add(x21, wasm_f32x4_mul(v, b1));                         \
   v = wasm_v128_load32_splat(a3 + (r));                                     \
   x30 = wasm_f32x4_add(x30, wasm_f32x4_mul(v, b0));                         \
   x31 = wasm_f32x4_add(x31, wasm_f32x4_mul(v, b1));                         \
 }

static inline void tile4x8(const float *a, int lda, const float *panel, float *c, int ldc,
                           int kc, int cols, int add) {
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
  float *c0 = c, *c1 = c + ldc, *c2 = c + 2 * ldc, *c3 = c + 3 * ldc;
  const int full = cols == NR;
  v128_t x00, x01, x10, x11, x20, x21, x30, x31;
  if (full && add) {
    x00 = wasm_v128_load(c0), x01 = wasm_v128_load(c0 + 4);
    x10 = wasm_v128_load(c1), x11 = wasm_v128_load(c1 + 4);
    x20 = wasm_v128_load(c2), x21 = wasm_v128_load(c2 + 4);
    x30 = wasm_v128_load(c3), x31 = wasm_v128_load(c3 + 4);
  } else {
    x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = wasm_f32x4_splat(0.0f);
  }
  for (int r = 0; r < kc; r++) STEP4X8(r)
  if (full) {
    wasm_v128_store(c0, x00), wasm_v128_store(c0 + 4, x01);
    wasm_v128_store(c1, x10), wasm_v128_store(c1 + 4, x11);
    wasm_v128_store(c2, x20), wasm_v128_store(c2 + 4, x21);
    wasm_v128_store(c3, x30), wasm_v128_store(c3 + 4, x31);
  } else {
    store_part(c0, x00, x01, cols, add);
    store_part(c1, x10, x11, cols, add);
    store_part(c2, x20, x21, cols, add);
    store_part(c3, x30, x31, cols, add);
  }
}

static inline void tile1x8(const float *a, const float *panel, float *c, int kc, int cols,
                           int add) {
  const int full = cols == NR;
  v128_t x0 = full ? load_or_zero(c, add) : wasm_f32x4_splat(0.0f);
  v128_t x1 = full ? load_or_zero(c + 4, add) : wasm_f32x4_splat(0.0f);
  for (int r = 0; r < kc; r++) {
    const v128_t v = wasm_v128_load32_splat(a + r);
    x0 = wasm_f32x4_add(x0, wasm_f32x4_mul(v, wasm_v128_load(panel)));
    x1 = wasm_f32x4_add(x1, wasm_f32x4_mul(v, wasm_v128_load(panel + 4)));
    panel += NR;
  }
  if (full) {
    wasm_v128_store(c, x0);
    wasm_v128_store(c + 4, x1);
  } else {
    store_part(c, x0, x1, cols, add);
  }
}

// Rows [m0, m1) of C [m, n] (row stride ldc) = A [m, k] (row stride lda) times the packed B,
// added to C's values when `accumulate`.
__attribute__((export_name("gemm_packed_rows"))) void gemm_packed_rows(const float *a, int lda,
                                                         const float *packed, float *c, int ldc,
                                                         int m0, int m1, int n, int k,
                                                         int accumulate) {
  const int panels = (n + NR - 1) / NR;
  for (int k0 = 0; k0 < k; k0 += KC) {
    const int kc = k - k0 < KC ? k - k0 : KC;
    const int add = accumulate || k0 > 0;
    for (int i0 = m0; i0 < m1; i0 += MC) {
      const int i1 = m1 - i0 < MC ? m1 : i0 + MC;
      for (int p = 0; p < panels; p++) {
        const int j0 = p * NR;
        const int cols = n - j0 < NR ? n - j0 : NR;
        const float *panel = packed + (size_t)p * k * NR + (size_t)k0 * NR;
        int i = i0;
        for (; i + MR <= i1; i += MR)
          tile4x8(a + (size_t)i * lda + k0, lda, panel, c + (size_t)i * ldc + j0, ldc, kc, cols,
                  add);
        for (; i < i1; i++)
          tile1x8(a + (size_t)i * lda + k0, panel, c + (size_t)i * ldc + j0, kc, cols, add);
      }
    }
  }
}

// The convolution as an implicit product: output pixel p's row of A is the concatenation,
// over the filter taps in HWIO order, of the input pixel under that tap (or `zero`, inC zero
// floats, where the tap falls in the padding), so no patch matrix is built. The filter
// [fh, fw, inC, outC] is B as it lies, packed by gemm_pack_b.
typedef struct {
  const float *x, *zero;
  int inH, inW, inC, outH, outW, fh, fw, sh, sw, dh, dw, padTop, padLeft;
} conv_geometry;

static inline const float *tap(const conv_geometry *g, int b, int oy, int ox, int ky, int kx) {
  const int iy = oy * g->sh + ky * g->dh - g->padTop;
  const int ix = ox * g->sw + kx * g->dw - g->padLeft;
  if ((unsigned)iy >= (unsigned)g->inH || (unsigned)ix >= (unsigned)g->inW) return g->zero;
  return g->x + ((size_t)(b * g->inH + iy) * g->inW + ix) * g->inC;
}

static inline v128_t bias_or_zero(const float *bias, int j) {
  return bias ? wasm_v128_load(bias + j) : wasm_f32x4_splat(0.0f);
}

static inline v128_t activate(v128_t v, int relu) {
  return relu ? wasm_f32x4_max(v, wasm_f32x4_splat(0.0f)) : v;
}

static inline void store_row(float *c, v128_t lo, v128_t hi, int cols, int relu) {
  lo = activate(lo, relu);
  hi = activate(hi, relu);
  if (cols == NR) {
    wasm_v128_store(c, lo);
    wasm_v128_store(c + 4, hi);
  } else {
    store_part(c, lo, hi, cols, 0);
  }
}

// Four output pixels p..p+3 (which may cross rows and images) against one 8-column panel.
static inline void conv_tile4(const conv_geometry *g, int p, const float *panel,
                              const float *bias, float *c, int ldc, int cols, int relu) {
  const int plane = g->outH * g->outW;
  const int b0 = p / plane, r0 = p % plane, oy0 = r0 / g->outW, ox0 = r0 % g->outW;
  v128_t x00 = bias_or_zero(bias, 0), x01 = bias_or_zero(bias, 4);
  v128_t x10 = x00, x11 = x01, x20 = x00, x21 = x01, x30 = x00, x31 = x01;
  const int inC = g->inC;
  // Four pixels of one output row whose taps all fall inside the input's columns, with unit
  // dilation across: under each filter row the taps over all channels are one run of
  // fw * inC floats, each pixel's run sw * inC floats after the one before, so the tap
  // lookups per column drop out (with 3 input channels they cost more than the products).
  // Filter rows in the padding read `zero` as below; the sums are the same, in the same order.
  const int ix0 = ox0 * g->sw - g->padLeft;
  if (ox0 + 3 < g->outW && g->dw == 1 && ix0 >= 0 && ix0 + 3 * g->sw + g->fw <= g->inW) {
    const int run = g->fw * inC, step = g->sw * inC;
    for (int ky = 0; ky < g->fh; ky++) {
      const int iy = oy0 * g->sh + ky * g->dh - g->padTop;
      if ((unsigned)iy < (unsigned)g->inH) {
        const float *a0 = g->x + ((size_t)(b0 * g->inH + iy) * g->inW + ix0) * inC;
        const float *a1 = a0 + step, *a2 = a1 + step, *a3 = a2 + step;
        for (int r = 0; r < run; r++) STEP4X8(r)
      } else {
        const float *a0 = g->zero, *a1 = a0, *a2 = a0, *a3 = a0;
        for (int kx = 0; kx < g->fw; kx++) {
          for (int r = 0; r < inC; r++) STEP4X8(r)
        }
      }
    }
  } else {
    const int b1 = (p + 1) / plane, r1 = (p + 1) % plane, oy1 = r1 / g->outW, ox1 = r1 % g->outW;
    const int b2 = (p + 2) / plane, r2 = (p + 2) % plane, oy2 = r2 / g->outW, ox2 = r2 % g->outW;
    const int b3 = (p + 3) / plane, r3 = (p + 3) % plane, oy3 = r3 / g->outW, ox3 = r3 % g->outW;
    for (int ky = 0; ky < g->fh; ky++) {
      for (int kx = 0; kx < g->fw; kx++) {
        const float *a0 = tap(g, b0, oy0, ox0, ky, kx);
        const float *a1 = tap(g, b1, oy1, ox1, ky, kx);
        const float *a2 = tap(g, b2, oy2, ox2, ky, kx);
        const float *a3 = tap(g, b3, oy3, ox3, ky, kx);
        for (int r = 0; r < inC; r++) STEP4X8(r)
      }
    }
  }
  store_row(c, x00, x01, cols, relu);
  store_row(c + ldc, x10, x11, cols, relu);
  store_row(c + 2 * ldc, x20, x21, cols, relu);
  store_row(c + 3 * ldc, x30, x31, cols, relu);
}

static inline void conv_tile1(const conv_geometry *g, int p, const float *panel,
                              const float *bias, float *c, int cols, int relu) {
  const int plane = g->outH * g->outW;
  const int b = p / plane, r0 = p % plane, oy = r0 / g->outW, ox = r0 % g->outW;
  v128_t x0 = bias_or_zero(bias, 0), x1 = bias_or_zero(bias, 4);
  for (int ky = 0; ky < g->fh; ky++) {
    for (int kx = 0; kx < g->fw; kx++) {
      const float *a = tap(g, b, oy, ox, ky, kx);
      for (int r = 0; r < g->inC; r++) {
        const v128_t v = wasm_v128_load32_splat(a + r);
        x0 = wasm_f32x4_add(x0, wasm_f32x4_mul(v, wasm_v128_load(panel)));
        x1 = wasm_f32x4_add(x1, wasm_f32x4_mul(v, wasm_v128_load(panel + 4)));
        panel += NR;
      }
    }
  }
  store_row(c, x0, x1, cols, relu);
}

// Output pixels [p0, p1) of the NHWC convolution of x with the packed filter, plus `bias`
// (ceil(outC / 8) * 8 floats, or null), through ReLU when `relu`.
__attribute__((export_name("conv_nhwc"))) void conv_nhwc(
    const float *x, const float *zero, const float *packed, const float *bias, float *out,
    int inH, int inW, int inC, int outH, int outW, int outC, int fh, int fw, int sh, int sw,
    int dh, int dw, int padTop, int padLeft, int relu, int p0, int p1) {
  const conv_geometry g = {x, zero, inH, inW, inC, outH, outW, fh, fw, sh, sw, dh, dw, padTop, padLeft};
  const int k = fh * fw * inC;
  const int panels = (outC + NR - 1) / NR;
  for (int i0 = p0; i0 < p1; i0 += MC) {
    const int i1 = p1 - i0 < MC ? p1 : i0 + MC;
    for (int q = 0; q < panels; q++) {
      const int j0 = q * NR;
      const int cols = outC - j0 < NR ? outC - j0 : NR;
      const float *panel = packed + (size_t)q * k * NR;
      const float *b = bias ? bias + j0 : 0;
      int i = i0;
      for (; i + MR <= i1; i += MR)
        conv_tile4(&g, i, panel, b, out + (size_t)i * outC + j0, outC, cols, relu);
      for (; i < i1; i++) conv_tile1(&g, i, panel, b, out + (size_t)i * outC + j0, cols, relu);
    }
  }
}

// Packs products [i0, i1) of `count` right operands B_i [k, n] (b + i * bStride floats,
// row stride ldb), B_i's panels at packed + i * packedStride.
__attribute__((export_name("gemm_pack_b_batched"))) void gemm_pack_b_batched(
    const float *b, int bStride, int ldb, int k, int n, float *packed, int packedStride, int i0,
    int i1) {
  const int panels = (n + NR - 1) / NR;
  for (int i = i0; i < i1; i++)
    gemm_pack_b(b + (size_t)i * bStride, ldb, k, n, packed + (size_t)i * packedStride, 0, panels);
}

void im2col_t_cnhw(const float *x, float *col, int batch, int inH, int inW, int inC, int outH,
                   int outW, int fh, int fw, int sh, int sw, int dh, int dw, int padTop,
                   int padLeft, int b0, int b1, int r0, int r1);

// The filter gradient dW [fh * fw * inC, outC] of images [b0, b1) of the convolution (x in
// CNHW layout, dy [batch, outH * outW, outC]) into `dwPart`, `chunk` images at a time: their
// transposed patch matrix into `cols`, their dy rows packed into `packed`, the product added
// up. A thread runs this over its own images with its own scratch and partial dW, so the
// whole gradient is one dispatch to the threads and a sum of the partials.
__attribute__((export_name("conv_filter_grad_images"))) void conv_filter_grad_images(
    const float *x, const float *dy, float *cols, float *packed, float *dwPart, int outC,
    int chunk, int batch, int inH, int inW, int inC, int outH, int outW, int fh, int fw, int sh,
    int sw, int dh, int dw, int padTop, int padLeft, int b0, int b1) {
  const int k = fh * fw * inC;
  const int perImage = outH * outW;
  const int panels = (outC + NR - 1) / NR;
  for (int c0 = b0; c0 < b1; c0 += chunk) {
    const int c1 = c0 + chunk < b1 ? c0 + chunk : b1;
    const int m = (c1 - c0) * perImage;
    im2col_t_cnhw(x, cols, batch, inH, inW, inC, outH, outW, fh, fw, sh, sw, dh, dw, padTop,
                  padLeft, c0, c1, 0, k);
    gemm_pack_b(dy + (size_t)c0 * perImage * outC, outC, m, outC, packed, 0, panels);
    gemm_packed_rows(cols, m, packed, dwPart, outC, 0, k, outC, m, c0 > b0);
  }
}
