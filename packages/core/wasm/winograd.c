// Winograd F(2x2, 3x3) transforms for the 3x3, stride-1 convolution
// (src/kernels/conv2d-winograd-wasm.ts): each 2x2 output tile is A^T [(G g G^T) * (B^T d B)] A
// over a 4x4 input tile d, so the 16 element-wise products over the channels become 16
// matrix products [tiles, inC] x [inC, outC] (run by XNNPACK), and a tile costs 16 products
// per channel pair instead of 36. Channels are contiguous in NHWC and HWIO, so every
// transform runs four channels per SIMD vector. Built into the same module as kernels.c,
// under the same rules: memory imported from tfjs, no stack, no static data.
#include <wasm_simd128.h>

typedef __SIZE_TYPE__ size_t;

#define VADD wasm_f32x4_add
#define VSUB wasm_f32x4_sub
#define VMUL wasm_f32x4_mul
#define SADD(a, b) ((a) + (b))
#define SSUB(a, b) ((a) - (b))
#define SMUL(a, b) ((a) * (b))

// One row (or column) of d -> B^T d: the four outputs from four inputs.
#define BT(ADD, SUB, d0, d1, d2, d3, e0, e1, e2, e3) \
  e0 = SUB(d0, d2);                                 \
  e1 = ADD(d1, d2);                                 \
  e2 = SUB(d2, d1);                                 \
  e3 = SUB(d1, d3);

// The input transform of one channel group: loads the 16 inputs p00..p33 at offset c,
// stores the 16 transformed values at v + k * vs + c.
#define INPUT_TILE(T, LOAD, STORE, ADD, SUB)                                         \
  {                                                                                  \
    T a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, f0, f1, f2, f3;                \
    BT(ADD, SUB, LOAD(p00 + c), LOAD(p01 + c), LOAD(p02 + c), LOAD(p03 + c), a0, a1, \
       a2, a3)                                                                       \
    BT(ADD, SUB, LOAD(p10 + c), LOAD(p11 + c), LOAD(p12 + c), LOAD(p13 + c), b0, b1, \
       b2, b3)                                                                       \
    BT(ADD, SUB, LOAD(p20 + c), LOAD(p21 + c), LOAD(p22 + c), LOAD(p23 + c), c0, c1, \
       c2, c3)                                                                       \
    BT(ADD, SUB, LOAD(p30 + c), LOAD(p31 + c), LOAD(p32 + c), LOAD(p33 + c), f0, f1, \
       f2, f3)                                                                       \
    T r0, r1, r2, r3;                                                                \
    BT(ADD, SUB, a0, b0, c0, f0, r0, r1, r2, r3)                                     \
    STORE(v + 0 * vs + c, r0);                                                       \
    STORE(v + 4 * vs + c, r1);                                                       \
    STORE(v + 8 * vs + c, r2);                                                       \
    STORE(v + 12 * vs + c, r3);                                                      \
    BT(ADD, SUB, a1, b1, c1, f1, r0, r1, r2, r3)                                     \
    STORE(v + 1 * vs + c, r0);                                                       \
    STORE(v + 5 * vs + c, r1);                                                       \
    STORE(v + 9 * vs + c, r2);                                                       \
    STORE(v + 13 * vs + c, r3);                                                      \
    BT(ADD, SUB, a2, b2, c2, f2, r0, r1, r2, r3)                                     \
    STORE(v + 2 * vs + c, r0);                                                       \
    STORE(v + 6 * vs + c, r1);                                                       \
    STORE(v + 10 * vs + c, r2);                                                      \
    STORE(v + 14 * vs + c, r3);                                                      \
    BT(ADD, SUB, a3, b3, c3, f3, r0, r1, r2, r3)                                     \
    STORE(v + 3 * vs + c, r0);                                                       \
    STORE(v + 7 * vs + c, r1);                                                       \
    STORE(v + 11 * vs + c, r2);                                                      \
    STORE(v + 15 * vs + c, r3);                                                      \
  }

#define VLOAD(p) wasm_v128_load(p)
#define VSTORE(p, x) wasm_v128_store(p, x)
#define SLOAD(p) (*(p))
#define SSTORE(p, x) (*(p) = (x))

// A position of the 4x4 tile: its pixel, or the zero row where it falls in the padding.
#define PIX(dy, dx)                                                              \
  ((unsigned)(y0 + dy) < (unsigned)inH && (unsigned)(x0 + dx) < (unsigned)inW    \
       ? image + ((size_t)(y0 + dy) * inW + (x0 + dx)) * inC                     \
       : zeros)

