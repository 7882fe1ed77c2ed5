// Baseline JPEG decoding that gives libjpeg-turbo's pixels (what Pillow and sharp decode):
// the accurate integer IDCT ("islow") with its SIMD paths' 16-bit limits, "fancy" (triangle)
// chroma upsampling for 4:2:0 and 4:2:2, and its fixed-point YCbCr -> RGB. Anything else
// (progressive, arithmetic coding, 12-bit, CMYK, Adobe colour transforms, other sampling
// factors, damaged data, values past libjpeg-turbo's 16-bit SIMD ranges) returns an error
// code, and the caller decodes the file another way.
//
// Built by packages/data/wasm/build.sh; no libc: the caller places the file, the work memory
// and the output in this module's memory.

#include <wasm_simd128.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

enum {
  OK = 0,
  E_UNSUPPORTED = -1, // a valid JPEG this decoder leaves to another
  E_CORRUPT = -2,     // damaged or truncated data
  E_RANGE = -3,       // values past the 16-bit ranges of libjpeg-turbo's SIMD IDCT
};

typedef struct {
  u8 look_bits[512]; // code length of the 9-bit prefix, 0 when longer than 9 bits
  u8 look_sym[512];
  int maxcode[18];   // largest code of each length, -1 for none
  int valoffset[18]; // symbol index = valoffset[length] + code
  u8 vals[256];
  // For AC tables: a coefficient whose code and value bits both fit the 9-bit prefix, as
  // value << 8 | run << 4 | bits used; 0 when the prefix needs the slow path.
  int fast_ac[512];
  int defined;
} Huff;

typedef struct {
  int id, h, v, tq, td, ta;
  int bw, bh;      // blocks per row and rows of blocks in this component's plane
  u32 plane;       // byte offset of the plane in the work memory
  int stride;      // bytes per plane row (bw * 8)
  int dw, dh;      // libjpeg's downsampled_width and downsampled_height
  int dc;          // DC predictor
} Comp;

static u16 quant[4][64]; // natural order
static int quant_defined[4];
static Huff huff[8];     // 0-3 DC, 4-7 AC
static Comp comps[3];
static int ncomp, width, height, hmax, vmax, mcusx, mcusy, restart_interval;
static int adobe, jfif;
static u32 scan_start; // offset of the entropy-coded data
static u32 work_bytes, up_at, up_row;

static const u8 *src;
static u32 srclen, pos;
static u64 bitbuf;
static int bitcnt, padbits, hit_marker, next_restart;

