// Winograd F(2x2, 3x3) and F(4x4, 3x3) transforms for the 3x3, stride-1 convolution
// (src/kernels/conv2d-winograd-wasm.ts): each 2x2 output tile is A^T [(G g G^T) * (B^T d B)] A
// over a 4x4 input tile d, so the 16 element-wise products over the channels become 16
// matrix products [tiles, inC] x [inC, outC] (run by XNNPACK), and a tile costs 16 products
// per channel pair instead of 36 (F(4x4, 3x3): 6x6 input tiles, 36 products instead of 144). Channels are contiguous in NHWC and HWIO, so every
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

// The transformed input tiles V [16, tiles, inC] (planes `vs` floats apart) of x
// [batch, inH, inW, inC] for images
// [b0, b1) (the parts a call is split into over threads), tiles in (image, tile row, tile
// column) order, tile (ty, tx) reading rows 2ty - padTop ... + 3 and
// columns 2tx - padLeft ... + 3; `zeros` holds inC zeros, read in place of the padding.
// Tiles [t0, t1) (numbered over the images: image, tile row, tile column) into the rows of
// V from `v` on (tile t0's row of the first plane), planes `vs` floats apart.
static void input_f23_tiles(const float *x, float *v, size_t vs, const float *zeros, int inH,
                            int inW, int inC, int tilesH, int tilesW, int padTop, int padLeft,
                            int t0, int t1) {
  const int perImage = tilesH * tilesW;
  for (int t = t0; t < t1; t++, v += inC) {
    const int b = t / perImage, ty = (t - b * perImage) / tilesW;
    const int tx = t - b * perImage - ty * tilesW;
    const float *image = x + (size_t)b * inH * inW * inC;
    const int y0 = 2 * ty - padTop;
    const int x0 = 2 * tx - padLeft;
    const float *p00 = PIX(0, 0), *p01 = PIX(0, 1), *p02 = PIX(0, 2), *p03 = PIX(0, 3);
    const float *p10 = PIX(1, 0), *p11 = PIX(1, 1), *p12 = PIX(1, 2), *p13 = PIX(1, 3);
    const float *p20 = PIX(2, 0), *p21 = PIX(2, 1), *p22 = PIX(2, 2), *p23 = PIX(2, 3);
    const float *p30 = PIX(3, 0), *p31 = PIX(3, 1), *p32 = PIX(3, 2), *p33 = PIX(3, 3);
    int c = 0;
    for (; c + 4 <= inC; c += 4) INPUT_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB)
    for (; c < inC; c++) INPUT_TILE(float, SLOAD, SSTORE, SADD, SSUB)
  }
}

