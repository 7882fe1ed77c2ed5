// Matrix transposes for resnet-ts's wasm kernels: tfjs-backend-wasm's Transpose computes every
// element's source index (16 ms for a 3x3x512x512 filter's channel swap, which the
// convolution it feeds needs 28 ms for). Here 4x4 blocks move through SIMD shuffles inside
// 16x16 tiles, so each destination cache line is filled while it is still in L1.
// Same rules as kernels.c: pointers are byte offsets into tfjs's heap, no stack, no globals.
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

#define TILE 16

// Rows [r0, r1) of src [rows, cols] into dst [cols, rows]: dst[c][r] = src[r][c].
static void transpose_rows(const float *src, float *dst, int rows, int cols, int r0, int r1) {
  for (int rb = r0; rb < r1; rb += TILE) {
    const int re = rb + TILE < r1 ? rb + TILE : r1;
    for (int cb = 0; cb < cols; cb += TILE) {
      const int ce = cb + TILE < cols ? cb + TILE : cols;
      int r = rb;
      for (; r + 4 <= re; r += 4) {
        const float *s = src + (size_t)r * cols;
        int c = cb;
        for (; c + 4 <= ce; c += 4) {
          const v128_t a = wasm_v128_load(s + c);
          const v128_t b = wasm_v128_load(s + cols + c);
          const v128_t e = wasm_v128_load(s + 2 * (size_t)cols + c);
          const v128_t d = wasm_v128_load(s + 3 * (size_t)cols + c);
          const v128_t ab01 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5);
          const v128_t ab23 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
          const v128_t ed01 = wasm_i32x4_shuffle(e, d, 0, 4, 1, 5);
          const v128_t ed23 = wasm_i32x4_shuffle(e, d, 2, 6, 3, 7);
          float *o = dst + (size_t)c * rows + r;
          wasm_v128_store(o, wasm_i32x4_shuffle(ab01, ed01, 0, 1, 4, 5));
          wasm_v128_store(o + rows, wasm_i32x4_shuffle(ab01, ed01, 2, 3, 6, 7));
          wasm_v128_store(o + 2 * (size_t)rows, wasm_i32x4_shuffle(ab23, ed23, 0, 1, 4, 5));
          wasm_v128_store(o + 3 * (size_t)rows, wasm_i32x4_shuffle(ab23, ed23, 2, 3, 6, 7));
        }
        for (; c < ce; c++) {
          float *o = dst + (size_t)c * rows + r;
          o[0] = s[c];
          o[1] = s[cols + c];
          o[2] = s[2 * (size_t)cols + c];
          o[3] = s[3 * (size_t)cols + c];
        }
      }
      for (; r < re; r++) {
        const float *s = src + (size_t)r * cols;
        for (int c = cb; c < ce; c++) dst[(size_t)c * rows + r] = s[c];
      }
    }
  }
}

// `count` matrices src_i [rows, cols] (one after another) transposed into dst_i [cols, rows],
// dst_i at dst + (reverse ? count - 1 - i : i) * rows * cols; of the count * rows source rows
// (matrix by matrix) this call moves rows [g0, g1), so threads can each take a range.
__attribute__((export_name("transpose_batched"))) void transpose_batched(
    const float *src, float *dst, int count, int rows, int cols, int reverse, int g0, int g1) {
  const size_t size = (size_t)rows * cols;
  while (g0 < g1) {
    const int m = g0 / rows;
    const int r0 = g0 - m * rows;
    const int r1 = g1 - m * rows < rows ? g1 - m * rows : rows;
    const int to = reverse ? count - 1 - m : m;
    transpose_rows(src + m * size, dst + to * size, rows, cols, r0, r1);
    g0 += r1 - r0;
  }
}