static const u8 ZIGZAG[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

static inline u8 clamp255(int v) { return (u8)(v < 0 ? 0 : v > 255 ? 255 : v); }

static u32 be16(u32 at) { return ((u32)src[at] << 8) | src[at + 1]; }

static void zero(void *p, u32 n) {
  u8 *b = (u8 *)p;
  for (u32 i = 0; i < n; i++) b[i] = 0;
}

/** Canonical Huffman codes from the 16 counts and the symbols of a DHT segment. */
static int build_huff(Huff *t, const u8 *counts, const u8 *vals, int nvals) {
  zero(t, sizeof(Huff));
  for (int i = 0; i < nvals; i++) t->vals[i] = vals[i];
  int code = 0, k = 0;
  for (int len = 1; len <= 16; len++) {
    int n = counts[len - 1];
    t->valoffset[len] = k - code;
    if (n == 0) {
      t->maxcode[len] = -1;
    } else {
      for (int i = 0; i < n; i++, k++, code++) {
        if (code >= (1 << len)) return E_CORRUPT; // more codes than this length holds
        if (len <= 9) {
          int first = code << (9 - len), count = 1 << (9 - len);
          for (int j = 0; j < count; j++) {
            t->look_bits[first + j] = (u8)len;
            t->look_sym[first + j] = vals[k];
          }
        }
      }
      t->maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  t->maxcode[17] = 0x7fffffff;
  t->defined = 1;
  return OK;
}

/** Fills fast_ac of an AC table (see Huff). */
static void build_fast_ac(Huff *t) {
  for (int look = 0; look < 512; look++) {
    int len = t->look_bits[look], rs = t->look_sym[look];
    int run = rs >> 4, size = rs & 15;
    t->fast_ac[look] = 0;
    if (len == 0 || size == 0 || len + size > 9) continue;
    int bits = (look >> (9 - len - size)) & ((1 << size) - 1);
    int v = bits < (1 << (size - 1)) ? bits - (1 << size) + 1 : bits;
    t->fast_ac[look] = (int)((unsigned)v << 8) | run << 4 | (len + size);
  }
}

/**
 * Reads the markers up to the first scan. Returns OK when this decoder can decode the
 * picture, with its size and the work memory it needs in the globals.
 */
int jpeg_parse(const u8 *data, u32 len) {
  src = data;
  srclen = len;
  ncomp = 0;
  restart_interval = 0;
  adobe = jfif = 0;
  for (int i = 0; i < 4; i++) quant_defined[i] = 0;
  for (int i = 0; i < 8; i++) huff[i].defined = 0;
  if (len < 4 || data[0] != 0xFF || data[1] != 0xD8) return E_CORRUPT;
  u32 at = 2;
  int frame = 0;
  for (;;) {
    if (at + 4 > len) return E_CORRUPT;
    if (src[at] != 0xFF) return E_CORRUPT;
    u32 marker = src[at + 1];
    if (marker == 0xFF) { // fill byte
      at++;
      continue;
    }
    if (marker == 0x01 || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD8)) return E_CORRUPT;
    u32 seg = be16(at + 2);
    if (seg < 2 || at + 2 + seg > len) return E_CORRUPT;
    u32 p = at + 4, end = at + 2 + seg;
    if (marker == 0xC0 || marker == 0xC1) { // baseline or extended sequential, Huffman
      if (frame || seg < 8) return E_CORRUPT;
      frame = 1;
      if (src[p] != 8) return E_UNSUPPORTED;
      height = (int)be16(p + 1);
      width = (int)be16(p + 3);
      ncomp = src[p + 5];
      if (width == 0 || height == 0) return E_UNSUPPORTED; // DNL: rare, left to libjpeg
      if (ncomp != 1 && ncomp != 3) return E_UNSUPPORTED;
      if (seg != 8 + 3 * (u32)ncomp) return E_CORRUPT;
      hmax = vmax = 1;
      for (int c = 0; c < ncomp; c++) {
        Comp *k = &comps[c];
        k->id = src[p + 6 + 3 * c];
        k->h = src[p + 7 + 3 * c] >> 4;
        k->v = src[p + 7 + 3 * c] & 15;
        k->tq = src[p + 8 + 3 * c];
        if (k->h < 1 || k->h > 4 || k->v < 1 || k->v > 4 || k->tq > 3) return E_CORRUPT;
        if (k->h > hmax) hmax = k->h;
        if (k->v > vmax) vmax = k->v;
      }
    } else if ((marker >= 0xC2 && marker <= 0xCF) && marker != 0xC4 && marker != 0xC8 &&
               marker != 0xCC) {
      return E_UNSUPPORTED; // progressive, lossless, arithmetic, hierarchical
    } else if (marker == 0xC4) { // DHT
      while (p < end) {
        if (p + 17 > end) return E_CORRUPT;
        int tc = src[p] >> 4, th = src[p] & 15;
        if (tc > 1 || th > 3) return E_CORRUPT;
        int n = 0;
        for (int i = 0; i < 16; i++) n += src[p + 1 + i];
        if (n > 256 || p + 17 + (u32)n > end) return E_CORRUPT;
        int r = build_huff(&huff[tc * 4 + th], src + p + 1, src + p + 17, n);
        if (r) return r;
        if (tc == 1) build_fast_ac(&huff[4 + th]);
        p += 17 + (u32)n;
      }
    } else if (marker == 0xDB) { // DQT
      while (p < end) {
        int pq = src[p] >> 4, tq = src[p] & 15;
        if (tq > 3) return E_CORRUPT;
        if (pq != 0) return E_UNSUPPORTED; // 16-bit tables: libjpeg accepts, keep it there
        if (p + 65 > end) return E_CORRUPT;
        for (int i = 0; i < 64; i++) quant[tq][ZIGZAG[i]] = src[p + 1 + i];
        quant_defined[tq] = 1;
        p += 65;
      }
    } else if (marker == 0xDD) { // DRI
      if (seg != 4) return E_CORRUPT;
      restart_interval = (int)be16(p);
    } else if (marker == 0xE0) {
      if (seg >= 7 && src[p] == 'J' && src[p + 1] == 'F' && src[p + 2] == 'I' &&
          src[p + 3] == 'F' && src[p + 4] == 0) {
        jfif = 1;
        // libjpeg warns about other major versions, which sharp turns into an error.
        if (seg < 16 || (src[p + 5] != 1 && src[p + 5] != 2)) return E_UNSUPPORTED;
      }
    } else if (marker == 0xEE) {
      if (seg >= 7 && src[p] == 'A' && src[p + 1] == 'd' && src[p + 2] == 'o' &&
          src[p + 3] == 'b' && src[p + 4] == 'e')
        adobe = 1;
    } else if (marker == 0xDA) { // SOS
      if (!frame) return E_CORRUPT;
      int ns = src[p];
      if (ns != ncomp) return E_UNSUPPORTED; // one scan per component: left to libjpeg
      if (seg != 6 + 2 * (u32)ns) return E_CORRUPT;
      for (int s = 0; s < ns; s++) {
        int id = src[p + 1 + 2 * s], tables = src[p + 2 + 2 * s];
        if (comps[s].id != id) return E_UNSUPPORTED; // scan order differs from the frame's
        comps[s].td = tables >> 4;
        comps[s].ta = tables & 15;
        if (comps[s].td > 3 || comps[s].ta > 3) return E_CORRUPT;
        if (!huff[comps[s].td].defined || !huff[4 + comps[s].ta].defined) return E_UNSUPPORTED;
        if (!quant_defined[comps[s].tq]) return E_CORRUPT;
      }
      u32 q = p + 1 + 2 * (u32)ns;
      if (src[q] != 0 || src[q + 1] != 63 || src[q + 2] != 0) return E_UNSUPPORTED;
      scan_start = end;
      break;
    } else if (marker == 0xD9) {
      return E_CORRUPT; // no scan
    }
    at = end;
  }
  // libjpeg takes 3 components as YCbCr unless an Adobe marker or RGB component ids say
  // otherwise; such pictures are left to it.
  if (ncomp == 3) {
    if (adobe) return E_UNSUPPORTED;
    if (!jfif && comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B')
      return E_UNSUPPORTED;
    // Y at the full resolution, chroma 1x1: 4:4:4, 4:2:2 (h2v1), 4:2:0 (h2v2).
    if (comps[1].h != 1 || comps[1].v != 1 || comps[2].h != 1 || comps[2].v != 1)
      return E_UNSUPPORTED;
    if (comps[0].h != hmax || comps[0].v != vmax || hmax > 2 || vmax > 2 ||
        (hmax == 1 && vmax == 2))
      return E_UNSUPPORTED;
    mcusx = (width + 8 * hmax - 1) / (8 * hmax);
    mcusy = (height + 8 * vmax - 1) / (8 * vmax);
    for (int c = 0; c < 3; c++) {
      Comp *k = &comps[c];
      k->bw = mcusx * k->h;
      k->bh = mcusy * k->v;
      k->dw = (width * k->h + hmax - 1) / hmax;
      k->dh = (height * k->v + vmax - 1) / vmax;
    }
    // libjpeg upsamples a chroma plane this narrow without the triangle filter.
    if (hmax == 2 && comps[1].dw <= 2) return E_UNSUPPORTED;
  } else {
    Comp *k = &comps[0];
    k->bw = (width + 7) / 8; // a single-component scan is never interleaved
    k->bh = (height + 7) / 8;
    k->dw = width;
    k->dh = height;
  }
  u64 at_work = 0;
  for (int c = 0; c < ncomp; c++) {
    comps[c].stride = comps[c].bw * 8;
    comps[c].plane = (u32)at_work;
    at_work += (u64)comps[c].stride * (u64)comps[c].bh * 8;
  }
  // Past 1 GiB (a picture far beyond any pixel limit) the offsets would not fit: sharp's.
  if (at_work + 3 * (u64)width * (u64)height > (1u << 30)) return E_UNSUPPORTED;
  // Two upsampled chroma rows and the column sums, with room for whole vectors past the end.
  up_at = (u32)at_work;
  up_row = ((u32)width + 64) & ~15u;
  work_bytes = (u32)at_work + 2 * up_row + 2 * ((u32)width + 64);
  return OK;
}

/** What jpeg_parse found: 0 width, 1 height, 2 components, 3 work bytes. */
u32 jpeg_info(int what) {
  switch (what) {
  case 0: return (u32)width;
  case 1: return (u32)height;
  case 2: return (u32)ncomp;
  default: return work_bytes;
  }
}

// ---- entropy decoding ------------------------------------------------------------------

static void fill(void) {
  while (bitcnt <= 56) {
    u32 c = 0;
    if (!hit_marker && pos < srclen) {
      c = src[pos];
      if (c == 0xFF) {
        u32 next = pos + 1 < srclen ? src[pos + 1] : 0xD9;
        if (next == 0x00) {
          pos += 2;
        } else {
          hit_marker = 1; // a marker: stay before it; what follows reads as zeros
        }
      } else {
        pos++;
      }
      if (!hit_marker) {
        bitbuf |= (u64)c << (56 - bitcnt);
        bitcnt += 8;
        continue;
      }
    }
    padbits += 8; // zeros past the data: libjpeg warns, so reading them is an error here
    bitcnt += 8;
  }
}

static inline u32 take(int n) {
  u32 v = (u32)(bitbuf >> (64 - n));
  bitbuf <<= n;
  bitcnt -= n;
  return v;
}

static inline int decode_symbol(const Huff *t) {
  u32 look = (u32)(bitbuf >> (64 - 9));
  int n = t->look_bits[look];
  if (n) {
    bitbuf <<= n;
    bitcnt -= n;
    return t->look_sym[look];
  }
  int len = 10;
  int code = (int)(bitbuf >> (64 - 10));
  while (code > t->maxcode[len]) {
    len++;
    code = (int)(bitbuf >> (64 - len));
  }
  if (len > 16) return -1;
  bitbuf <<= len;
  bitcnt -= len;
  int at = t->valoffset[len] + code;
  return at >= 0 && at < 256 ? t->vals[at] : -1;
}

static inline int extend(u32 v, int s) { return v < (1u << (s - 1)) ? (int)v - (1 << s) + 1 : (int)v; }

/**
 * One block's coefficients, dequantized, in natural order: 1 when an AC coefficient is not
 * zero, 0 when only DC is, a negative value on an error.
 */
static int decode_block(Comp *k, int *coef) {
  int any_ac = 0;
  const Huff *dc = &huff[k->td], *ac = &huff[4 + k->ta];
  const u16 *q = quant[k->tq];
  for (int i = 0; i < 64; i++) coef[i] = 0;
  if (bitcnt < 32) fill();
  int s = decode_symbol(dc);
  if (s < 0 || s > 11) return E_CORRUPT;
  if (s) k->dc += extend(take(s), s);
  int v = k->dc * q[0];
  if (v > 32767 || v < -32768) return E_RANGE;
  coef[0] = v;
  for (int i = 1; i < 64; i++) {
    if (bitcnt < 32) fill();
    int fast = ac->fast_ac[bitbuf >> 55];
    if (fast) {
      int used = fast & 15;
      bitbuf <<= used;
      bitcnt -= used;
      i += (fast >> 4) & 15;
      if (i > 63) return E_CORRUPT;
      int z = ZIGZAG[i];
      v = (fast >> 8) * q[z];
      if (v > 32767 || v < -32768) return E_RANGE;
      coef[z] = v;
      any_ac |= v;
      continue;
    }
    int rs = decode_symbol(ac);
    if (rs < 0) return E_CORRUPT;
    int r = rs >> 4;
    s = rs & 15;
    if (s) {
      i += r;
      if (i > 63) return E_CORRUPT;
      int z = ZIGZAG[i];
      v = extend(take(s), s) * q[z];
      if (v > 32767 || v < -32768) return E_RANGE;
      coef[z] = v;
      any_ac |= v;
    } else {
      if (r != 15) break;
      i += 15;
    }
  }
  return any_ac != 0;
}

// ---- IDCT ---------------------------------------------------------------------------------

#define F_0_298 2446
#define F_0_390 3196
#define F_0_541 4433
#define F_0_765 6270
#define F_0_899 7373
#define F_1_175 9633
#define F_1_501 12299
#define F_1_847 15137
#define F_1_961 16069
#define F_2_053 16819
#define F_2_562 20995
#define F_3_072 25172

#define MUL(a, c) wasm_i32x4_mul((a), wasm_i32x4_splat(c))

/**
 * One 1-D pass of the LL&M IDCT on 4 lanes: x[0..7] in, the 8 results (before descaling)
 * in out[0..7]. Both passes use it: the same arithmetic, then their own shifts.
 */
static inline void idct_1d(const v128_t *x, v128_t *out) {
  v128_t z2 = x[2], z3 = x[6];
  v128_t z1 = MUL(wasm_i32x4_add(z2, z3), F_0_541);
  v128_t tmp2 = wasm_i32x4_add(z1, MUL(z3, -F_1_847));
  v128_t tmp3 = wasm_i32x4_add(z1, MUL(z2, F_0_765));
  v128_t tmp0 = wasm_i32x4_shl(wasm_i32x4_add(x[0], x[4]), 13);
  v128_t tmp1 = wasm_i32x4_shl(wasm_i32x4_sub(x[0], x[4]), 13);
  v128_t tmp10 = wasm_i32x4_add(tmp0, tmp3), tmp13 = wasm_i32x4_sub(tmp0, tmp3);
  v128_t tmp11 = wasm_i32x4_add(tmp1, tmp2), tmp12 = wasm_i32x4_sub(tmp1, tmp2);
  v128_t t0 = x[7], t1 = x[5], t2 = x[3], t3 = x[1];
  v128_t a1 = wasm_i32x4_add(t0, t3), a2 = wasm_i32x4_add(t1, t2);
  v128_t a3 = wasm_i32x4_add(t0, t2), a4 = wasm_i32x4_add(t1, t3);
  v128_t z5 = MUL(wasm_i32x4_add(a3, a4), F_1_175);
  t0 = MUL(t0, F_0_298);
  t1 = MUL(t1, F_2_053);
  t2 = MUL(t2, F_3_072);
  t3 = MUL(t3, F_1_501);
  a1 = MUL(a1, -F_0_899);
  a2 = MUL(a2, -F_2_562);
  a3 = wasm_i32x4_add(MUL(a3, -F_1_961), z5);
  a4 = wasm_i32x4_add(MUL(a4, -F_0_390), z5);
  t0 = wasm_i32x4_add(t0, wasm_i32x4_add(a1, a3));
  t1 = wasm_i32x4_add(t1, wasm_i32x4_add(a2, a4));
  t2 = wasm_i32x4_add(t2, wasm_i32x4_add(a2, a3));
  t3 = wasm_i32x4_add(t3, wasm_i32x4_add(a1, a4));
  out[0] = wasm_i32x4_add(tmp10, t3);
  out[7] = wasm_i32x4_sub(tmp10, t3);
  out[1] = wasm_i32x4_add(tmp11, t2);
  out[6] = wasm_i32x4_sub(tmp11, t2);
  out[2] = wasm_i32x4_add(tmp12, t1);
  out[5] = wasm_i32x4_sub(tmp12, t1);
  out[3] = wasm_i32x4_add(tmp13, t0);
  out[4] = wasm_i32x4_sub(tmp13, t0);
}

static inline void transpose4(v128_t *a, v128_t *b, v128_t *c, v128_t *d) {
  v128_t t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5);
  v128_t t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
  *a = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  *b = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  *c = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  *d = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/** Transposes an 8x8 matrix held as lo[r] (columns 0-3) and hi[r] (columns 4-7). */
static inline void transpose8(v128_t *lo, v128_t *hi) {
  transpose4(&lo[0], &lo[1], &lo[2], &lo[3]);
  transpose4(&hi[4], &hi[5], &hi[6], &hi[7]);
  transpose4(&hi[0], &hi[1], &hi[2], &hi[3]);
  transpose4(&lo[4], &lo[5], &lo[6], &lo[7]);
  for (int i = 0; i < 4; i++) {
    v128_t t = hi[i];
    hi[i] = lo[4 + i];
    lo[4 + i] = t;
  }
}

/**
 * libjpeg-turbo's jpeg_idct_islow on dequantized coefficients, with its SIMD paths' limits:
 * the first pass's results must fit 16 bits, the samples saturate to 0..255.
 */
static int idct_block(const int *coef, u8 *out, int stride) {
  v128_t lo[8], hi[8], rlo[8], rhi[8];
  for (int r = 0; r < 8; r++) {
    lo[r] = wasm_v128_load(coef + 8 * r);
    hi[r] = wasm_v128_load(coef + 8 * r + 4);
  }
  // Pass 1 down the columns: each lane is a column.
  idct_1d(lo, rlo);
  idct_1d(hi, rhi);
  v128_t round1 = wasm_i32x4_splat(1 << 10), big = wasm_i32x4_splat(32767),
         small = wasm_i32x4_splat(-32768);
  v128_t outside = wasm_i32x4_splat(0);
  for (int r = 0; r < 8; r++) {
    rlo[r] = wasm_i32x4_shr(wasm_i32x4_add(rlo[r], round1), 11);
    rhi[r] = wasm_i32x4_shr(wasm_i32x4_add(rhi[r], round1), 11);
    outside = wasm_v128_or(outside, wasm_i32x4_gt(rlo[r], big));
    outside = wasm_v128_or(outside, wasm_i32x4_lt(rlo[r], small));
    outside = wasm_v128_or(outside, wasm_i32x4_gt(rhi[r], big));
    outside = wasm_v128_or(outside, wasm_i32x4_lt(rhi[r], small));
  }
  if (wasm_v128_any_true(outside)) return E_RANGE;
  // Pass 2 along the rows: transpose so each lane is a row.
  transpose8(rlo, rhi);
  idct_1d(rlo, lo);
  idct_1d(rhi, hi);
  v128_t round2 = wasm_i32x4_splat(1 << 17), center = wasm_i16x8_splat(128);
  for (int c = 0; c < 8; c++) {
    lo[c] = wasm_i32x4_shr(wasm_i32x4_add(lo[c], round2), 18);
    hi[c] = wasm_i32x4_shr(wasm_i32x4_add(hi[c], round2), 18);
  }
  // lo[c] holds column c of rows 0-3, hi[c] of rows 4-7: back to rows.
  transpose8(lo, hi);
  for (int r = 0; r < 8; r++) {
    v128_t s16 = wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(lo[r], hi[r]), center);
    v128_t s8 = wasm_u8x16_narrow_i16x8(s16, s16);
    *(u64 *)(out + r * stride) = wasm_i64x2_extract_lane(s8, 0);
  }
  return OK;
}

/** idct_block of a block whose AC coefficients are all zero: one value, exactly. */
static int idct_dc(int dc, u8 *out, int stride) {
  int w = dc * 4; // the first pass: DC << PASS1_BITS
  if (w > 32767 || w < -32768) return E_RANGE;
  u8 v = clamp255(((w + 16) >> 5) + 128);
  u64 row = 0x0101010101010101ull * v;
  for (int r = 0; r < 8; r++) *(u64 *)(out + r * stride) = row;
  return OK;
}

/** A decoded block into its plane. */
static inline int put_block(int ac, const int *coef, u8 *out, int stride) {
  return ac ? idct_block(coef, out, stride) : idct_dc(coef[0], out, stride);
}

// ---- scan ---------------------------------------------------------------------------------

static int read_restart(void) {
  // Only the last byte's padding may be left; then RSTn must follow.
  if (bitcnt < padbits || bitcnt - padbits >= 8) return E_CORRUPT;
  bitbuf = 0;
  bitcnt = 0;
  padbits = 0;
  // RST0..RST7 in turn: libjpeg warns about any other (and sharp then fails the picture).
  if (pos + 1 >= srclen || src[pos] != 0xFF || src[pos + 1] != 0xD0 + next_restart)
    return E_CORRUPT;
  next_restart = (next_restart + 1) & 7;
  pos += 2;
  hit_marker = 0;
  for (int c = 0; c < ncomp; c++) comps[c].dc = 0;
  return OK;
}

static int decode_scan(u8 *work) {
  int coef[64] __attribute__((aligned(16)));
  pos = scan_start;
  bitbuf = 0;
  bitcnt = padbits = hit_marker = next_restart = 0;
  for (int c = 0; c < ncomp; c++) comps[c].dc = 0;
  int todo = restart_interval;
  if (ncomp == 1) {
    Comp *k = &comps[0];
    u8 *plane = work + k->plane;
    for (int by = 0; by < k->bh; by++) {
      for (int bx = 0; bx < k->bw; bx++) {
        if (restart_interval) {
          if (todo == 0) {
            int r = read_restart();
            if (r) return r;
            todo = restart_interval;
          }
          todo--;
        }
        int r = decode_block(k, coef);
        if (r < 0) return r;
        r = put_block(r, coef, plane + (u32)by * 8 * k->stride + (u32)bx * 8, k->stride);
        if (r) return r;
      }
    }
  } else {
    for (int my = 0; my < mcusy; my++) {
      for (int mx = 0; mx < mcusx; mx++) {
        if (restart_interval) {
          if (todo == 0) {
            int r = read_restart();
            if (r) return r;
            todo = restart_interval;
          }
          todo--;
        }
        for (int c = 0; c < ncomp; c++) {
          Comp *k = &comps[c];
          u8 *plane = work + k->plane;
          for (int v = 0; v < k->v; v++) {
            for (int h = 0; h < k->h; h++) {
              int r = decode_block(k, coef);
              if (r < 0) return r;
              u32 y = (u32)(my * k->v + v) * 8, x = (u32)(mx * k->h + h) * 8;
              r = put_block(r, coef, plane + y * k->stride + x, k->stride);
              if (r) return r;
            }
          }
        }
      }
    }
  }
  // The scan must end cleanly at EOI: leftover bytes, a DNL or more scans are libjpeg's
  // business (it warns about some, which sharp turns into errors).
  if (bitcnt < padbits || bitcnt - padbits >= 8) return E_CORRUPT;
  if (pos + 1 >= srclen || src[pos] != 0xFF || src[pos + 1] != 0xD9) return E_UNSUPPORTED;
  return OK;
}

// ---- upsampling and colour ----------------------------------------------------------------

/**
 * libjpeg-turbo's triangle filters, one output row: `cs` holds the column sums (3 * nearer
 * row + farther row for h2v2, the samples for h2v1) at cs[1..dw], with cs[0] = cs[1] and
 * cs[dw + 1] = cs[dw], which is how its special first and last columns come out. Output
 * 2i is (3 cs[i] + cs[i - 1] + even) >> shift, output 2i + 1 is (3 cs[i] + cs[i + 1] + odd)
 * >> shift; `out` takes 2 * dw bytes rounded up to 16.
 */
static void upsample_row(const u16 *cs, u8 *out, int dw, int even, int odd, int shift) {
  v128_t ve = wasm_i16x8_splat((short)even), vo = wasm_i16x8_splat((short)odd);
  for (int i = 0; i < dw; i += 8) {
    v128_t c = wasm_v128_load(cs + 1 + i);
    v128_t l = wasm_v128_load(cs + i);
    v128_t r = wasm_v128_load(cs + 2 + i);
    v128_t c3 = wasm_i16x8_add(wasm_i16x8_add(c, c), c);
    v128_t e = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(c3, l), ve), shift);
    v128_t o = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(c3, r), vo), shift);
    v128_t b = wasm_u8x16_narrow_i16x8(e, o);
    wasm_v128_store(out + 2 * i,
                    wasm_i8x16_shuffle(b, b, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
  }
}

