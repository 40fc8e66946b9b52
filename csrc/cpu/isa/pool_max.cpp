// Max pooling forward, float32, W-contiguous planes (any kernel, stride, padding, dilation).
// Separable: each input row is reduced over the window columns first (row_max: per output column
// the max and the column of its first occurrence, SIMD over output columns, stride 2 by keeping
// every other lane of two loads), then the R row results of an output row are combined top to
// bottom (SIMD over the row). Row-then-column order keeps torch's rule exactly: the winner is the
// first max in row-major window order, except that a NaN always takes over (so the last NaN wins).
// Without indices (idx == nullptr: an input that needs no gradient) see max_band_values below.
// Row results live in a per-band scratch (each input row reduced once per band, L1/L2 resident);
// work items are (plane, band of output rows), so few large planes still spread over threads.
// Backward (every max pooling, float32): per plane, zero dx and add dy at the saved indices in
// output order (plane-local: no atomics, no dependence on the thread count), checking each index.
#include <vector>
#include "cpu/isa/pool_simd.h"
#include "cpu/pool_fast.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {
using namespace pool;

constexpr int64_t kScratchBytes = 64 << 10;  // row results of one band (values + columns)
constexpr int64_t kAhead = 8;                 // input rows fetched ahead of the row pass
constexpr int64_t kAheadValues = 20;          // values only: rows fetched ahead of a window's first
                                              // (16 or more: 2.3 -> 1.2 ms single-threaded, 3x3/2)

struct MaxPlan {
  const PoolParams& p;
  DimGeo rows, cols;
  int64_t band, nbands;  // output rows per work item, bands per plane
  bool narrow;           // rows go through row_max_narrow (row results have kVF slack lanes)
  const float* x_end;    // one past the last float of x (nothing past it may be read)
};

// Floats a narrow row's vector block reads from its start (lanes past Q included)
static inline int64_t narrow_reach(const PoolParams& p) { return (p.S - 1) * p.dw + 2 * kVF * p.sw + 1; }

// (best, at) = (v, pos) when v > best or v is NaN, by bit masks: the compiler emits no branch (on
// random data a branch mispredicts half the time: ~20% of the forward on the clipped borders)
static inline void select_if_greater(float v, int64_t pos, float& best, int64_t& at) {
  uint32_t take = -(uint32_t)((v > best) | (v != v)), vb, bb;
  std::memcpy(&vb, &v, 4), std::memcpy(&bb, &best, 4);
  bb = (vb & take) | (bb & ~take);
  std::memcpy(&best, &bb, 4);
  int64_t m = (int64_t)(int32_t)take;
  at = (pos & m) | (at & ~m);
}

// the window of output column ow on one row, one element at a time (borders, narrow outputs)
static inline void row_max_scalar(const float* xr, const PoolParams& p, Taps c, float* hv, int32_t* hc) {
  float best = xr[c.first];
  int64_t col = c.first;
  for (int64_t t = 1, w = c.first + p.dw; t < c.count; t++, w += p.dw) select_if_greater(xr[w], w, best, col);
  *hv = best;
  if (hc) *hc = (int32_t)col;
}

// kVF interior output columns from o: every tap inside the row. kStep: p.sw if 1 or 2, else 0;
// kS: p.S when 2 or 3 (the loop unrolls), else 0. kIdx: also the winning columns (hc); without
// them the loop is two instructions per tap.
template <int kStep, int kS, bool kIdx>
static inline void row_max_block(const float* xr, const PoolParams& p, int64_t o, float* hv, int32_t* hc,
                                 int64_t n) {
  const int64_t S = kS ? kS : p.S;
  int64_t s0 = o * p.sw - p.pw;
  VI pos = lane_ids() * (int32_t)p.sw + (int32_t)s0;
  VF best = load_taps<kStep>(xr, s0, p.sw, n);
  VI col = pos;
  for (int64_t t = 1; t < S; t++) {
    int64_t off = t * p.dw;
    VF v = load_taps<kStep>(xr, s0 + off, p.sw, n);
    VI take = (v > best) | (v != v);
    best = take ? v : best;
    if constexpr (kIdx) col = take ? pos + (int32_t)off : col;
  }
  vst(hv + o, best);
  if constexpr (kIdx) vst(hc + o, col);
}

static inline VF max_nan(VF best, VF v) {
  VI take = (v > best) | (v != v);
  return take ? v : best;
}

