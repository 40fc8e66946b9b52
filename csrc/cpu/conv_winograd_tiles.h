// Tile transforms and (AVX-512) GEMM kernels of Winograd F(4x4, 3x3), included once per ISA inside
// namespace pyml::wino::isa_<name> with PYML_WINO_TARGET set to that ISA's target attribute.
// Vectors are 16 floats, one tile per lane. A group row of 16 tiles is 64 (+2) consecutive input
// floats; two rounds of two-source shuffles split it into the 4 (+2) columns of the tiles, and the
// output is interleaved back the same way, so every load and store is a contiguous vector. The
// image border is handled by partial loads/stores (AVX-512 masks: no padded copy of the input).
// Transform matrices (interpolation points 0, 1, -1, 2, -2, infinity):
//   Bt = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   At = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Everything below is inlined into the three kernels, so passing 64-byte vectors by value never
// reaches a call boundary (the ABI note GCC gives for the generic build does not apply; it is
// reported at the end of the file, so it stays off for the rest of these one-include files).
#pragma GCC diagnostic ignored "-Wpsabi"
namespace wt {

typedef float V __attribute__((vector_size(64)));
typedef float VU __attribute__((vector_size(64), aligned(4)));  // unaligned access
typedef int I __attribute__((vector_size(64)));

#define WT_FN PYML_WINO_TARGET static inline __attribute__((always_inline))

// Two-source lane shuffles with constant indices (0-15: first source, 16-31: second)
#if defined(__clang__)
#define WT_SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define WT_SHUF(a, b, ...) __builtin_shuffle(a, b, I{__VA_ARGS__})
#endif
#define WT_EVEN4 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29   // columns 0, 1 of 8 tiles
#define WT_ODD4 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31  // columns 2, 3 of 8 tiles
#define WT_LOW8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23     // low halves of both
#define WT_HIGH8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define WT_NEXT0 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16      // shift in lane 0 of b
#define WT_NEXT1 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17      // shift in lane 1 of b
#define WT_JOIN0 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27
#define WT_JOIN1 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31
#define WT_ZIPLO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23     // interleave the low halves
#define WT_EVEN2 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30   // even lanes of both
#define WT_ODD2 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31      // odd lanes of both
#define WT_ZIPHI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31

WT_FN V load(const float* p) { return *reinterpret_cast<const VU*>(p); }
WT_FN void store(float* p, V v) { *reinterpret_cast<VU*>(p) = v; }

// p[l] for lanes lo <= l < hi, 0 elsewhere; lanes outside [lo, hi) are never read
WT_FN V load_part(const float* p, int64_t lo, int64_t hi) {
  lo = lo < 0 ? 0 : lo;
  hi = hi > 16 ? 16 : hi;
  if (lo >= hi) return V{};
  if (lo == 0 && hi == 16) return load(p);
#ifdef PYML_WINO_MASKED
  return (V)_mm512_maskz_loadu_ps((__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)), p);
#else
  alignas(64) float t[16] = {};
  for (int64_t l = lo; l < hi; l++) t[l] = p[l];
  return load(t);
#endif
}

// p[l] = v[l] for lanes l < hi
WT_FN void store_part(float* p, V v, int64_t hi) {
  if (hi >= 16) return store(p, v);
  if (hi <= 0) return;
#ifdef PYML_WINO_MASKED
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << hi) - 1), (__m512)v);
#else
  for (int64_t l = 0; l < hi; l++) p[l] = v[l];
#endif
}

// a[v] = row[16*v + l] for 16*v + l in [lo, hi), 0 elsewhere; a null row is all zeros
WT_FN void load_row(const float* row, int64_t lo, int64_t hi, V* a, int n) {
  for (int v = 0; v < n; v++) a[v] = row ? load_part(row + 16 * v, lo - 16 * v, hi - 16 * v) : V{};
}

// a[0..4) holds tiles 0..15 (4 floats each) -> v[j][l] = column j of tile l, j < 4; with six
// (a[4] holds the next 16 floats), also v[4], v[5]: the first two columns of the next tile.
WT_FN void split_row(const V* a, V* v, bool six) {
  V b0 = WT_SHUF(a[0], a[1], WT_EVEN4), b1 = WT_SHUF(a[0], a[1], WT_ODD4);  // tiles 0-7
  V b2 = WT_SHUF(a[2], a[3], WT_EVEN4), b3 = WT_SHUF(a[2], a[3], WT_ODD4);  // tiles 8-15
  v[0] = WT_SHUF(b0, b2, WT_LOW8);
  v[1] = WT_SHUF(b0, b2, WT_HIGH8);
  v[2] = WT_SHUF(b1, b3, WT_LOW8);
  v[3] = WT_SHUF(b1, b3, WT_HIGH8);
  if (!six) return;
  v[4] = WT_SHUF(v[0], a[4], WT_NEXT0);
  v[5] = WT_SHUF(v[1], a[4], WT_NEXT1);
}