/** Column sums 3 * near + far of two chroma rows into cs[1..dw], edges replicated. */
static void column_sums(const u8 *near, const u8 *far, u16 *cs, int dw) {
  for (int i = 0; i < dw; i += 16) {
    v128_t n = wasm_v128_load(near + i), f = wasm_v128_load(far + i);
    v128_t nl = wasm_u16x8_extend_low_u8x16(n), nh = wasm_u16x8_extend_high_u8x16(n);
    v128_t fl = wasm_u16x8_extend_low_u8x16(f), fh = wasm_u16x8_extend_high_u8x16(f);
    wasm_v128_store(cs + 1 + i, wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_add(nl, nl), nl), fl));
    wasm_v128_store(cs + 9 + i, wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_add(nh, nh), nh), fh));
  }
  cs[0] = cs[1];
  cs[dw + 1] = cs[dw];
}

/** The samples of a chroma row into cs[1..dw] as 16-bit values, edges replicated. */
static void widen_row(const u8 *in, u16 *cs, int dw) {
  for (int i = 0; i < dw; i += 16) {
    v128_t n = wasm_v128_load(in + i);
    wasm_v128_store(cs + 1 + i, wasm_u16x8_extend_low_u8x16(n));
    wasm_v128_store(cs + 9 + i, wasm_u16x8_extend_high_u8x16(n));
  }
  cs[0] = cs[1];
  cs[dw + 1] = cs[dw];
}