// Values of a 3-wide, stride-2, undilated window (the common 3x3/2 pool): the taps are the even
// and odd lanes of one 2*kVF span and the even lanes moved down one with the next element shifted
// in, so two loads and a broadcast feed all three (load_taps would do six loads).
// With hc: also the winning columns (first max, a NaN takes over), as row_max_block tracks them.
static inline void row_max_s2k3(const float* xr, const PoolParams& p, int64_t o, float* hv, int32_t* hc) {
  int64_t s0 = o * 2 - p.pw;
  VF a = vld<VF>(xr + s0), b = vld<VF>(xr + s0 + kVF);
  VF t0 = pick_every_other(a, b, 0), t1 = pick_every_other(a, b, 1);
  VF t2 = __builtin_shuffle(t0, vsplat(xr[s0 + 2 * kVF]), lane_ids() + 1);
  if (!hc) return vst(hv + o, max_nan(max_nan(t0, t1), t2));
  VI col = lane_ids() * 2 + (int32_t)s0;
  VI take1 = (t1 > t0) | (t1 != t1);
  VF best = take1 ? t1 : t0;
  VI take2 = (t2 > best) | (t2 != t2);
  vst(hv + o, take2 ? t2 : best);
  vst(hc + o, col + (take2 ? 2 : (take1 & 1)));
}

template <int kStep, int kS> static void row_max_blocks(const float* xr, const PoolParams& p, int64_t lo,
                                                        int64_t hi, float* hv, int32_t* hc) {
  if (kStep == 2 && kS == 3 && p.dw == 1) for_blocks(lo, hi, [&](int64_t o) { row_max_s2k3(xr, p, o, hv, hc); });
  else if (hc) for_blocks(lo, hi, [&](int64_t o) { row_max_block<kStep, kS, true>(xr, p, o, hv, hc, p.W); });
  else for_blocks(lo, hi, [&](int64_t o) { row_max_block<kStep, kS, false>(xr, p, o, hv, hc, p.W); });
}

template <int kStep> static void row_max_blocks(const float* xr, const PoolParams& p, int64_t lo, int64_t hi,
                                                float* hv, int32_t* hc) {
  if (p.S == 2) row_max_blocks<kStep, 2>(xr, p, lo, hi, hv, hc);
  else if (p.S == 3) row_max_blocks<kStep, 3>(xr, p, lo, hi, hv, hc);
  else row_max_blocks<kStep, 0>(xr, p, lo, hi, hv, hc);
}

template <bool kIdx> static void row_max_padded(const float* pad, const PoolParams& p, float* hv, int32_t* hc,
                                                int64_t n) {
  if (p.sw == 1) row_max_block<1, 0, kIdx>(pad, p, 0, hv, hc, n);
  else if (p.sw == 2) row_max_block<2, 0, kIdx>(pad, p, 0, hv, hc, n);
  else row_max_block<0, 0, kIdx>(pad, p, 0, hv, hc, n);
}

// Rows narrower than a vector whose windows all lie inside the row (unpadded small planes, like a
// CNN's 2x2 pooling of 20x20 maps): one vector block over the row. Lanes past Q read past the row
// end: straight from the row when `readable` floats from xr may be read (the next rows' values
// land in lanes never stored), else from a zero-padded copy (a copy costs a store-forwarding stall
// per load: half the time of these small planes). Lanes past Q land in the next row's slots of
// the scratch, written later (rows come in ascending order when dh == 1) or unused (kVF slack).
static bool row_max_narrow(const float* xr, int64_t readable, const MaxPlan& m, float* hv, int32_t* hc) {
  const PoolParams& p = m.p;
  if (p.Q >= kVF || m.cols.lo != 0 || m.cols.hi != p.Q || p.dh != 1) return false;
  const int64_t n = narrow_reach(p);
  const float* row = xr;
  if (readable < n) {
    float* pad = scratch<float, 1>(n);
    std::memcpy(pad, xr, p.W * sizeof(float));
    std::fill(pad + p.W, pad + n, 0.0f);
    row = pad;
  }
  if (hc) row_max_padded<true>(row, p, hv, hc, n);
  else row_max_padded<false>(row, p, hv, hc, n);
  return true;
}