// The transformed input tiles V [16, tiles, inC] of x [batch, inH, inW, inC], tiles in
// (image, tile row, tile column) order, tile (ty, tx) reading rows 2ty - padTop ... + 3 and
// columns 2tx - padLeft ... + 3; `zeros` holds inC zeros, read in place of the padding.
__attribute__((export_name("wino_input_f23"))) void wino_input_f23(
    const float *x, float *vOut, const float *zeros, int batch, int inH, int inW, int inC,
    int tilesH, int tilesW, int padTop, int padLeft) {
  const size_t vs = (size_t)batch * tilesH * tilesW * inC;
  float *v = vOut;
  for (int b = 0; b < batch; b++) {
    const float *image = x + (size_t)b * inH * inW * inC;
    for (int ty = 0; ty < tilesH; ty++) {
      const int y0 = 2 * ty - padTop;
      for (int tx = 0; tx < tilesW; tx++) {
        const int x0 = 2 * tx - padLeft;
        const float *p00 = PIX(0, 0), *p01 = PIX(0, 1), *p02 = PIX(0, 2), *p03 = PIX(0, 3);
        const float *p10 = PIX(1, 0), *p11 = PIX(1, 1), *p12 = PIX(1, 2), *p13 = PIX(1, 3);
        const float *p20 = PIX(2, 0), *p21 = PIX(2, 1), *p22 = PIX(2, 2), *p23 = PIX(2, 3);
        const float *p30 = PIX(3, 0), *p31 = PIX(3, 1), *p32 = PIX(3, 2), *p33 = PIX(3, 3);
        int c = 0;
        for (; c + 4 <= inC; c += 4) INPUT_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB)
        for (; c < inC; c++) INPUT_TILE(float, SLOAD, SSTORE, SADD, SSUB)
        v += inC;
      }
    }
  }
}

// g0, g1, g2 -> G g: four outputs, `half` holding 0.5.
#define GT(ADD, SUB, MUL, g0, g1, g2, t0, t1, t2, t3) \
  t0 = g0;                                            \
  t1 = MUL(ADD(ADD(g0, g1), g2), half);               \
  t2 = MUL(ADD(SUB(g0, g1), g2), half);               \
  t3 = g2;

#define FILTER_TILE(T, LOAD, STORE, ADD, SUB, MUL)                                        \
  {                                                                                       \
    T a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3;                                     \
    GT(ADD, SUB, MUL, LOAD(g + 0 * gs + o), LOAD(g + 3 * gs + o), LOAD(g + 6 * gs + o), a0, \
       a1, a2, a3)                                                                        \
    GT(ADD, SUB, MUL, LOAD(g + 1 * gs + o), LOAD(g + 4 * gs + o), LOAD(g + 7 * gs + o), b0, \
       b1, b2, b3)                                                                        \
    GT(ADD, SUB, MUL, LOAD(g + 2 * gs + o), LOAD(g + 5 * gs + o), LOAD(g + 8 * gs + o), c0, \
       c1, c2, c3)                                                                        \
    T r0, r1, r2, r3;                                                                     \
    GT(ADD, SUB, MUL, a0, b0, c0, r0, r1, r2, r3)                                         \
    STORE(u + 0 * us + o, r0);                                                            \
    STORE(u + 1 * us + o, r1);                                                            \
    STORE(u + 2 * us + o, r2);                                                            \
    STORE(u + 3 * us + o, r3);                                                            \
    GT(ADD, SUB, MUL, a1, b1, c1, r0, r1, r2, r3)                                         \
    STORE(u + 4 * us + o, r0);                                                            \
    STORE(u + 5 * us + o, r1);                                                            \
    STORE(u + 6 * us + o, r2);                                                            \
    STORE(u + 7 * us + o, r3);                                                            \
    GT(ADD, SUB, MUL, a2, b2, c2, r0, r1, r2, r3)                                         \
    STORE(u + 8 * us + o, r0);                                                            \
    STORE(u + 9 * us + o, r1);                                                            \
    STORE(u + 10 * us + o, r2);                                                           \
    STORE(u + 11 * us + o, r3);                                                           \
    GT(ADD, SUB, MUL, a3, b3, c3, r0, r1, r2, r3)                                         \
    STORE(u + 12 * us + o, r0);                                                           \
    STORE(u + 13 * us + o, r1);                                                           \
    STORE(u + 14 * us + o, r2);                                                           \
    STORE(u + 15 * us + o, r3);                                                           \
  }

// The transformed filter U [16, inC, outC] = G g G^T of the HWIO filter [3, 3, inC, outC].
__attribute__((export_name("wino_filter_f23"))) void wino_filter_f23(const float *filter,
                                                                     float *uOut, int inC,
                                                                     int outC) {
  const size_t gs = (size_t)inC * outC;
  const size_t us = gs;
  const v128_t vhalf = wasm_f32x4_splat(0.5f);
  for (int i = 0; i < inC; i++) {
    const float *g = filter + (size_t)i * outC;
    float *u = uOut + (size_t)i * outC;
    int o = 0;
    {
      const v128_t half = vhalf;
      for (; o + 4 <= outC; o += 4) FILTER_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL)
    }
    {
      const float half = 0.5f;
      for (; o < outC; o++) FILTER_TILE(float, SLOAD, SSTORE, SADD, SSUB, SMUL)
    }
  }
}