/** libjpeg-turbo's YCbCr -> RGB of one pixel (its tables, computed inline). */
static inline void ycc_pixel(int l, int b, int r, u8 *o) {
  b -= 128;
  r -= 128;
  o[0] = clamp255(l + ((91881 * r + 32768) >> 16));
  o[1] = clamp255(l + ((-22554 * b + 32768 - 46802 * r) >> 16));
  o[2] = clamp255(l + ((116130 * b + 32768) >> 16));
}

/** Four lanes of one colour: y + ((k1 * c1 + k2 * c2 + 32768) >> 16), as 32-bit values. */
static inline v128_t ycc4(v128_t y, v128_t c1, int k1, v128_t c2, int k2) {
  v128_t t = wasm_i32x4_add(MUL(c1, k1), wasm_i32x4_splat(32768));
  if (k2) t = wasm_i32x4_add(t, MUL(c2, k2));
  return wasm_i32x4_add(y, wasm_i32x4_shr(t, 16));
}

/** 16 pixels of one colour from 16-bit y, cb - 128, cr - 128 halves, saturated to bytes. */
static inline v128_t ycc16(v128_t yl, v128_t yh, v128_t c1l, v128_t c1h, int k1, v128_t c2l,
                           v128_t c2h, int k2) {
  v128_t a = ycc4(wasm_i32x4_extend_low_i16x8(yl), wasm_i32x4_extend_low_i16x8(c1l), k1,
                  wasm_i32x4_extend_low_i16x8(c2l), k2);
  v128_t b = ycc4(wasm_i32x4_extend_high_i16x8(yl), wasm_i32x4_extend_high_i16x8(c1l), k1,
                  wasm_i32x4_extend_high_i16x8(c2l), k2);
  v128_t c = ycc4(wasm_i32x4_extend_low_i16x8(yh), wasm_i32x4_extend_low_i16x8(c1h), k1,
                  wasm_i32x4_extend_low_i16x8(c2h), k2);
  v128_t d = ycc4(wasm_i32x4_extend_high_i16x8(yh), wasm_i32x4_extend_high_i16x8(c1h), k1,
                  wasm_i32x4_extend_high_i16x8(c2h), k2);
  return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, d));
}