__attribute__((export_name("wino_input_f23"))) void wino_input_f23(
    const float *x, float *vOut, const float *zeros, int batch, int inH, int inW, int inC,
    int tilesH, int tilesW, int padTop, int padLeft, int vs, int b0, int b1) {
  const int perImage = tilesH * tilesW;
  input_f23_tiles(x, vOut + (size_t)b0 * perImage * inC, vs, zeros, inH, inW, inC, tilesH,
                  tilesW, padTop, padLeft, b0 * perImage, b1 * perImage);
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

// Input channels [i0, i1) of the transformed filter U [16, inC, outC] = G g G^T of the HWIO
// filter [3, 3, inC, outC] (ranges of input channels are the parts threads take).
__attribute__((export_name("wino_filter_f23"))) void wino_filter_f23(const float *filter,
                                                                     float *uOut, int inC,
                                                                     int outC, int i0, int i1) {
  const size_t gs = (size_t)inC * outC;
  const size_t us = gs;
  const v128_t vhalf = wasm_f32x4_splat(0.5f);
  for (int i = i0; i < i1; i++) {
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

// Images [b0, b1) of the output y [batch, outH, outW, outC] = A^T M A (+ bias, then ReLU
// where `relu`) from the
// 16 products M_k [tiles, outC], whose byte offsets are the 16 int32s at `mTable`; the
// tiles' order is wino_input_f23's. `bias` holds outC floats (zeros for none).
// Tiles [t0, t1) of the output from the 16 products M_k [tiles, outC] whose byte offsets
// are the 16 int32s at `mTable`, tile t0's row `t` floats into each.
static void output_f23_tiles(const int *mTable, size_t t, float *y, const float *bias,
                             int outH, int outW, int outC, int tilesH, int tilesW, int relu,
                             int t0, int t1) {
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
  const int perImage = tilesH * tilesW;
  for (int g = t0; g < t1; g++, t += outC) {
    const int b = g / perImage, ty = (g - b * perImage) / tilesW;
    const int tx = g - b * perImage - ty * tilesW;
    const int below = 2 * ty + 1 < outH;
    const int right = 2 * tx + 1 < outW;
    float *o00 = y + (size_t)b * outH * rowStride + (size_t)(2 * ty) * rowStride +
                 (size_t)(2 * tx) * outC;
    const float *q0 = m0 + t, *q1 = m1 + t, *q2 = m2 + t, *q3 = m3 + t;
    const float *q4 = m4 + t, *q5 = m5 + t, *q6 = m6 + t, *q7 = m7 + t;
    const float *q8 = m8 + t, *q9 = m9 + t, *q10 = m10 + t, *q11 = m11 + t;
    const float *q12 = m12 + t, *q13 = m13 + t, *q14 = m14 + t, *q15 = m15 + t;
    int c = 0;
    for (; c + 4 <= outC; c += 4) OUTPUT_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB, VRELU)
    for (; c < outC; c++) OUTPUT_TILE(float, SLOAD, SSTORE, SADD, SSUB, SRELU)
  }
}

__attribute__((export_name("wino_output_f23"))) void wino_output_f23(
    const int *mTable, float *y, const float *bias, int batch, int outH, int outW, int outC,
    int tilesH, int tilesW, int relu, int b0, int b1) {
  const int perImage = tilesH * tilesW;
  output_f23_tiles(mTable, (size_t)b0 * perImage * outC, y, bias, outH, outW, outC, tilesH,
                   tilesW, relu, b0 * perImage, b1 * perImage);
}


// F(4x4, 3x3): 4x4 output tiles from 6x6 input tiles, 36 products per channel pair for 16
// outputs (2.25 per output against F(2x2, 3x3)'s 4 and the direct convolution's 9), with
// larger transform constants and so a larger rounding error.

#define VK(k) wasm_f32x4_splat(k)
#define SK(k) (k)

// One row (or column) of d -> B^T d for F(4x4, 3x3).
#define BT6(T, ADD, SUB, MUL, K, d0, d1, d2, d3, d4, d5, e0, e1, e2, e3, e4, e5) \
  {                                                                             \
    const T s42 = SUB(d4, MUL(d2, K(4.0f)));                                    \
    const T s31 = SUB(d3, MUL(d1, K(4.0f)));                                    \
    const T t42 = SUB(d4, d2);                                                  \
    const T t31 = MUL(SUB(d3, d1), K(2.0f));                                    \
    e0 = ADD(SUB(MUL(d0, K(4.0f)), MUL(d2, K(5.0f))), d4);                      \
    e1 = ADD(s42, s31);                                                         \
    e2 = SUB(s42, s31);                                                         \
    e3 = ADD(t42, t31);                                                         \
    e4 = SUB(t42, t31);                                                         \
    e5 = ADD(SUB(MUL(d1, K(4.0f)), MUL(d3, K(5.0f))), d5);                      \
  }

// Row r of the tile, transformed along the row: w<r>0 .. w<r>5.
#define IN_ROW(T, LOAD, ADD, SUB, MUL, K, r)                                           \
  T w##r##0, w##r##1, w##r##2, w##r##3, w##r##4, w##r##5;                              \
  BT6(T, ADD, SUB, MUL, K, LOAD(p##r##0 + c), LOAD(p##r##1 + c), LOAD(p##r##2 + c),    \
      LOAD(p##r##3 + c), LOAD(p##r##4 + c), LOAD(p##r##5 + c), w##r##0, w##r##1, w##r##2, \
      w##r##3, w##r##4, w##r##5)

// o0 .. o5 stored as column j of a transformed 6x6 tile: planes j, 6 + j, ... 30 + j of the
// planes `ps` floats apart from p, at channel c.
#define STORE_COL6(STORE, p, ps, j, o0, o1, o2, o3, o4, o5) \
  STORE(p + (0 + j) * ps + c, o0);                          \
  STORE(p + (6 + j) * ps + c, o1);                          \
  STORE(p + (12 + j) * ps + c, o2);                         \
  STORE(p + (18 + j) * ps + c, o3);                         \
  STORE(p + (24 + j) * ps + c, o4);                         \
  STORE(p + (30 + j) * ps + c, o5);

// Column j of the row-transformed tile, transformed and stored.
#define IN_COL(T, STORE, ADD, SUB, MUL, K, j)                                              \
  {                                                                                        \
    T o0, o1, o2, o3, o4, o5;                                                              \
    BT6(T, ADD, SUB, MUL, K, w0##j, w1##j, w2##j, w3##j, w4##j, w5##j, o0, o1, o2, o3, o4, \
        o5)                                                                                \
    STORE_COL6(STORE, v, vs, j, o0, o1, o2, o3, o4, o5)                                    \
  }

#define INPUT_TILE43(T, LOAD, STORE, ADD, SUB, MUL, K) \
  {                                                     \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 0)                \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 1)                \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 2)                \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 3)                \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 4)                \
    IN_ROW(T, LOAD, ADD, SUB, MUL, K, 5)                \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 0)               \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 1)               \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 2)               \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 3)               \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 4)               \
    IN_COL(T, STORE, ADD, SUB, MUL, K, 5)               \
  }

#define PROW(r)                                                                      \
  const float *p##r##0 = PIX(r, 0), *p##r##1 = PIX(r, 1), *p##r##2 = PIX(r, 2),      \
              *p##r##3 = PIX(r, 3), *p##r##4 = PIX(r, 4), *p##r##5 = PIX(r, 5);

// The transformed input tiles V [36, tiles, inC] (planes `vs` floats apart) for F(4x4, 3x3), as wino_input_f23 for
// F(2x2, 3x3): tile (ty, tx) reads rows 4ty - padTop ... + 5 and columns 4tx - padLeft ... + 5.
static void input_f43_tiles(const float *x, float *v, size_t vs, const float *zeros, int inH,
                            int inW, int inC, int tilesH, int tilesW, int padTop, int padLeft,
                            int t0, int t1) {
  const int perImage = tilesH * tilesW;
  for (int t = t0; t < t1; t++, v += inC) {
    const int b = t / perImage, ty = (t - b * perImage) / tilesW;
    const int tx = t - b * perImage - ty * tilesW;
    const float *image = x + (size_t)b * inH * inW * inC;
    const int y0 = 4 * ty - padTop;
    const int x0 = 4 * tx - padLeft;
    PROW(0) PROW(1) PROW(2) PROW(3) PROW(4) PROW(5)
    int c = 0;
    for (; c + 4 <= inC; c += 4) INPUT_TILE43(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL, VK)
    for (; c < inC; c++) INPUT_TILE43(float, SLOAD, SSTORE, SADD, SSUB, SMUL, SK)
  }
}