// inverse of split_row (four columns): out[4*l + j] = v[j][l], as 4 vectors of 16 floats
WT_FN void join_row(const V* v, V* out) {
  V b0 = WT_SHUF(v[0], v[1], WT_LOW8), b2 = WT_SHUF(v[0], v[1], WT_HIGH8);  // columns 0, 1
  V b1 = WT_SHUF(v[2], v[3], WT_LOW8), b3 = WT_SHUF(v[2], v[3], WT_HIGH8);  // columns 2, 3
  out[0] = WT_SHUF(b0, b1, WT_JOIN0);
  out[1] = WT_SHUF(b0, b1, WT_JOIN1);
  out[2] = WT_SHUF(b2, b3, WT_JOIN0);
  out[3] = WT_SHUF(b2, b3, WT_JOIN1);
}

// o[k*os] = (Bt d)[k] for d[k*ds], k < 6
WT_FN void bt6(const V* d, int ds, V* o, int os) {
  V d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
  V s12 = d1 + d2, m12 = d1 - d2, s34 = d4 - d2, m31 = d3 - d1;
  o[0] = (d4 - d2 * 5.0f) + d0 * 4.0f;
  o[os] = (d3 + d4) - s12 * 4.0f;
  o[2 * os] = (d4 - d3) + m12 * 4.0f;
  o[3 * os] = s34 + m31 * 2.0f;
  o[4 * os] = s34 - m31 * 2.0f;
  o[5 * os] = (d5 - d3 * 5.0f) + d1 * 4.0f;
}

// o[k*os] = (At m)[k] for m[k*ms], k < 4
WT_FN void at6(const V* m, int ms, V* o, int os) {
  V m1 = m[ms], m2 = m[2 * ms], m3 = m[3 * ms], m4 = m[4 * ms];
  V s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
  o[0] = m[0] + s12 + s34;
  o[os] = d12 + d34 * 2.0f;
  o[2 * os] = s12 + s34 * 4.0f;
  o[3 * os] = (d12 + m[5 * ms]) + d34 * 8.0f;
}

// o[k*os] = (A g)[k] for g[k*gs], k < 6 (A = At transposed: 6 x 4)
WT_FN void a4(const V* g, int gs, V* o, int os) {
  V g0 = g[0], g1 = g[gs], g2 = g[2 * gs], g3 = g[3 * gs];
  V e = g0 + g2, od = g1 + g3, e4 = g0 + g2 * 4.0f, od8 = g1 * 2.0f + g3 * 8.0f;
  o[0] = g0;
  o[os] = e + od;
  o[2 * os] = e - od;
  o[3 * os] = e4 + od8;
  o[4 * os] = e4 - od8;
  o[5 * os] = g3;
}

PYML_WINO_TARGET void input_tiles(const float* const* rows, int64_t lo, int64_t hi, float* Vb, int64_t ld) {
  V t[6][6];  // t[i][b]: row i of the patch after the column transform (d B)
  for (int i = 0; i < 6; i++) {
    V a[5], d[6];
    load_row(rows[i], lo, hi, a, 5);
    split_row(a, d, true);
    bt6(d, 1, t[i], 1);
  }
  for (int b = 0; b < 6; b++) {
    V o[6];
    bt6(&t[0][b], 6, o, 1);
    for (int a = 0; a < 6; a++) store(Vb + (a * 6 + b) * ld, o[a]);
  }
}

PYML_WINO_TARGET void output_tiles(const float* M, int64_t ld, float bias, float* const* rows, int64_t width) {
  V s[6][4];  // s[a][j] = (m At^T)[a][j]
  for (int a = 0; a < 6; a++) {
    V m[6];
    for (int b = 0; b < 6; b++) m[b] = load(M + (a * 6 + b) * ld);
    at6(m, 1, s[a], 1);
  }
  V o[4][4];  // o[i][j]
  for (int j = 0; j < 4; j++) at6(&s[0][j], 4, &o[0][j], 4);
  for (int i = 0; i < 4; i++) {
    if (!rows[i]) continue;
    V out[4];
    for (int j = 0; j < 4; j++) o[i][j] += bias;
    join_row(o[i], out);
    for (int v = 0; v < 4; v++) store_part(rows[i] + 16 * v, out[v], width - 16 * v);
  }
}