static void ycc_row(const u8 *y, const u8 *cb, const u8 *cr, u8 *out, int n) {
  int i = 0;
  v128_t c128 = wasm_i16x8_splat(128);
  for (; i + 16 <= n; i += 16) {
    v128_t vy = wasm_v128_load(y + i), vb = wasm_v128_load(cb + i), vr = wasm_v128_load(cr + i);
    v128_t yl = wasm_u16x8_extend_low_u8x16(vy), yh = wasm_u16x8_extend_high_u8x16(vy);
    v128_t bl = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(vb), c128);
    v128_t bh = wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(vb), c128);
    v128_t rl = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(vr), c128);
    v128_t rh = wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(vr), c128);
    v128_t R = ycc16(yl, yh, rl, rh, 91881, rl, rh, 0);
    v128_t G = ycc16(yl, yh, bl, bh, -22554, rl, rh, -46802);
    v128_t B = ycc16(yl, yh, bl, bh, 116130, bl, bh, 0);
    v128_t t0 = wasm_i8x16_shuffle(R, G, 0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5);
    v128_t t1 = wasm_i8x16_shuffle(R, G, 21, 0, 6, 22, 0, 7, 23, 0, 8, 24, 0, 9, 25, 0, 10, 26);
    v128_t t2 = wasm_i8x16_shuffle(R, G, 0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0);
    u8 *o = out + 3 * i;
    wasm_v128_store(o, wasm_i8x16_shuffle(t0, B, 0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12, 13,
                                          20, 15));
    wasm_v128_store(o + 16, wasm_i8x16_shuffle(t1, B, 0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11,
                                               12, 25, 14, 15));
    wasm_v128_store(o + 32, wasm_i8x16_shuffle(t2, B, 26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11,
                                               30, 13, 14, 31));
  }
  for (; i < n; i++) ycc_pixel(y[i], cb[i], cr[i], out + 3 * i);
}