// readable: floats that may be read from xr (past W only by row_max_narrow)
void row_max(const float* xr, int64_t readable, const MaxPlan& m, float* hv, int32_t* hc) {
  if (row_max_narrow(xr, readable, m, hv, hc)) return;
  const DimGeo& g = m.cols;
  int64_t lo = g.lo, hi = g.hi;
  if (hi - lo < kVF) lo = hi = 0;  // too narrow for a vector: all scalar
  for (int64_t o = 0; o < m.p.Q; o++) {
    if (o == lo) o = hi;
    if (o < m.p.Q) row_max_scalar(xr, m.p, g.taps[o], hv + o, hc ? hc + o : nullptr);
  }
  if (m.p.sw == 1) row_max_blocks<1>(xr, m.p, lo, hi, hv, hc);
  else if (m.p.sw == 2) row_max_blocks<2>(xr, m.p, lo, hi, hv, hc);
  else row_max_blocks<0>(xr, m.p, lo, hi, hv, hc);
}

// Window codes: the winner's tap r*S + s in its unclipped window (uint8, R*S <= 255), what the
// backward needs at an eighth of the int64 indices' bytes. nom: the window's first column per lane.
static inline VI tap_of(VI col, VI nom, int64_t dw) {
  if (dw == 1) return col - nom;
  VF t = __builtin_convertvector(col - nom, VF) * (1.0f / (float)dw) + 0.5f;  // exact: small multiples of dw
  return __builtin_convertvector(t, VI);
}

// Output row: combine the row results of rows h = first + t*dh top to bottom. Out: int64_t (flat
// indices h*W + w) or uint8_t (window codes; hnom = the window's first row, oh*sh - ph).
template <class Out>
void col_max(const float* hv, const int32_t* hc, int64_t hbase, Taps r, int64_t hnom, const PoolParams& p, float* y,
             Out* idx, bool narrow) {
  constexpr bool kCodes = std::is_same_v<Out, uint8_t>;
  typedef Out VO __attribute__((vector_size(kVF * sizeof(Out))));
  const int64_t Q = p.Q, W = p.W, tr0 = (r.first - hnom) / p.dh;
  auto one = [&](int64_t o) {
    int64_t h = r.first, at = (h - hbase) * Q + o, c0 = o * p.sw - p.pw;
    auto id_at = [&](int64_t t) {
      return kCodes ? (tr0 + t) * p.S + (hc[at] - c0) / p.dw : h * W + hc[at];
    };
    float best = hv[at];
    int64_t id = id_at(0);
    for (int64_t t = 1; t < r.count; t++) {
      h += p.dh, at += p.dh * Q;
      select_if_greater(hv[at], id_at(t), best, id);
    }
    y[o] = best, idx[o] = (Out)id;
  };
  auto block_to = [&](int64_t o, float* yo, Out* io) {
    int64_t h = r.first, at = (h - hbase) * Q + o;
    const VI nom = lane_ids() * (int32_t)p.sw + (int32_t)(o * p.sw - p.pw);
    auto id_at = [&](int64_t t) {
      VI c = vld<VI>(hc + at);
      return kCodes ? tap_of(c, nom, p.dw) + (int32_t)((tr0 + t) * p.S) : c + (int32_t)(h * W);
    };
    VF best = vld<VF>(hv + at);
    VI id = id_at(0);
    for (int64_t t = 1; t < r.count; t++) {
      h += p.dh, at += p.dh * Q;
      VF v = vld<VF>(hv + at);
      VI take = (v > best) | (v != v);
      best = take ? v : best;
      id = take ? id_at(t) : id;
    }
    vst(yo, best);
    vst(io, __builtin_convertvector(id, VO));
  };
  auto block = [&](int64_t o) { block_to(o, y + o, idx + o); };
  if (Q < kVF && narrow) {  // one block (the row results have kVF slack) through a staging row
    float ys[kVF];
    Out is[kVF];
    block_to(0, ys, is);
    std::memcpy(y, ys, Q * sizeof(float)), std::memcpy(idx, is, Q * sizeof(Out));
    return;
  }
  if (Q < kVF) for (int64_t o = 0; o < Q; o++) one(o);
  for_blocks(0, Q, block);
}

