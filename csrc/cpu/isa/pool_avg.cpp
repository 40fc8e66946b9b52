// Average pooling forward and backward, float32, W-contiguous planes (any kernel, stride, padding,
// ceil_mode, count_include_pad, divisor_override). Separable like max pooling: a window sum is the
// sum over its rows of row sums over its columns, and the divisor factors per dim (clipped or
// padded extent along H times along W, or the override).
// Forward: row sums of every needed input row (SIMD over output columns), then per output row the
// sum of its rows divided by the divisor. Backward is the transpose: per input row h, the sum of
// dy / divisor over the output rows whose windows hold h (SIMD over output columns), then spread
// over the columns: with stride 1 or 2 every dx column is a sum of shifted loads of that row
// (stride 2 in two phases, even and odd columns, interleaved), otherwise a per-column loop.
// Every dx element is written once, so dx needs no zeroing.
#include <cstdint>
#include <vector>
#include "cpu/isa/pool_simd.h"
#include "cpu/isa/stream.h"
#include "cpu/pool_fast.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {
using namespace pool;

constexpr int64_t kScratchBytes = 64 << 10;
constexpr int64_t kAhead = 16;  // input rows prefetched ahead of the row pass

struct AvgDim {
  DimGeo g;                   // clipped window per output
  std::vector<float> factor;  // per output: this dim's share of the divisor
  std::vector<int64_t> cover; // per input position i: outputs [cover[2i], cover[2i+1]) hold i
};

AvgDim avg_dim(int64_t out, int64_t in, int64_t k, int64_t s, int64_t pad, bool include_pad, bool override_div) {
  AvgDim a{dim_geometry(out, in, k, s, pad, 1), std::vector<float>(out), std::vector<int64_t>(2 * in)};
  for (int64_t o = 0; o < out; o++) {
    int64_t start = o * s - pad, padded = std::min(start + k, in + pad) - start;
    a.factor[o] = override_div ? 1.0f : float(include_pad ? padded : a.g.taps[o].count);
  }
  for (int64_t i = 0; i < in; i++) {
    int64_t lo = i + pad - k + 1;
    lo = lo <= 0 ? 0 : (lo + s - 1) / s;
    a.cover[2 * i] = std::min(lo, out);
    a.cover[2 * i + 1] = std::min(out, (i + pad) / s + 1);
  }
  return a;
}

struct AvgPlan {
  const PoolParams& p;
  AvgDim rows, cols;
  float divisor;         // p.divisor as float, or 1 (the factors hold the divisor)
  int64_t band, nbands;  // forward: output rows per item; backward: input rows per item
  bool stream;           // backward: dx (written once, never read here) goes out by streaming stores
};

AvgPlan make_plan(const PoolParams& p) {
  bool ov = p.divisor != 0;
  return AvgPlan{p, avg_dim(p.P, p.H, p.R, p.sh, p.ph, p.count_include_pad, ov),
                 avg_dim(p.Q, p.W, p.S, p.sw, p.pw, p.count_include_pad, ov), ov ? float(p.divisor) : 1.0f, 1, 1, false};
}

// ------------------------------------------------------------------------------------ forward
template <int kStep> static void row_sum_blocks(const float* xr, const PoolParams& p, int64_t lo, int64_t hi,
                                                float* hs) {
  for_blocks(lo, hi, [&](int64_t o) {
    int64_t s0 = o * p.sw - p.pw;
    VF acc = load_taps<kStep>(xr, s0, p.sw, p.W);
    for (int64_t t = 1; t < p.S; t++) acc += load_taps<kStep>(xr, s0 + t, p.sw, p.W);
    vst(hs + o, acc);
  });
}

void row_sum(const float* xr, const AvgPlan& m, float* hs) {
  const DimGeo& g = m.cols.g;
  int64_t lo = g.lo, hi = g.hi;
  if (hi - lo < kVF) lo = hi = 0;
  for (int64_t o = 0; o < m.p.Q; o++) {
    if (o == lo) o = hi;
    if (o >= m.p.Q) break;
    float acc = 0;
    for (int64_t w = g.taps[o].first, e = w + g.taps[o].count; w < e; w++) acc += xr[w];
    hs[o] = acc;
  }
  if (m.p.sw == 1) row_sum_blocks<1>(xr, m.p, lo, hi, hs);
  else if (m.p.sw == 2) row_sum_blocks<2>(xr, m.p, lo, hi, hs);
  else row_sum_blocks<0>(xr, m.p, lo, hi, hs);
}

