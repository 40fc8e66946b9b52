// Kernels of the shift-plane convolution (conv_phase.cpp), per ISA: the tap GEMM over shifted planes
// and its weight-gradient twin (AVX-512 only: they need 32 vector registers), and the row gathers
// and merges between images and planes (every ISA). Included by conv_winograd_tiles.h inside its
// namespace, so it shares that file's vector type, load/store helpers and shuffle macros.
// Kernel contracts are in conv_winograd.h (TileKernels).
#ifdef PYML_WINO_MASKED
// c (rows x width) = sum over segments s of a_s (8 x Cs panel slice) @ b_s (Cs x 16*NV, row stride
// ldb); the panel holds the segments one after another (a[(s*Cs + k)*8 + i]). Every b_s row is read
// 16*NV floats wide (the caller leaves readable columns past width).
// Kept out of line: inlined into gemm_taps, GCC kept a stack copy of the accumulators up to date
// on every step (its scalar replacement of acc gave up in the larger function).
template <int NV, bool kAdd>
PYML_WINO_TARGET __attribute__((noinline)) void taps_micro(const float* a, const float* const* bs, const int* segs, int nseg, int64_t Cs, int64_t ldb,
                      int64_t j0, float* c, int64_t ldc, int rows, int64_t width) {
  V acc[8][NV];
  for (int i = 0; i < 8; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = kAdd && i < rows ? load_part(c + i * ldc + 16 * v, 0, width - 16 * v) : V{};
  for (int s = 0; s < nseg; s++) {
    const float* b = bs[segs[s]] + j0;
    const float* as = a + segs[s] * Cs * 8;
    for (int64_t k = 0; k < Cs; k++) {
      __m512 bv[NV];
      for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + k * ldb + 16 * v);
      for (int i = 0; i < 8; i++) {
        __m512 av = _mm512_set1_ps(as[k * 8 + i]);  // folds into the FMA as a {1to16} operand: no register
        for (int v = 0; v < NV; v++) acc[i][v] = (V)_mm512_fmadd_ps(av, bv[v], (__m512)acc[i][v]);
      }
    }
  }
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < NV; v++) store_part(c + i * ldc + 16 * v, acc[i][v], width - 16 * v);
}

template <bool kAdd>
WT_FN void taps_call(int64_t nv, const float* a, const float* const* bs, const int* segs, int nseg, int64_t Cs,
                     int64_t ldb, int64_t j0, float* c, int64_t ldc, int rows, int64_t width) {
  if (nv == 3) taps_micro<3, kAdd>(a, bs, segs, nseg, Cs, ldb, j0, c, ldc, rows, width);
  else if (nv == 2) taps_micro<2, kAdd>(a, bs, segs, nseg, Cs, ldb, j0, c, ldc, rows, width);
  else taps_micro<1, kAdd>(a, bs, segs, nseg, Cs, ldb, j0, c, ldc, rows, width);
}

// c (rows x width, row stride ldc) = 0: a sliver no segment reaches
WT_FN void zero_sliver(float* c, int64_t ldc, int64_t rows, int64_t width) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t v = 0; v < width; v += 16) store_part(c + i * ldc + v, V{}, width - v);
}

// M (K x ncols, row stride ldm) = sum_s U_s (K x Cs) @ B_s (Cs x ncols, rows ldb apart), U packed
// in 8-row panels over the nseg*Cs concatenated columns. Per sliver of 48 columns, the segments go
// in groups of about 128 rows: a group's sliver of B (<= 24 KiB) stays in L1 while every panel
// passes over it, the panels' partial sums going through M between groups (a sliver of all the
// taps, 9 x 128 rows of a 3x3, would be read from L2 by every panel). With seg_lo/seg_hi, segment s
// only reaches output columns [seg_lo[s], seg_hi[s]) (elsewhere its B rows are zero padding):
// slivers outside that range skip it (single segments unpacked, whole groups packed).
PYML_WINO_TARGET void gemm_taps(const float* Up, int64_t K, int64_t Cs, const float* const* bs, int nseg, int64_t ldb,
                                int64_t ncols, float* M, int64_t ldm, const int64_t* seg_lo, const int64_t* seg_hi) {
  const int64_t Kt = Cs * nseg;
  const bool packed = K > 32;  // with 4 panels or fewer a packed sliver is not reused enough to pay
  const int group = packed ? (int)std::max<int64_t>(1, std::min<int64_t>(nseg, 128 / std::max<int64_t>(Cs, 1))) : nseg;
  static thread_local std::vector<float> pack;
  if (packed) pack.resize(group * Cs * 48);
  std::vector<int> live(nseg);
  for (int64_t j = 0, nv; j < ncols; j += 16 * nv) {
    int64_t left = (ncols - j + 15) / 16;
    nv = left == 4 ? 2 : left < 3 ? left : 3;
    int64_t width = std::min(16 * nv, ncols - j);
    auto reaches = [&](int s) { return !seg_lo || (seg_lo[s] < j + width && seg_hi[s] > j); };
    bool written = false;
    for (int s = 0; s < nseg; s += group) {
      int ns = std::min(group, nseg - s), nl = 0;
      for (int t = 0; t < ns; t++)
        if (reaches(s + t)) live[nl++] = s + t;
      if (nl == 0) continue;
      for (int t = 0; packed && t < ns; t++)  // the group's sliver, contiguous: (ns*Cs) x 16*nv
        for (int64_t k = 0; k < Cs; k++)
          for (int v = 0; v < nv; v++) store(&pack[((t * Cs + k) * nv + v) * 16], load(bs[s + t] + j + k * ldb + 16 * v));
      const float* pk = pack.data();
      const float* const* b = packed ? &pk : bs;
      static const int first = 0;
      const int* segs = packed ? &first : live.data();
      int nb = packed ? 1 : nl;
      int64_t cs = packed ? ns * Cs : Cs, ld = packed ? 16 * nv : ldb, j0 = packed ? 0 : j;
      for (int64_t k = 0; k < K; k += 8) {
        int rows = (int)(K - k < 8 ? K - k : 8);
        const float* a = Up + k * Kt + (packed ? s * Cs * 8 : 0);
        float* c = M + k * ldm + j;
        if (written) taps_call<true>(nv, a, b, segs, nb, cs, ld, j0, c, ldm, rows, width);
        else taps_call<false>(nv, a, b, segs, nb, cs, ld, j0, c, ldm, rows, width);
      }
      written = true;
    }
    if (!written) zero_sliver(M + j, ldm, K, width);
  }
}

