// ReLU's gradient factor, shared by relu_grad_f32 (elementwise.c) and the fused pool's
// gradient in max_pool_grad_2x2 (kernels.c): step(x) as tfjs's cpu backend computes it,
// 1 where x > 0, 0 elsewhere, and x itself where x is NaN (so NaN passes into the product).
#include <wasm_simd128.h>

static inline v128_t relu_step4(v128_t x) {
  const v128_t s = wasm_v128_bitselect(wasm_f32x4_splat(1.0f), wasm_f32x4_splat(0.0f),
                                       wasm_f32x4_gt(x, wasm_f32x4_splat(0.0f)));
  return wasm_v128_bitselect(x, s, wasm_f32x4_ne(x, x));
}

static inline float relu_step(float x) { return x != x ? x : x > 0.0f ? 1.0f : 0.0f; }