PYML_WINO_TARGET void grad_tiles(const float* const* rows, int64_t width, float* Y, int64_t ld) {
  V h[4][6];  // h[i][b] = (dy A^T)[i][b]
  for (int i = 0; i < 4; i++) {
    V a[4], g[4];
    load_row(rows[i], 0, width, a, 4);
    split_row(a, g, false);
    a4(g, 1, h[i], 1);
  }
  for (int b = 0; b < 6; b++) {
    V o[6];
    a4(&h[0][b], 6, o, 1);
    for (int a = 0; a < 6; a++) store(Y + (a * 6 + b) * ld, o[a]);
  }
}

#ifdef PYML_WINO_MASKED  // the register-blocked GEMM needs 32 vector registers: AVX-512 only
// c (rows x width) = a (C x 8 panel: a[c*8 + i]) @ b (C x 16*NV, row stride ldb); the stores
// stop at width
template <int NV>
WT_FN void gemm_micro(const float* a, const float* b, int64_t ldb, int64_t C, float* c, int64_t ldc, int rows,
                      int64_t width) {
  V acc[8][NV];
  for (int i = 0; i < 8; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = V{};
  for (int64_t k = 0; k < C; k++) {
    V bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = load(b + k * ldb + 16 * v);
    for (int i = 0; i < 8; i++) {
      V av = a[k * 8 + i] - V{};  // broadcast (x - 0 == x, so it folds into the load)
      for (int v = 0; v < NV; v++) acc[i][v] += av * bv[v];
    }
  }
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < NV; v++) store_part(c + i * ldc + 16 * v, acc[i][v], width - 16 * v);
}

// One sliver of up to 16*NV columns for every 8-row panel of U. A partial sliver is first copied
// to a zero-padded buffer (reading nothing past ncols; masked loads in the loop cost ~2x here).
template <int NV>
WT_FN void gemm_sliver(const float* Up, int64_t K, int64_t C, const float* b, int64_t ldb, int64_t width, float* M,
                       int64_t ldm) {
  static thread_local std::vector<float> pad;
  if (width < 16 * NV) {
    pad.resize(C * 16 * NV);
    for (int64_t k = 0; k < C; k++)
      for (int v = 0; v < NV; v++) store(&pad[(k * NV + v) * 16], load_part(b + k * ldb + 16 * v, 0, width - 16 * v));
    b = pad.data(), ldb = 16 * NV;
  }
  for (int64_t k = 0; k < K; k += 8)
    gemm_micro<NV>(Up + k * C, b, ldb, C, M + k * ldm, ldm, (int)(K - k < 8 ? K - k : 8), width);
}

// M (K x ncols, row stride ldm) = U (K x C) @ V (C x ncols, row stride ldv); U packed in 8-row
// panels, Up[(k/8)*C*8 + c*8 + k%8] (rows past K zero). Slivers of up to 48 columns of V
// (C x 192 bytes) stay in L1 while every panel of U passes over them.
PYML_WINO_TARGET void gemm_tiles(const float* Up, int64_t K, int64_t C, const float* Vb, int64_t ldv, int64_t ncols,
                                 float* M, int64_t ldm) {
  for (int64_t j = 0, nv; j < ncols; j += 16 * nv) {
    int64_t left = (ncols - j + 15) / 16;  // vectors left; 4 goes as 2 + 2 rather than 3 + 1
    nv = left == 4 ? 2 : left < 3 ? left : 3;
    int64_t width = std::min(16 * nv, ncols - j);
    if (nv == 3) gemm_sliver<3>(Up, K, C, Vb + j, ldv, width, M + j, ldm);
    else if (nv == 2) gemm_sliver<2>(Up, K, C, Vb + j, ldv, width, M + j, ldm);
    else gemm_sliver<1>(Up, K, C, Vb + j, ldv, width, M + j, ldm);
  }
}

// out[c][r] = in[r][c] for a 16 x 16 block: four rounds of pairing vector i with i + 8, each round
// moving one bit of the row index into the lane index (and one lane bit into the vector index).
WT_FN void transpose16(V* m) {
  for (int round = 0; round < 4; round++) {
    V t[16];
    for (int i = 0; i < 8; i++) {
      t[2 * i] = WT_SHUF(m[i], m[i + 8], WT_ZIPLO);
      t[2 * i + 1] = WT_SHUF(m[i], m[i + 8], WT_ZIPHI);
    }
    for (int i = 0; i < 16; i++) m[i] = t[i];
  }
}