/**
 * Decodes the picture jpeg_parse read to `out` (height rows of width RGB pixels), using
 * `work` (jpeg_info(3) bytes). Returns OK or an error code.
 */
int jpeg_decode(u8 *work, u8 *out) {
  int r = decode_scan(work);
  if (r) return r;
  if (ncomp == 1) {
    const Comp *k = &comps[0];
    for (int yy = 0; yy < height; yy++) {
      const u8 *row = work + k->plane + (u32)yy * k->stride;
      u8 *o = out + (u32)yy * width * 3;
      for (int x = 0; x < width; x++) o[3 * x] = o[3 * x + 1] = o[3 * x + 2] = row[x];
    }
    return OK;
  }
  const Comp *Y = &comps[0], *B = &comps[1], *R = &comps[2];
  u8 *ub = work + up_at, *ur = ub + up_row;
  u16 *cs = (u16 *)(ur + up_row);
  for (int yy = 0; yy < height; yy++) {
    const u8 *yrow = work + Y->plane + (u32)yy * Y->stride;
    const u8 *cb = ub, *cr = ur;
    if (vmax == 2) {
      int cy = yy >> 1;
      int other = (yy & 1) ? cy + 1 : cy - 1;
      if (other < 0) other = 0;                 // above the first row: the first row itself
      if (other > B->dh - 1) other = B->dh - 1; // below the last: the last
      const u8 *pb = work + B->plane, *pr = work + R->plane;
      column_sums(pb + (u32)cy * B->stride, pb + (u32)other * B->stride, cs, B->dw);
      upsample_row(cs, ub, B->dw, 8, 7, 4);
      column_sums(pr + (u32)cy * R->stride, pr + (u32)other * R->stride, cs, R->dw);
      upsample_row(cs, ur, R->dw, 8, 7, 4);
    } else if (hmax == 2) {
      widen_row(work + B->plane + (u32)yy * B->stride, cs, B->dw);
      upsample_row(cs, ub, B->dw, 1, 2, 2);
      widen_row(work + R->plane + (u32)yy * R->stride, cs, R->dw);
      upsample_row(cs, ur, R->dw, 1, 2, 2);
    } else {
      cb = work + B->plane + (u32)yy * B->stride;
      cr = work + R->plane + (u32)yy * R->stride;
    }
    ycc_row(yrow, cb, cr, out + (u32)yy * width * 3, width);
  }
  return OK;
}