// y row = (sum of the row sums of rows [r.first, r.first + r.count)) / divisor
void col_sum(const float* hs, int64_t hbase, Taps r, float rf, const AvgPlan& m, float* y) {
  const int64_t Q = m.p.Q;
  const float* cf = m.cols.factor.data();
  const float* top = hs + (r.first - hbase) * Q;
  auto one = [&](int64_t o) {
    float acc = top[o];
    for (int64_t t = 1; t < r.count; t++) acc += top[t * Q + o];
    y[o] = acc / (m.divisor * rf * cf[o]);
  };
  if (Q < kVF) for (int64_t o = 0; o < Q; o++) one(o);
  for_blocks(0, Q, [&](int64_t o) {
    VF acc = vld<VF>(top + o);
    for (int64_t t = 1; t < r.count; t++) acc += vld<VF>(top + t * Q + o);
    vst(y + o, acc / (vsplat(m.divisor * rf) * vld<VF>(cf + o)));
  });
}

void avg_band(const AvgPlan& m, int64_t item, float* hs, const float* x, float* y) {
  const PoolParams& p = m.p;
  int64_t plane = item / m.nbands, oh0 = item % m.nbands * m.band, oh1 = std::min(p.P, oh0 + m.band);
  const float* xp = x + plane / p.C * p.xs_n + plane % p.C * p.xs_c;
  int64_t lo = m.rows.g.taps[oh0].first, hi = lo - 1;  // row sums held for rows [lo, hi]
  for (int64_t oh = oh0; oh < oh1; oh++) {
    Taps r = m.rows.g.taps[oh];
    for (; hi < r.first + r.count - 1; hi++) {
      if (p.xs_h == p.W) prefetch_bytes(xp + (hi + 1 + kAhead) * p.xs_h, p.W * 4);
      row_sum(xp + (hi + 1) * p.xs_h, m, hs + (hi + 1 - lo) * p.Q);
    }
    col_sum(hs, lo, r, m.rows.factor[oh], m, y + (plane * p.P + oh) * p.Q);
  }
}

bool avg_pool_f32(const PoolParams& p, const float* x, float* y) {
  if (p.xs_w != 1 || p.dh != 1 || p.dw != 1) return false;
  AvgPlan m = make_plan(p);
  if (m.rows.g.any_empty || m.cols.g.any_empty) return false;
  int64_t span_rows = std::max<int64_t>(p.R, kScratchBytes / (4 * p.Q));
  m.band = std::clamp<int64_t>((span_rows - p.R) / p.sh + 1, 1, p.P);
  m.nbands = (p.P + m.band - 1) / m.band;
  int64_t span = (m.band - 1) * p.sh + p.R;
  for_items(p.planes * m.nbands, planes_grain(m.band * p.Q * p.R * p.S), [&](int64_t i0, int64_t i1) {
    float* hs = scratch<float, 1>(span * p.Q);
    for (int64_t i = i0; i < i1; i++) avg_band(m, i, hs, x, y);
  });
  return true;
}

// ------------------------------------------------------------------------------------ backward
// Interleave e (even columns) and o (odd columns): lanes [half*kVF, half*kVF + kVF) of e0 o0 e1 o1 ...
static inline VF zip_half(VF e, VF o, int half) {
#if defined(__AVX512F__)
  const VI lo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
#elif defined(__AVX2__)
  const VI lo = {0, 8, 1, 9, 2, 10, 3, 11};
#else
  const VI lo = {0, 4, 1, 5};
#endif
  return half ? __builtin_shuffle(e, o, lo + kVF / 2) : __builtin_shuffle(e, o, lo);
}

// g row (Q values, at gp) = sum over the output rows [oh0, oh1) of dy / divisor
void grad_row(const float* dy, int64_t oh0, int64_t oh1, const AvgPlan& m, float* gp) {
  const int64_t Q = m.p.Q;
  const float* cf = m.cols.factor.data();
  auto one = [&](int64_t o) {
    float acc = 0;
    for (int64_t oh = oh0; oh < oh1; oh++) acc += dy[oh * Q + o] / (m.divisor * m.rows.factor[oh] * cf[o]);
    gp[o] = acc;
  };
  if (Q < kVF) for (int64_t o = 0; o < Q; o++) one(o);
  for_blocks(0, Q, [&](int64_t o) {
    VF acc = vsplat(0.0f), c = vld<VF>(cf + o);
    for (int64_t oh = oh0; oh < oh1; oh++) acc += vld<VF>(dy + oh * Q + o) / (vsplat(m.divisor * m.rows.factor[oh]) * c);
    vst(gp + o, acc);
  });
}