__attribute__((export_name("wino_input_f43"))) void wino_input_f43(
    const float *x, float *vOut, const float *zeros, int batch, int inH, int inW, int inC,
    int tilesH, int tilesW, int padTop, int padLeft, int vs, int b0, int b1) {
  const int perImage = tilesH * tilesW;
  input_f43_tiles(x, vOut + (size_t)b0 * perImage * inC, vs, zeros, inH, inW, inC, tilesH,
                  tilesW, padTop, padLeft, b0 * perImage, b1 * perImage);
}

// g0, g1, g2 -> G g for F(4x4, 3x3).
#define G6(T, ADD, SUB, MUL, K, g0, g1, g2, u0, u1, u2, u3, u4, u5) \
  {                                                                 \
    const T s02 = ADD(g0, g2);                                      \
    const T p = ADD(MUL(g0, K(1.0f / 24)), MUL(g2, K(1.0f / 6)));   \
    const T q = MUL(g1, K(1.0f / 12));                              \
    u0 = MUL(g0, K(0.25f));                                         \
    u1 = MUL(ADD(s02, g1), K(-1.0f / 6));                           \
    u2 = MUL(SUB(s02, g1), K(-1.0f / 6));                           \
    u3 = ADD(p, q);                                                 \
    u4 = SUB(p, q);                                                 \
    u5 = g2;                                                        \
  }

// Column kw of the filter, transformed along kh: h<kw>0 .. h<kw>5.
#define F_COL(T, LOAD, ADD, SUB, MUL, K, j)                                                \
  T h##j##0, h##j##1, h##j##2, h##j##3, h##j##4, h##j##5;                                  \
  G6(T, ADD, SUB, MUL, K, LOAD(g + (0 + j) * gs + o), LOAD(g + (3 + j) * gs + o),          \
     LOAD(g + (6 + j) * gs + o), h##j##0, h##j##1, h##j##2, h##j##3, h##j##4, h##j##5)

// Row i of the column-transformed filter, transformed along kw and stored.
#define F_ROW(T, STORE, ADD, SUB, MUL, K, i)                                                \
  {                                                                                         \
    T o0, o1, o2, o3, o4, o5;                                                               \
    G6(T, ADD, SUB, MUL, K, h0##i, h1##i, h2##i, o0, o1, o2, o3, o4, o5)                    \
    STORE(u + (6 * i + 0) * us + o, o0);                                                    \
    STORE(u + (6 * i + 1) * us + o, o1);                                                    \
    STORE(u + (6 * i + 2) * us + o, o2);                                                    \
    STORE(u + (6 * i + 3) * us + o, o3);                                                    \
    STORE(u + (6 * i + 4) * us + o, o4);                                                    \
    STORE(u + (6 * i + 5) * us + o, o5);                                                    \
  }

#define FILTER_TILE43(T, LOAD, STORE, ADD, SUB, MUL, K)                                   \
  {                                                                                       \
    F_COL(T, LOAD, ADD, SUB, MUL, K, 0)                                                   \
    F_COL(T, LOAD, ADD, SUB, MUL, K, 1)                                                   \
    F_COL(T, LOAD, ADD, SUB, MUL, K, 2)                                                   \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 0)                                                  \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 1)                                                  \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 2)                                                  \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 3)                                                  \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 4)                                                  \
    F_ROW(T, STORE, ADD, SUB, MUL, K, 5)                                                  \
  }

// Input channels [i0, i1) of the transformed filter U [36, inC, outC] = G g G^T for
// F(4x4, 3x3).
__attribute__((export_name("wino_filter_f43"))) void wino_filter_f43(const float *filter,
                                                                     float *uOut, int inC,
                                                                     int outC, int i0, int i1) {
  const size_t gs = (size_t)inC * outC;
  const size_t us = gs;
  for (int i = i0; i < i1; i++) {
    const float *g = filter + (size_t)i * outC;
    float *u = uOut + (size_t)i * outC;
    int o = 0;
    for (; o + 4 <= outC; o += 4) FILTER_TILE43(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL, VK)
    for (; o < outC; o++) FILTER_TILE43(float, SLOAD, SSTORE, SADD, SSUB, SMUL, SK)
  }
}

// m0 .. m5 -> A^T m for F(4x4, 3x3).
#define AT6(T, ADD, SUB, MUL, K, m0, m1, m2, m3, m4, m5, y0, y1, y2, y3) \
  {                                                                     \
    const T a12 = ADD(m1, m2), s12 = SUB(m1, m2);                       \
    const T a34 = ADD(m3, m4), s34 = SUB(m3, m4);                       \
    y0 = ADD(ADD(m0, a12), a34);                                        \
    y1 = ADD(s12, MUL(s34, K(2.0f)));                                   \
    y2 = ADD(a12, MUL(a34, K(4.0f)));                                   \
    y3 = ADD(ADD(s12, MUL(s34, K(8.0f))), m5);                          \
  }

