// Batch statistics for resnet-ts's wasm kernels (src/kernels/batch-moments-wasm.ts): the
// per-channel sum of squared deviations from the mean, the variance's pass, in one read of x
// (tfjs's moments subtracts, squares and averages in three kernels and two temporaries).
// Same rules as kernels.c: pointers are byte offsets into tfjs's heap, no stack, no globals.
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

static inline v128_t promote_hi(v128_t v) {
  return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
}

// acc[c] += (x - mean[c])^2 over `rows` rows of `cols` floats: the difference and its square
// in float32 (as the three kernels compute them), the sum in float64.
__attribute__((export_name("sum_sq_dev_rows"))) void sum_sq_dev_rows(const float *x,
                                                                     const float *mean,
                                                                     double *acc, int rows,
                                                                     int cols) {
  for (int r = 0; r < rows; r++) {
    const float *row = x + (size_t)r * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v128_t d = wasm_f32x4_sub(wasm_v128_load(row + c), wasm_v128_load(mean + c));
      const v128_t sq = wasm_f32x4_mul(d, d);
      wasm_v128_store(acc + c,
                      wasm_f64x2_add(wasm_v128_load(acc + c), wasm_f64x2_promote_low_f32x4(sq)));
      wasm_v128_store(acc + c + 2, wasm_f64x2_add(wasm_v128_load(acc + c + 2), promote_hi(sq)));
    }
    for (; c < cols; c++) {
      const float d = row[c] - mean[c];
      acc[c] += d * d;
    }
  }
}