// Yt (n rounded up to 16 x Kp, Kp = K rounded up to 16) = Y^T for Y (K x n, row stride ldy); Y is
// read only inside K x n (the rest of Yt is zero)
WT_FN void transpose_block(const float* Y, int64_t ldy, int64_t K, int64_t n, float* Yt, int64_t Kp) {
  for (int64_t k = 0; k < K; k += 16)
    for (int64_t t = 0; t < n; t += 16) {
      V m[16];
      for (int i = 0; i < 16; i++) m[i] = k + i < K ? load_part(Y + (k + i) * ldy + t, 0, n - t) : V{};
      transpose16(m);
      for (int i = 0; i < 16; i++) store(Yt + (t + i) * Kp + k, m[i]);
    }
}

// acc (8 x 16*NV) = sum over t < n of a[i][t] * b[t][.], a: 8 rows (row stride lda), b row stride ldb;
// added to c (rows x 16*NV, row stride ldc)
template <int NV>
WT_FN void grad_micro(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t n, float* c, int64_t ldc,
                      int rows) {
  V acc[8][NV];
  for (int i = 0; i < 8; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = V{};
  const float* ar[8];
  for (int i = 0; i < 8; i++) ar[i] = a + (i < rows ? i : rows - 1) * lda;  // past the last row: a duplicate
  for (int64_t t = 0; t < n; t++) {
    V bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = load(b + t * ldb + 16 * v);
    for (int i = 0; i < 8; i++) {
      V av = ar[i][t] - V{};
      for (int v = 0; v < NV; v++) acc[i][v] += av * bv[v];
    }
  }
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < NV; v++) store(c + i * ldc + 16 * v, load(c + i * ldc + 16 * v) + acc[i][v]);
}

// dUt (C x Kp) += V (C x n, row stride ldv) @ Y^T, Y (K x n, row stride ldy); Yt: scratch of
// ceil(n/16)*16 x Kp floats. The transpose makes the output channels the contiguous vector axis.
WT_FN void grad_products(const float* Yt, int64_t Kp, const float* Vb, int64_t ldv, int64_t C, int64_t n, float* dUt) {
  for (int64_t k = 0; k < Kp; k += 48) {
    int64_t nv = (Kp - k) / 16;
    for (int64_t c = 0; c < C; c += 8) {
      int rows = (int)(C - c < 8 ? C - c : 8);
      float* out = dUt + c * Kp + k;
      if (nv >= 3) grad_micro<3>(Vb + c * ldv, ldv, Yt + k, Kp, n, out, Kp, rows);
      else if (nv == 2) grad_micro<2>(Vb + c * ldv, ldv, Yt + k, Kp, n, out, Kp, rows);
      else grad_micro<1>(Vb + c * ldv, ldv, Yt + k, Kp, n, out, Kp, rows);
    }
  }
}

PYML_WINO_TARGET void grad_gemm_tiles(const float* Y, int64_t ldy, int64_t K, const float* Vb, int64_t ldv, int64_t C,
                                      int64_t n, float* Yt, float* dUt) {
  const int64_t Kp = (K + 15) / 16 * 16;
  transpose_block(Y, ldy, K, n, Yt, Kp);
  grad_products(Yt, Kp, Vb, ldv, C, n, dUt);
}

#endif

#include "cpu/conv_phase_tiles.h"  // the shift-plane conv kernels (same namespace and helpers)

#undef WT_FN
#undef WT_SHUF
#undef WT_EVEN4
#undef WT_ODD4
#undef WT_LOW8
#undef WT_HIGH8
#undef WT_NEXT0
#undef WT_NEXT1
#undef WT_JOIN0
#undef WT_JOIN1
#undef WT_ZIPLO
#undef WT_ZIPHI
#undef WT_EVEN2
#undef WT_ODD2

}  // namespace wt

const TileKernels& wino_tile_kernels() {
#ifdef PYML_WINO_MASKED
  static const TileKernels k{&wt::input_tiles, &wt::output_tiles,   &wt::grad_tiles,     &wt::gemm_tiles,
                             &wt::grad_gemm_tiles, &wt::gemm_taps, &wt::grad_gemm_taps, &wt::phase_row,
                             &wt::split_row2,      &wt::merge_row2};
#else
  static const TileKernels k{&wt::input_tiles, &wt::output_tiles, &wt::grad_tiles, nullptr, nullptr,
                             nullptr, nullptr, &wt::phase_row, &wt::split_row2, &wt::merge_row2};
#endif
  return k;
}