// Column j of the 6x6 products, transformed: z<j>0 .. z<j>3.
#define O_COL(T, LOAD, ADD, SUB, MUL, K, j)                                              \
  T z##j##0, z##j##1, z##j##2, z##j##3;                                                  \
  AT6(T, ADD, SUB, MUL, K, LOAD(q0##j + c), LOAD(q1##j + c), LOAD(q2##j + c),            \
      LOAD(q3##j + c), LOAD(q4##j + c), LOAD(q5##j + c), z##j##0, z##j##1, z##j##2, z##j##3)

// Output row i of the tile: transformed along the row, biased, activated and stored.
#define O_ROW(T, STORE, ADD, SUB, MUL, K, RELU, i)                                         \
  if (i < rows) {                                                                          \
    T y0, y1, y2, y3;                                                                      \
    AT6(T, ADD, SUB, MUL, K, z0##i, z1##i, z2##i, z3##i, z4##i, z5##i, y0, y1, y2, y3)     \
    y0 = ADD(y0, bi);                                                                      \
    y1 = ADD(y1, bi);                                                                      \
    y2 = ADD(y2, bi);                                                                      \
    y3 = ADD(y3, bi);                                                                      \
    if (relu) {                                                                            \
      y0 = RELU(y0);                                                                       \
      y1 = RELU(y1);                                                                       \
      y2 = RELU(y2);                                                                       \
      y3 = RELU(y3);                                                                       \
    }                                                                                      \
    float *row = o00 + i * rowStride + c;                                                  \
    STORE(row, y0);                                                                        \
    if (cols > 1) STORE(row + outC, y1);                                                   \
    if (cols > 2) STORE(row + 2 * outC, y2);                                               \
    if (cols > 3) STORE(row + 3 * outC, y3);                                               \
  }

#define OUTPUT_TILE43(T, LOAD, STORE, ADD, SUB, MUL, K, RELU) \
  {                                                          \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 0)                      \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 1)                      \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 2)                      \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 3)                      \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 4)                      \
    O_COL(T, LOAD, ADD, SUB, MUL, K, 5)                      \
    const T bi = LOAD(bias + c);                             \
    O_ROW(T, STORE, ADD, SUB, MUL, K, RELU, 0)               \
    O_ROW(T, STORE, ADD, SUB, MUL, K, RELU, 1)               \
    O_ROW(T, STORE, ADD, SUB, MUL, K, RELU, 2)               \
    O_ROW(T, STORE, ADD, SUB, MUL, K, RELU, 3)               \
  }

#define QROW(i)                                                                     \
  const float *q##i##0 = (const float *)mTable[6 * i] + t,                          \
              *q##i##1 = (const float *)mTable[6 * i + 1] + t,                      \
              *q##i##2 = (const float *)mTable[6 * i + 2] + t,                      \
              *q##i##3 = (const float *)mTable[6 * i + 3] + t,                      \
              *q##i##4 = (const float *)mTable[6 * i + 4] + t,                      \
              *q##i##5 = (const float *)mTable[6 * i + 5] + t;

// The output y [batch, outH, outW, outC] = A^T M A (+ bias, then ReLU where `relu`) for
// F(4x4, 3x3), from the 36 products M_k [tiles, outC] whose byte offsets are the 36 int32s
// at `mTable`.
static void output_f43_tiles(const int *mTable, size_t t, float *y, const float *bias,
                             int outH, int outW, int outC, int tilesH, int tilesW, int relu,
                             int t0, int t1) {
  const size_t rowStride = (size_t)outW * outC;
  const v128_t vzero = wasm_f32x4_splat(0.0f);
  const int perImage = tilesH * tilesW;
  for (int g = t0; g < t1; g++, t += outC) {
    const int b = g / perImage, ty = (g - b * perImage) / tilesW;
    const int tx = g - b * perImage - ty * tilesW;
    const int rows = outH - 4 * ty < 4 ? outH - 4 * ty : 4;
    const int cols = outW - 4 * tx < 4 ? outW - 4 * tx : 4;
    float *o00 = y + (size_t)b * outH * rowStride + (size_t)(4 * ty) * rowStride +
                 (size_t)(4 * tx) * outC;
    QROW(0) QROW(1) QROW(2) QROW(3) QROW(4) QROW(5)
    int c = 0;
    for (; c + 4 <= outC; c += 4) OUTPUT_TILE43(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL, VK, VRELU)
    for (; c < outC; c++) OUTPUT_TILE43(float, SLOAD, SSTORE, SADD, SSUB, SMUL, SK, SRELU)
  }
}

__attribute__((export_name("wino_output_f43"))) void wino_output_f43(
    const int *mTable, float *y, const float *bias, int batch, int outH, int outW, int outC,
    int tilesH, int tilesW, int relu, int b0, int b1) {
  const int perImage = tilesH * tilesW;
  output_f43_tiles(mTable, (size_t)b0 * perImage * outC, y, bias, outH, outW, outC, tilesH,
                   tilesW, relu, b0 * perImage, b1 * perImage);
}

// The whole convolution over tiles [t0, t1), a block of `blockTiles` tiles at a time: the
// block's input tiles transformed into V (planes `vs` floats apart), its `count` products
// V_k U_k with the packed transformed filter (planes `packedStride` floats apart) into the M
// planes at the byte offsets in `mTable`, then transformed out into y. A block's V and M stay
// in cache between the three steps, and a thread runs all three on its own tiles.
void gemm_packed_rows(const float *a, int lda, const float *packed, float *c, int ldc, int m0,
                      int m1, int n, int k, int accumulate);