// One row (or column) of m -> A^T m: two outputs from four inputs.
#define AT(ADD, SUB, m0, m1, m2, m3, y0, y1) \
  y0 = ADD(ADD(m0, m1), m2);                 \
  y1 = SUB(SUB(m1, m2), m3);

#define OUTPUT_TILE(T, LOAD, STORE, ADD, SUB, RELU)                                      \
  {                                                                                      \
    T a0, a1, b0, b1, c0, c1, d0, d1;                                                    \
    AT(ADD, SUB, LOAD(q0 + c), LOAD(q4 + c), LOAD(q8 + c), LOAD(q12 + c), a0, a1)        \
    AT(ADD, SUB, LOAD(q1 + c), LOAD(q5 + c), LOAD(q9 + c), LOAD(q13 + c), b0, b1)        \
    AT(ADD, SUB, LOAD(q2 + c), LOAD(q6 + c), LOAD(q10 + c), LOAD(q14 + c), c0, c1)       \
    AT(ADD, SUB, LOAD(q3 + c), LOAD(q7 + c), LOAD(q11 + c), LOAD(q15 + c), d0, d1)       \
    T bi = LOAD(bias + c), y00, y01, y10, y11;                                           \
    AT(ADD, SUB, a0, b0, c0, d0, y00, y01)                                               \
    AT(ADD, SUB, a1, b1, c1, d1, y10, y11)                                               \
    y00 = ADD(y00, bi);                                                                  \
    y01 = ADD(y01, bi);                                                                  \
    y10 = ADD(y10, bi);                                                                  \
    y11 = ADD(y11, bi);                                                                  \
    if (relu) {                                                                          \
      y00 = RELU(y00);                                                                   \
      y01 = RELU(y01);                                                                   \
      y10 = RELU(y10);                                                                   \
      y11 = RELU(y11);                                                                   \
    }                                                                                    \
    STORE(o00 + c, y00);                                                                 \
    if (right) STORE(o00 + outC + c, y01);                                               \
    if (below) {                                                                         \
      STORE(o00 + rowStride + c, y10);                                                   \
      if (right) STORE(o00 + rowStride + outC + c, y11);                                 \
    }                                                                                    \
  }

#define VRELU(x) wasm_f32x4_max(x, vzero)
#define SRELU(x) ((x) > 0.0f ? (x) : 0.0f)

// The output y [batch, outH, outW, outC] = A^T M A (+ bias, then ReLU where `relu`) from the
// 16 products M_k [tiles, outC], whose byte offsets are the 16 int32s at `mTable`; the
// tiles' order is wino_input_f23's. `bias` holds outC floats (zeros for none).
__attribute__((export_name("wino_output_f23"))) void wino_output_f23(
    const int *mTable, float *y, const float *bias, int batch, int outH, int outW, int outC,
    int tilesH, int tilesW, int relu) {
  const float *m0 = (const float *)mTable[0], *m1 = (const float *)mTable[1];
  const float *m2 = (const float *)mTable[2], *m3 = (const float *)mTable[3];
  const float *m4 = (const float *)mTable[4], *m5 = (const float *)mTable[5];
  const float *m6 = (const float *)mTable[6], *m7 = (const float *)mTable[7];
  const float *m8 = (const float *)mTable[8], *m9 = (const float *)mTable[9];
  const float *m10 = (const float *)mTable[10], *m11 = (const float *)mTable[11];
  const float *m12 = (const float *)mTable[12], *m13 = (const float *)mTable[13];
  const float *m14 = (const float *)mTable[14], *m15 = (const float *)mTable[15];
  const size_t rowStride = (size_t)outW * outC;
  const v128_t vzero = wasm_f32x4_splat(0.0f);
  size_t t = 0;
  for (int b = 0; b < batch; b++) {
    float *image = y + (size_t)b * outH * rowStride;
    for (int ty = 0; ty < tilesH; ty++) {
      const int below = 2 * ty + 1 < outH;
      for (int tx = 0; tx < tilesW; tx++, t += outC) {
        const int right = 2 * tx + 1 < outW;
        float *o00 = image + (size_t)(2 * ty) * rowStride + (size_t)(2 * tx) * outC;
        const float *q0 = m0 + t, *q1 = m1 + t, *q2 = m2 + t, *q3 = m3 + t;
        const float *q4 = m4 + t, *q5 = m5 + t, *q6 = m6 + t, *q7 = m7 + t;
        const float *q8 = m8 + t, *q9 = m9 + t, *q10 = m10 + t, *q11 = m11 + t;
        const float *q12 = m12 + t, *q13 = m13 + t, *q14 = m14 + t, *q15 = m15 + t;
        int c = 0;
        for (; c + 4 <= outC; c += 4) OUTPUT_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB, VRELU)
        for (; c < outC; c++) OUTPUT_TILE(float, SLOAD, SSTORE, SADD, SSUB, SRELU)
      }
    }
  }
}