// Input rows [lo, hi] touched by output rows [oh0, oh1) (first positions are not monotone in oh
// when dilation > 1, so take min/max).
static inline void band_rows(const MaxPlan& m, int64_t oh0, int64_t oh1, int64_t& lo, int64_t& hi) {
  lo = m.p.H, hi = -1;
  for (int64_t oh = oh0; oh < oh1; oh++) {
    Taps r = m.rows.taps[oh];
    lo = std::min(lo, r.first);
    hi = std::max(hi, r.first + (r.count - 1) * m.p.dh);
  }
}

struct Scratch {
  float* hv;     // row results of the band's input rows: values
  int32_t* hc;   // and columns
  char* done;    // per band row: row result computed
};

template <class Out>
void max_band(const MaxPlan& m, int64_t item, Scratch& s, const float* x, float* y, Out* idx) {
  const PoolParams& p = m.p;
  int64_t plane = item / m.nbands, oh0 = item % m.nbands * m.band, oh1 = std::min(p.P, oh0 + m.band);
  const float* xp = x + plane / p.C * p.xs_n + plane % p.C * p.xs_c;
  int64_t lo, hi;
  band_rows(m, oh0, oh1, lo, hi);
  std::fill(s.done, s.done + (hi - lo + 1), 0);
  for (int64_t oh = oh0; oh < oh1; oh++) {
    Taps r = m.rows.taps[oh];
    for (int64_t t = 0, h = r.first; t < r.count; t++, h += p.dh) {
      if (s.done[h - lo]) continue;
      if (p.xs_h == p.W) prefetch_bytes(xp + (h + kAhead) * p.xs_h, p.W * 4);
      const float* xr = xp + h * p.xs_h;
      row_max(xr, m.x_end - xr, m, s.hv + (h - lo) * p.Q, s.hc + (h - lo) * p.Q);
      s.done[h - lo] = 1;
    }
    int64_t at = (plane * p.P + oh) * p.Q;
    col_max(s.hv, s.hc, lo, r, oh * p.sh - p.ph, p, y + at, idx + at, m.narrow);
  }
}

// ---------------------------------------------------------------------------- values only
// Without indices the window order does not matter (the value is the maximum, or NaN if any tap
// is NaN), so the R rows of an output row are reduced first, elementwise over W with no shuffles,
// and the row pass runs once per output row instead of once per input row: for 3x3/2 this halves
// the shuffle work. (A tie of -0.0 and +0.0 may give either zero.)
// vr[0, W) = max over the rows h = r.first + t*dh (t < r.count) of the plane xp
static void rows_max(const float* xp, const PoolParams& p, Taps r, float* vr) {
  const float* x0 = xp + r.first * p.xs_h;
  auto block = [&](int64_t w) {
    VF best = vld<VF>(x0 + w);
    for (int64_t t = 1; t < r.count; t++) best = max_nan(best, vld<VF>(x0 + t * p.dh * p.xs_h + w));
    vst(vr + w, best);
  };
  for (int64_t w = 0; p.W < kVF && w < p.W; w++) {
    float best = x0[w], v;
    for (int64_t t = 1; t < r.count; t++)
      if ((v = x0[t * p.dh * p.xs_h + w]) > best || v != v) best = v;
    vr[w] = best;
  }
  for_blocks(0, p.W, block);
}

void max_band_values(const MaxPlan& m, int64_t item, const float* x, float* y) {
  const PoolParams& p = m.p;
  int64_t plane = item / m.nbands, oh0 = item % m.nbands * m.band, oh1 = std::min(p.P, oh0 + m.band);
  const float* xp = x + plane / p.C * p.xs_n + plane % p.C * p.xs_c;
  float* vr = scratch<float, 2>(p.W + narrow_reach(p));  // slack: row_max may read past W
  float* hv = scratch<float, 3>(p.Q + kVF);  // row_max may write kVF slack lanes (narrow rows)
  for (int64_t oh = oh0; oh < oh1; oh++) {
    Taps r = m.rows.taps[oh];
    if (p.xs_h == p.W) prefetch_bytes(xp + (r.first + kAheadValues) * p.xs_h, p.sh * p.W * 4);
    const float* row = xp + r.first * p.xs_h;
    if (r.count > 1) rows_max(xp, p, r, vr), row = vr;
    float* yr = y + (plane * p.P + oh) * p.Q;
    row_max(row, row == vr ? p.W + narrow_reach(p) : m.x_end - row, m, m.narrow ? hv : yr, nullptr);
    if (m.narrow) std::memcpy(yr, hv, p.Q * sizeof(float));
  }
}