#define WINO_CONV(NAME, COUNT, INPUT, OUTPUT)                                                \
  __attribute__((export_name(NAME))) void INPUT##_conv(                                      \
      const float *x, const float *zeros, const float *packed, int packedStride,             \
      const float *bias, float *y, float *v, int vs, const int *mTable, int inH, int inW,    \
      int inC, int outH, int outW, int outC, int tilesH, int tilesW, int padTop,             \
      int padLeft, int relu, int blockTiles, int t0, int t1) {                               \
    for (int b0 = t0; b0 < t1; b0 += blockTiles) {                                           \
      const int b1 = b0 + blockTiles < t1 ? b0 + blockTiles : t1;                            \
      INPUT##_tiles(x, v, vs, zeros, inH, inW, inC, tilesH, tilesW, padTop, padLeft, b0, b1); \
      for (int k = 0; k < COUNT; k++)                                                        \
        gemm_packed_rows(v + (size_t)k * vs, inC, packed + (size_t)k * packedStride,         \
                         (float *)mTable[k], outC, 0, b1 - b0, outC, inC, 0);                \
      OUTPUT##_tiles(mTable, 0, y, bias, outH, outW, outC, tilesH, tilesW, relu, b0, b1);    \
    }                                                                                        \
  }

WINO_CONV("wino_conv_f23", 16, input_f23, output_f23)
WINO_CONV("wino_conv_f43", 36, input_f43, output_f43)

// The filter gradient by F(2x2, 3x3) transposed: dW = G^T [sum over tiles of
// (A dy A^T) * (B^T x B)] G, each 2x2 dy tile against the 4x4 input tile the forward
// convolution read for it; the sum over tiles is 16 matrix products V_k^T E_k.

// d0, d1 -> A d: four outputs from two inputs.
#define A2(ADD, SUB, NEG, d0, d1, e0, e1, e2, e3) \
  e0 = d0;                                        \
  e1 = ADD(d0, d1);                               \
  e2 = SUB(d0, d1);                               \
  e3 = NEG(d1);

#define DY_TILE(T, LOAD, STORE, ADD, SUB, NEG)                      \
  {                                                                 \
    T h00, h01, h02, h03, h10, h11, h12, h13;                       \
    A2(ADD, SUB, NEG, LOAD(r00 + c), LOAD(r01 + c), h00, h01, h02, h03) \
    A2(ADD, SUB, NEG, LOAD(r10 + c), LOAD(r11 + c), h10, h11, h12, h13) \
    T o0, o1, o2, o3;                                               \
    A2(ADD, SUB, NEG, h00, h10, o0, o1, o2, o3)                     \
    STORE(e + 0 * es + c, o0);                                      \
    STORE(e + 4 * es + c, o1);                                      \
    STORE(e + 8 * es + c, o2);                                      \
    STORE(e + 12 * es + c, o3);                                     \
    A2(ADD, SUB, NEG, h01, h11, o0, o1, o2, o3)                     \
    STORE(e + 1 * es + c, o0);                                      \
    STORE(e + 5 * es + c, o1);                                      \
    STORE(e + 9 * es + c, o2);                                      \
    STORE(e + 13 * es + c, o3);                                     \
    A2(ADD, SUB, NEG, h02, h12, o0, o1, o2, o3)                     \
    STORE(e + 2 * es + c, o0);                                      \
    STORE(e + 6 * es + c, o1);                                      \
    STORE(e + 10 * es + c, o2);                                     \
    STORE(e + 14 * es + c, o3);                                     \
    A2(ADD, SUB, NEG, h03, h13, o0, o1, o2, o3)                     \
    STORE(e + 3 * es + c, o0);                                      \
    STORE(e + 7 * es + c, o1);                                      \
    STORE(e + 11 * es + c, o2);                                     \
    STORE(e + 15 * es + c, o3);                                     \
  }

#define VNEG wasm_f32x4_neg
#define SNEG(a) (-(a))

#define DYPIX(dy_, dx_)                                                               \
  (2 * ty + dy_ < outH && 2 * tx + dx_ < outW                                         \
       ? image + ((size_t)(2 * ty + dy_) * outW + (2 * tx + dx_)) * outC              \
       : zeros)

// Images [b0, b1) of the transformed output-gradient tiles E [16, tiles, outC] (planes `es`
// floats apart) = A dy A^T of dy
// [batch, outH, outW, outC], tiles in wino_input_f23's order; `zeros` holds outC zeros.
__attribute__((export_name("wino_dy_f23"))) void wino_dy_f23(const float *dy, float *eOut,
                                                             const float *zeros, int batch,
                                                             int outH, int outW, int outC,
                                                             int tilesH, int tilesW, int es, int b0,
                                                             int b1) {
  float *e = eOut + (size_t)b0 * tilesH * tilesW * outC;
  for (int b = b0; b < b1; b++) {
    const float *image = dy + (size_t)b * outH * outW * outC;
    for (int ty = 0; ty < tilesH; ty++) {
      for (int tx = 0; tx < tilesW; tx++) {
        const float *r00 = DYPIX(0, 0), *r01 = DYPIX(0, 1);
        const float *r10 = DYPIX(1, 0), *r11 = DYPIX(1, 1);
        int c = 0;
        for (; c + 4 <= outC; c += 4) DY_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB, VNEG)
        for (; c < outC; c++) DY_TILE(float, SLOAD, SSTORE, SADD, SSUB, SNEG)
        e += outC;
      }
    }
  }
}