// dx row from the g row: dx[w] = sum of g over the windows holding column w. g sits at gp inside
// a zero margin, so a shifted load past either end adds nothing.
// dx columns [w, w + kVF), stride 1
static inline void spread_block1(const float* gp, const AvgPlan& m, int64_t w, float* dxr) {
  const PoolParams& p = m.p;
  VF acc = vld<VF>(gp + w + p.pw);
  for (int64_t t = 1; t < p.S; t++) acc += vld<VF>(gp + w + p.pw - t);
  store_out(dxr + w, acc, m.stream);
}

// dx columns [w, w + 2*kVF), stride 2, w even: phase b holds columns w + 2j + b
static inline void spread_block2(const float* gp, const AvgPlan& m, int64_t w, float* dxr) {
  const PoolParams& p = m.p;
  VF ph[2] = {vsplat(0.0f), vsplat(0.0f)};
  for (int64_t b = 0; b < 2; b++)
    for (int64_t t = (b + p.pw) % 2; t < p.S; t += 2) ph[b] += vld<VF>(gp + w / 2 + (b + p.pw - t) / 2);
  store_out(dxr + w, zip_half(ph[0], ph[1], 0), m.stream);
  store_out(dxr + w + kVF, zip_half(ph[0], ph[1], 1), m.stream);
}

// Vector blocks for stride 1 or 2 (the last one may overlap its neighbour), then per-column sums
// over the covering windows for whatever is left (other strides, narrow rows, an odd last column).
void spread_row(const float* gp, const AvgPlan& m, float* dxr) {
  const PoolParams& p = m.p;
  int64_t w = 0;
  if (p.sw == 1 && p.W >= kVF) {
    for (; w + kVF <= p.W; w += kVF) spread_block1(gp, m, w, dxr);
    if (w < p.W) spread_block1(gp, m, p.W - kVF, dxr), w = p.W;
  } else if (p.sw == 2 && p.W >= 2 * kVF) {
    for (; w + 2 * kVF <= p.W; w += 2 * kVF) spread_block2(gp, m, w, dxr);
    if (w < p.W) spread_block2(gp, m, (p.W - 2 * kVF) & ~int64_t(1), dxr), w = p.W - (p.W & 1);
  }
  for (; w < p.W; w++) {
    float acc = 0;
    for (int64_t o = m.cols.cover[2 * w]; o < m.cols.cover[2 * w + 1]; o++) acc += gp[o];
    dxr[w] = acc;
  }
}

void avg_grad_band(const AvgPlan& m, int64_t item, float* gp, const float* dy, float* dx) {
  const PoolParams& p = m.p;
  int64_t plane = item / m.nbands, h0 = item % m.nbands * m.band, h1 = std::min(p.H, h0 + m.band);
  int64_t lo = -1, hi = -1;  // output rows summed in gp (rows of 2x2/2 windows share them)
  for (int64_t h = h0; h < h1; h++) {
    if (m.rows.cover[2 * h] != lo || m.rows.cover[2 * h + 1] != hi) {
      lo = m.rows.cover[2 * h], hi = m.rows.cover[2 * h + 1];
      grad_row(dy + plane * p.P * p.Q, lo, hi, m, gp);
    }
    spread_row(gp, m, dx + (plane * p.H + h) * p.W);
  }
}

bool avg_pool_backward_f32(const PoolParams& p, const float* dy, float* dx) {
  if (p.dh != 1 || p.dw != 1) return false;
  AvgPlan m = make_plan(p);
  if (m.rows.g.any_empty || m.cols.g.any_empty) return false;
  m.band = std::max<int64_t>(1, 8192 / p.W);
  m.nbands = (p.H + m.band - 1) / m.band;
  m.stream = output_streams(p.planes * p.H * p.W * (int64_t)sizeof(float));
  // g row with zero margins: shifted loads reach S + kVF before and W + kVF past its start
  int64_t margin = p.S + 2 * kVF, len = margin + std::max(p.Q, p.W + p.pw) + margin;
  for_items(p.planes * m.nbands, planes_grain(m.band * p.W * 2), [&](int64_t i0, int64_t i1) {
    float* g = scratch<float, 2>(len);
    std::fill(g, g + len, 0.0f);
    for (int64_t i = i0; i < i1; i++) avg_grad_band(m, i, g + margin, dy, dx);
    if (m.stream) stream_fence();
  });
  return true;
}

}  // namespace

void fill_avg_pool_kernels(PoolFastKernels& k) {
  k.avg_pool = avg_pool_f32;
  k.avg_pool_backward = avg_pool_backward_f32;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