// dUt_s (C x Kp, s*dstride floats apart) += V_s (C x n, rows ldv apart) @ Y^T for every segment s,
// Y (K x n, row stride ldy) transposed once into Yt (n rounded up to 16 x Kp)
PYML_WINO_TARGET void grad_gemm_taps(const float* Y, int64_t ldy, int64_t K, const float* const* Vs, int nseg,
                                     int64_t ldv, int64_t C, int64_t n, float* Yt, float* dUt, int64_t dstride) {
  const int64_t Kp = (K + 15) / 16 * 16;
  transpose_block(Y, ldy, K, n, Yt, Kp);
  for (int s = 0; s < nseg; s++) grad_products(Yt, Kp, Vs[s], ldv, C, n, dUt + s * dstride);
}
#endif

// p[l] = v[l] for lanes lo <= l < hi
WT_FN void store_range(float* p, V v, int64_t lo, int64_t hi) {
  lo = lo < 0 ? 0 : lo;
  hi = hi > 16 ? 16 : hi;
  if (lo >= hi) return;
  if (lo == 0 && hi == 16) return store(p, v);
#ifdef PYML_WINO_MASKED
  _mm512_mask_storeu_ps(p, (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)), (__m512)v);
#else
  for (int64_t l = lo; l < hi; l++) p[l] = v[l];
#endif
}

// out[v] (v < n, stores rounded up to 16) = row[(w0 + v*step)*ld] where w0 + v*step lies in
// [0, W), else 0. Contiguous stride-2 rows: two (masked) loads and one even-lane shuffle per 16.
PYML_WINO_TARGET void phase_row(const float* row, int64_t ld, int64_t w0, int64_t step, int64_t W, float* out,
                                int64_t n) {
  if (step == 1 && ld == 1) {
    for (int64_t v = 0; v < n; v += 16) store(out + v, load_part(row + w0 + v, -w0 - v, W - w0 - v));
    return;
  }
  if (step == 2 && ld == 1) {
    for (int64_t v = 0; v < n; v += 16) {
      int64_t s = w0 + 2 * v;
      V lo = load_part(row + s, -s, W - s), hi = load_part(row + s + 16, -s - 16, W - s - 16);
      store(out + v, WT_SHUF(lo, hi, WT_EVEN2));
    }
    return;
  }
  for (int64_t v = 0; v < n; v++) {
    int64_t w = w0 + v * step;
    out[v] = w >= 0 && w < W ? row[w * ld] : 0.0f;
  }
}

// o_b[v] (v < n, stores rounded up to 16) = row[z - off] for z = 2v + b, 0 outside columns [0, W):
// both phases of a contiguous row from the same loads
PYML_WINO_TARGET void split_row2(const float* row, int64_t off, int64_t W, float* o0, float* o1, int64_t n) {
  for (int64_t v = 0; v < n; v += 16) {
    int64_t s = 2 * v - off;
    V lo = load_part(row + s, -s, W - s), hi = load_part(row + s + 16, -s - 16, W - s - 16);
    store(o0 + v, WT_SHUF(lo, hi, WT_EVEN2));
    store(o1 + v, WT_SHUF(lo, hi, WT_ODD2));
  }
}

// row[w] (w < W) = src[z % 2][z / 2] for z = w + off: two phase rows interleaved (a null source
// holds zeros). Sources are read in whole vectors up to (W + off + 31) / 2 floats.
PYML_WINO_TARGET void merge_row2(const float* s0, const float* s1, int64_t off, int64_t W, float* row) {
  for (int64_t z = 0; z < W + off; z += 32) {
    V e = s0 ? load(s0 + z / 2) : V{}, o = s1 ? load(s1 + z / 2) : V{};
    int64_t w = z - off;
    store_range(row + w, WT_SHUF(e, o, WT_ZIPLO), -w, W - w);
    store_range(row + w + 16, WT_SHUF(e, o, WT_ZIPHI), -w - 16, W - w - 16);
  }
}