// s0 .. s3 -> G^T s: three outputs from four inputs, `half` holding 0.5.
#define GT4(ADD, SUB, MUL, s0, s1, s2, s3, w0, w1, w2)    \
  {                                                      \
    const __typeof__(s0) a12 = MUL(ADD(s1, s2), half);   \
    w0 = ADD(s0, a12);                                   \
    w1 = MUL(SUB(s1, s2), half);                         \
    w2 = ADD(a12, s3);                                   \
  }

#define FGRAD_TILE(T, LOAD, STORE, ADD, SUB, MUL)                                     \
  {                                                                                   \
    T u00, u01, u02, u10, u11, u12, u20, u21, u22, u30, u31, u32;                     \
    GT4(ADD, SUB, MUL, LOAD(s0 + o), LOAD(s1 + o), LOAD(s2 + o), LOAD(s3 + o), u00,   \
        u01, u02)                                                                     \
    GT4(ADD, SUB, MUL, LOAD(s4 + o), LOAD(s5 + o), LOAD(s6 + o), LOAD(s7 + o), u10,   \
        u11, u12)                                                                     \
    GT4(ADD, SUB, MUL, LOAD(s8 + o), LOAD(s9 + o), LOAD(s10 + o), LOAD(s11 + o), u20, \
        u21, u22)                                                                     \
    GT4(ADD, SUB, MUL, LOAD(s12 + o), LOAD(s13 + o), LOAD(s14 + o), LOAD(s15 + o),    \
        u30, u31, u32)                                                                \
    T w0, w1, w2;                                                                     \
    GT4(ADD, SUB, MUL, u00, u10, u20, u30, w0, w1, w2)                                \
    STORE(g + 0 * gs + o, w0);                                                        \
    STORE(g + 3 * gs + o, w1);                                                        \
    STORE(g + 6 * gs + o, w2);                                                        \
    GT4(ADD, SUB, MUL, u01, u11, u21, u31, w0, w1, w2)                                \
    STORE(g + 1 * gs + o, w0);                                                        \
    STORE(g + 4 * gs + o, w1);                                                        \
    STORE(g + 7 * gs + o, w2);                                                        \
    GT4(ADD, SUB, MUL, u02, u12, u22, u32, w0, w1, w2)                                \
    STORE(g + 2 * gs + o, w0);                                                        \
    STORE(g + 5 * gs + o, w1);                                                        \
    STORE(g + 8 * gs + o, w2);                                                        \
  }

// Input channels [i0, i1) of the HWIO filter gradient dW [3, 3, inC, outC] = G^T S G from
// the 16 summed products S_k [inC, outC], whose byte offsets are the 16 int32s at `sTable`.
__attribute__((export_name("wino_filter_grad_f23"))) void wino_filter_grad_f23(
    const int *sTable, float *dw, int inC, int outC, int i0, int i1) {
  const size_t gs = (size_t)inC * outC;
  const v128_t vhalf = wasm_f32x4_splat(0.5f);
  for (int i = i0; i < i1; i++) {
    const size_t row = (size_t)i * outC;
    const float *s0 = (const float *)sTable[0] + row, *s1 = (const float *)sTable[1] + row;
    const float *s2 = (const float *)sTable[2] + row, *s3 = (const float *)sTable[3] + row;
    const float *s4 = (const float *)sTable[4] + row, *s5 = (const float *)sTable[5] + row;
    const float *s6 = (const float *)sTable[6] + row, *s7 = (const float *)sTable[7] + row;
    const float *s8 = (const float *)sTable[8] + row, *s9 = (const float *)sTable[9] + row;
    const float *s10 = (const float *)sTable[10] + row, *s11 = (const float *)sTable[11] + row;
    const float *s12 = (const float *)sTable[12] + row, *s13 = (const float *)sTable[13] + row;
    const float *s14 = (const float *)sTable[14] + row, *s15 = (const float *)sTable[15] + row;
    float *g = dw + row;
    int o = 0;
    {
      const v128_t half = vhalf;
      for (; o + 4 <= outC; o += 4) FGRAD_TILE(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL)
    }
    {
      const float half = 0.5f;
      for (; o < outC; o++) FGRAD_TILE(float, SLOAD, SSTORE, SADD, SSUB, SMUL)
    }
  }
}

// Rows of V and E per block of the product below: 256 rows of 64 channels of each stay in L2
// while every 4x8 block of S passes over them.
#define GEMM_TN_ROWS 256