// idx: int64 indices, codes: window codes, neither: values only
bool max_pool_f32(const PoolParams& p, const float* x, float* y, int64_t* idx, uint8_t* codes) {
  if (p.xs_w != 1 || p.H * p.W >= (int64_t(1) << 31)) return false;
  MaxPlan m{p, dim_geometry(p.P, p.H, p.R, p.sh, p.ph, p.dh), dim_geometry(p.Q, p.W, p.S, p.sw, p.pw, p.dw), 1, 1,
            false, x};
  if (p.xs_n >= 0 && p.xs_c >= 0 && p.xs_h >= 0)  // else x_end = x: every narrow row is copied
    m.x_end = x + (p.planes / p.C - 1) * p.xs_n + (p.C - 1) * p.xs_c + (p.H - 1) * p.xs_h + p.W;
  if (m.rows.any_empty || m.cols.any_empty) return false;
  m.narrow = p.Q < kVF && m.cols.lo == 0 && m.cols.hi == p.Q && p.dh == 1;
  int64_t span_rows = std::max<int64_t>(1, kScratchBytes / (8 * p.Q));
  m.band = std::clamp<int64_t>((span_rows - (p.R - 1) * p.dh - 1) / p.sh + 1, 1, p.P);
  m.nbands = (p.P + m.band - 1) / m.band;
  int64_t span = (m.band - 1) * p.sh + (p.R - 1) * p.dh + 1;
  if (!idx && !codes) {
    for_items(p.planes * m.nbands, planes_grain(m.band * p.Q * p.R * p.S), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) max_band_values(m, i, x, y);
    });
    return true;
  }
  for_items(p.planes * m.nbands, planes_grain(m.band * p.Q * p.R * p.S), [&](int64_t i0, int64_t i1) {
    Scratch s{scratch<float, 0>(span * p.Q + kVF), scratch<int32_t, 0>(span * p.Q + kVF), scratch<char, 0>(span)};
    for (int64_t i = i0; i < i1; i++) {
      if (idx) max_band(m, i, s, x, y, idx);
      else max_band(m, i, s, x, y, codes);
    }
  });
  return true;
}

bool max_pool_indices_f32(const PoolParams& p, const float* x, float* y, int64_t* idx) {
  return max_pool_f32(p, x, y, idx, nullptr);
}

bool max_pool_codes_f32(const PoolParams& p, const float* x, float* y, uint8_t* codes) {
  return p.R * p.S <= kMaxCodeTaps && max_pool_f32(p, x, y, nullptr, codes);
}

// ------------------------------------------------------------------------------------ backward
// One plane: dp = 0, dp[idx[o]] += dy[o] in output order. Returns the first o whose index is
// outside [0, in_n) (the caller raises), or -1.
int64_t scatter_plane(float* __restrict dp, int64_t in_n, const float* __restrict dy, const int64_t* __restrict idx,
                      int64_t out_n) {
  std::memset(dp, 0, in_n * sizeof(float));
  for (int64_t o = 0; o < out_n; o++) {
    int64_t j = idx[o];
    if (__builtin_expect((uint64_t)j >= (uint64_t)in_n, 0)) return o;
    dp[j] += dy[o];
  }
  return -1;
}

int64_t max_pool_grad_f32(int64_t planes, int64_t in_n, int64_t out_n, const float* dy, const int64_t* idx,
                          float* dx) {
  FirstBad bad(out_n);
  for_items(planes, planes_grain(in_n + 2 * out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      bad.report(i, scatter_plane(dx + i * in_n, in_n, dy + i * out_n, idx + i * out_n, out_n));
  });
  return bad.get();
}

}  // namespace

void fill_avg_pool_kernels(PoolFastKernels& k);       // pool_avg.cpp
void fill_adaptive_pool_kernels(PoolFastKernels& k);  // pool_adaptive.cpp
void fill_max_pool_code_kernels(PoolFastKernels& k);  // pool_max_codes.cpp

void fill_pool_kernels(PoolFastKernels& k) {
  k.max_pool = max_pool_indices_f32;
  k.max_pool_codes = max_pool_codes_f32;
  fill_max_pool_code_kernels(k);
  k.max_pool_backward = max_pool_grad_f32;
  fill_avg_pool_kernels(k);
  fill_adaptive_pool_kernels(k);
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