// S_k = V_k^T E_k for k < count: S_k [inC, outC] from V_k [rows, inC] and E_k [rows, outC],
// the k-th of each `count` matrices `vStride` and `eStride` floats apart. Register-blocked
// 4x8 over S, rows blocked for cache; reads V and E in place, so neither is transposed or
// packed.
__attribute__((export_name("gemm_tn_batched"))) void gemm_tn_batched(
    const float *vAll, int vStride, const float *eAll, int eStride, float *sAll, int count,
    int rows, int inC, int outC) {
  for (int k = 0; k < count; k++) {
    const float *v = vAll + (size_t)k * vStride;
    const float *e = eAll + (size_t)k * eStride;
    float *s = sAll + (size_t)k * inC * outC;
    for (size_t i = 0; i < (size_t)inC * outC; i++) s[i] = 0.0f;
    for (int t0 = 0; t0 < rows; t0 += GEMM_TN_ROWS) {
      const int t1 = t0 + GEMM_TN_ROWS < rows ? t0 + GEMM_TN_ROWS : rows;
      int i = 0;
      for (; i + 4 <= inC; i += 4) {
        float *s0 = s + (size_t)i * outC, *s1 = s0 + outC, *s2 = s1 + outC, *s3 = s2 + outC;
        int j = 0;
        for (; j + 8 <= outC; j += 8) {
          v128_t c00 = wasm_v128_load(s0 + j), c01 = wasm_v128_load(s0 + j + 4);
          v128_t c10 = wasm_v128_load(s1 + j), c11 = wasm_v128_load(s1 + j + 4);
          v128_t c20 = wasm_v128_load(s2 + j), c21 = wasm_v128_load(s2 + j + 4);
          v128_t c30 = wasm_v128_load(s3 + j), c31 = wasm_v128_load(s3 + j + 4);
          const float *vr = v + (size_t)t0 * inC + i;
          const float *er = e + (size_t)t0 * outC + j;
          for (int t = t0; t < t1; t++, vr += inC, er += outC) {
            const v128_t b0 = wasm_v128_load(er), b1 = wasm_v128_load(er + 4);
            const v128_t a0 = wasm_v128_load32_splat(vr);
            const v128_t a1 = wasm_v128_load32_splat(vr + 1);
            const v128_t a2 = wasm_v128_load32_splat(vr + 2);
            const v128_t a3 = wasm_v128_load32_splat(vr + 3);
            c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(a0, b0));
            c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(a0, b1));
            c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(a1, b0));
            c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(a1, b1));
            c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(a2, b0));
            c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(a2, b1));
            c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(a3, b0));
            c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(a3, b1));
          }
          wasm_v128_store(s0 + j, c00);
          wasm_v128_store(s0 + j + 4, c01);
          wasm_v128_store(s1 + j, c10);
          wasm_v128_store(s1 + j + 4, c11);
          wasm_v128_store(s2 + j, c20);
          wasm_v128_store(s2 + j + 4, c21);
          wasm_v128_store(s3 + j, c30);
          wasm_v128_store(s3 + j + 4, c31);
        }
        for (; j < outC; j++) {
          float a0 = s0[j], a1 = s1[j], a2 = s2[j], a3 = s3[j];
          for (int t = t0; t < t1; t++) {
            const float *vr = v + (size_t)t * inC + i;
            const float b = e[(size_t)t * outC + j];
            a0 += vr[0] * b;
            a1 += vr[1] * b;
            a2 += vr[2] * b;
            a3 += vr[3] * b;
          }
          s0[j] = a0;
          s1[j] = a1;
          s2[j] = a2;
          s3[j] = a3;
        }
      }
      for (; i < inC; i++) {
        float *si = s + (size_t)i * outC;
        for (int t = t0; t < t1; t++) {
          const float a = v[(size_t)t * inC + i];
          const float *er = e + (size_t)t * outC;
          for (int j = 0; j < outC; j++) si[j] += a * er[j];
        }
      }
    }
  }
}

// F(4x4, 3x3) transposed for the filter gradient: dW = G^T [sum over tiles of
// (A dy A^T) * (B^T x B)] G with 4x4 dy tiles against the 6x6 input tiles of wino_input_f43,
// A^T and G those of the forward F(4x4, 3x3) above: 36 products per 16 dy pixels instead of
// F(2x2, 3x3)'s 64.

// d0 .. d3 -> A d: six values from four (A^T is the forward output transform, AT6).
#define A6(T, ADD, SUB, MUL, K, d0, d1, d2, d3, e0, e1, e2, e3, e4, e5) \
  {                                                                   \
    const T a02 = ADD(d0, d2), a13 = ADD(d1, d3);                      \
    const T b02 = ADD(d0, MUL(d2, K(4.0f)));                           \
    const T b13 = ADD(MUL(d1, K(2.0f)), MUL(d3, K(8.0f)));             \
    e0 = d0;                                                           \
    e1 = ADD(a02, a13);                                                \
    e2 = SUB(a02, a13);                                                \
    e3 = ADD(b02, b13);                                                \
    e4 = SUB(b02, b13);                                                \
    e5 = d3;                                                           \
  }

// Row r of the dy tile, transformed along the row: h<r>0 .. h<r>5.
#define DY_ROW43(T, LOAD, ADD, SUB, MUL, K, r)                                             \
  T h##r##0, h##r##1, h##r##2, h##r##3, h##r##4, h##r##5;                                  \
  A6(T, ADD, SUB, MUL, K, LOAD(q##r##0 + c), LOAD(q##r##1 + c), LOAD(q##r##2 + c),         \
     LOAD(q##r##3 + c), h##r##0, h##r##1, h##r##2, h##r##3, h##r##4, h##r##5)

// Column j of the row-transformed tile, transformed along the column and stored.
#define DY_COL43(T, STORE, ADD, SUB, MUL, K, j)                                      \
  {                                                                                  \
    T o0, o1, o2, o3, o4, o5;                                                        \
    A6(T, ADD, SUB, MUL, K, h0##j, h1##j, h2##j, h3##j, o0, o1, o2, o3, o4, o5)      \
    STORE_COL6(STORE, e, es, j, o0, o1, o2, o3, o4, o5)                              \
  }

#define DY_TILE43(T, LOAD, STORE, ADD, SUB, MUL, K) \
  {                                                  \
    DY_ROW43(T, LOAD, ADD, SUB, MUL, K, 0)           \
    DY_ROW43(T, LOAD, ADD, SUB, MUL, K, 1)           \
    DY_ROW43(T, LOAD, ADD, SUB, MUL, K, 2)           \
    DY_ROW43(T, LOAD, ADD, SUB, MUL, K, 3)           \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 0)          \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 1)          \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 2)          \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 3)          \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 4)          \
    DY_COL43(T, STORE, ADD, SUB, MUL, K, 5)          \
  }

#define DYPIX4(dy_, dx_)                                                              \
  (4 * ty + dy_ < outH && 4 * tx + dx_ < outW                                         \
       ? image + ((size_t)(4 * ty + dy_) * outW + (4 * tx + dx_)) * outC              \
       : zeros)

#define DYROW4(r)                                                                    \
  const float *q##r##0 = DYPIX4(r, 0), *q##r##1 = DYPIX4(r, 1), *q##r##2 = DYPIX4(r, 2), \
              *q##r##3 = DYPIX4(r, 3);

// Images [b0, b1) of the transformed output-gradient tiles E [36, tiles, outC] (planes `es`
// floats apart) = A dy A^T of
// dy [batch, outH, outW, outC], tiles in wino_input_f43's order; `zeros` holds outC zeros.
__attribute__((export_name("wino_dy_f43"))) void wino_dy_f43(const float *dy, float *eOut,
                                                             const float *zeros, int batch,
                                                             int outH, int outW, int outC,
                                                             int tilesH, int tilesW, int es, int b0,
                                                             int b1) {
  float *e = eOut + (size_t)b0 * tilesH * tilesW * outC;
  for (int b = b0; b < b1; b++) {
    const float *image = dy + (size_t)b * outH * outW * outC;
    for (int ty = 0; ty < tilesH; ty++) {
      for (int tx = 0; tx < tilesW; tx++) {
        DYROW4(0) DYROW4(1) DYROW4(2) DYROW4(3)
        int c = 0;
        for (; c + 4 <= outC; c += 4) DY_TILE43(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL, VK)
        for (; c < outC; c++) DY_TILE43(float, SLOAD, SSTORE, SADD, SSUB, SMUL, SK)
        e += outC;
      }
    }
  }
}

// s0 .. s5 -> G^T s: three values from six (G of wino_filter_f43's G6).
#define GT6(T, ADD, SUB, MUL, K, s0, s1, s2, s3, s4, s5, w0, w1, w2)                 \
  {                                                                                 \
    const T a12 = ADD(s1, s2), d12 = SUB(s2, s1);                                    \
    const T a34 = ADD(s3, s4), d34 = SUB(s3, s4);                                    \
    w0 = ADD(SUB(MUL(s0, K(0.25f)), MUL(a12, K(1.0f / 6))), MUL(a34, K(1.0f / 24)));  \
    w1 = ADD(MUL(d12, K(1.0f / 6)), MUL(d34, K(1.0f / 12)));                         \
    w2 = ADD(MUL(SUB(a34, a12), K(1.0f / 6)), s5);                                   \
  }

// Row r (transformed kh) of S, transformed along the columns: u<r>0 .. u<r>2 (kw).
#define FG_ROW43(T, LOAD, ADD, SUB, MUL, K, r)                                               \
  T u##r##0, u##r##1, u##r##2;                                                               \
  GT6(T, ADD, SUB, MUL, K, LOAD(S(6 * r + 0) + o), LOAD(S(6 * r + 1) + o),                   \
      LOAD(S(6 * r + 2) + o), LOAD(S(6 * r + 3) + o), LOAD(S(6 * r + 4) + o),                \
      LOAD(S(6 * r + 5) + o), u##r##0, u##r##1, u##r##2)

// Column kw = j, transformed along the rows into kh = 0 .. 2 and stored.
#define FG_COL43(T, STORE, ADD, SUB, MUL, K, j)                                       \
  {                                                                                   \
    T w0, w1, w2;                                                                     \
    GT6(T, ADD, SUB, MUL, K, u0##j, u1##j, u2##j, u3##j, u4##j, u5##j, w0, w1, w2)   \
    STORE(g + (0 + j) * gs + o, w0);                                                  \
    STORE(g + (3 + j) * gs + o, w1);                                                  \
    STORE(g + (6 + j) * gs + o, w2);                                                  \
  }

#define FGRAD_TILE43(T, LOAD, STORE, ADD, SUB, MUL, K) \
  {                                                     \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 0)              \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 1)              \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 2)              \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 3)              \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 4)              \
    FG_ROW43(T, LOAD, ADD, SUB, MUL, K, 5)              \
    FG_COL43(T, STORE, ADD, SUB, MUL, K, 0)             \
    FG_COL43(T, STORE, ADD, SUB, MUL, K, 1)             \
    FG_COL43(T, STORE, ADD, SUB, MUL, K, 2)             \
  }

// Input channels [i0, i1) of the HWIO filter gradient dW [3, 3, inC, outC] = G^T S G from
// the 36 summed products S_k [inC, outC] stored one after another at `s`.
__attribute__((export_name("wino_filter_grad_f43"))) void wino_filter_grad_f43(
    const float *s, float *dw, int inC, int outC, int i0, int i1) {
  const size_t gs = (size_t)inC * outC;
#define S(k) (s + (size_t)(k) * gs + row)
  for (int i = i0; i < i1; i++) {
    const size_t row = (size_t)i * outC;
    float *g = dw + row;
    int o = 0;
    for (; o + 4 <= outC; o += 4) FGRAD_TILE43(v128_t, VLOAD, VSTORE, VADD, VSUB, VMUL, VK)
    for (; o < outC; o++) FGRAD_TILE43(float, SLOAD, SSTORE, SADD, SSUB, SMUL, SK)
  }
#undef S
}
