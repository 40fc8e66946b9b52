// Float32 row kernels of the fused layers, compiled per ISA: one contiguous row per call, SIMD
// across the row. The callers (cpu/norm.cpp, cpu/loss.cpp, ops/reduce.cpp) own threading, the
// other dtypes and the strided cases. Row sums accumulate in float lanes (several independent
// accumulators) and are combined in double; statistics are centred first where cancellation could
// bite. Every exp has an argument <= ~0 (x - max, x - lse, log-probabilities) and goes through
// vmath.h's short vexp_shifted. Layouts: x, g, y, dx are (n,) contiguous, any alignment.
#include <algorithm>
#include <cmath>
#include <cstring>
#include "cpu/isa/stream.h"
#include "cpu/isa/vmath.h"
#include "cpu/kernels.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

// A 16-lane vector is loaded as two 8-lane halves: rows here are read in short bursts, and on the
// AVX-512 machine a 64-byte load that straddles two cache lines (any row not 64-byte aligned, e.g.
// NumPy-backed tensors) made those bursts ~40% slower from memory; a 32-byte half straddles at most
// every other time. Aligned or in cache, the two halves cost about the same as one load.
static inline VF loadv(const float* p) {
#if defined(__AVX512F__)
  typedef float VH __attribute__((vector_size(32)));
  VH a, b;
  std::memcpy(&a, p, sizeof(VH));
  std::memcpy(&b, p + 8, sizeof(VH));
  return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#else
  VF v;
  std::memcpy(&v, p, sizeof(VF));
  return v;
#endif
}
static inline void storev(float* p, VF v) { std::memcpy(p, &v, sizeof(VF)); }
static inline float hsum(VF v) { float s = 0; for (int i = 0; i < kVF; i++) s += v[i]; return s; }

// tail of a row as one padded vector (pad value `fill`), and its partial store
static inline VF load_tail(const float* p, int64_t k, float fill) {
  VF v = vsplat(fill);
  for (int64_t j = 0; j < k; j++) v[j] = p[j];
  return v;
}
static inline void store_tail(float* p, VF v, int64_t k) { for (int64_t j = 0; j < k; j++) p[j] = v[j]; }

// max of a row, VF lanes at a time (a scalar compare chain is ~3 cycles per element); a NaN
// anywhere makes the result NaN, which then propagates through the sum below
float row_max(const float* x, int64_t n) {
  VF m0 = vsplat(-__builtin_inff()), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * kVF <= n; i += 2 * kVF) {
    VF a = loadv(x + i), b = loadv(x + i + kVF);
    m0 = ((a > m0) | (a != a)) ? a : m0;
    m1 = ((b > m1) | (b != b)) ? b : m1;
  }
  if (i + kVF <= n) { VF a = loadv(x + i); m0 = ((a > m0) | (a != a)) ? a : m0; i += kVF; }
  if (i < n) { VF a = load_tail(x + i, n - i, -__builtin_inff()); m0 = ((a > m0) | (a != a)) ? a : m0; }
  m0 = ((m1 > m0) | (m1 != m1)) ? m1 : m0;
  float m = m0[0];
  for (int j = 1; j < kVF; j++) m = (m0[j] > m || m0[j] != m0[j]) ? m0[j] : m;
  return m;
}

// log(sum(exp(x))) = m + log(sum(exp(x - m))), m = max (NaNs propagate through the sum)
double row_lse(const float* x, int64_t n) {
  float m = row_max(x, n);
  if (std::isinf(m)) return (double)m;
  VF acc = vsplat(0.0f), vm = vsplat(m);
  int64_t i = 0;
  for (; i + kVF <= n; i += kVF) acc += vexp_shifted(loadv(x + i) - vm);
  if (i < n) acc += vexp_shifted(load_tail(x + i, n - i, -__builtin_inff()) - vm);
  return (double)m + std::log((double)hsum(acc));
}

// out = k * exp(x - shift)
void row_scaled_exp(const float* x, int64_t n, float shift, float k, float* out) {
  VF vs = vsplat(shift), vk = vsplat(k);
  int64_t i = 0;
  for (; i + kVF <= n; i += kVF) storev(out + i, vk * vexp_shifted(loadv(x + i) - vs));
  if (i < n) store_tail(out + i, vk * vexp_shifted(load_tail(x + i, n - i, 0.0f) - vs), n - i);
}

// out = k * softmax(x) with one exp pass (exp(x - max) stored, then scaled in cache); returns the
// log-sum-exp as row_lse does. Rows whose max is infinite take row_lse's value and k * exp(x - lse).
double row_softmax_scaled(const float* x, int64_t n, float k, float* out) {
  float m = row_max(x, n);
  if (std::isinf(m)) {
    row_scaled_exp(x, n, m, k, out);
    return (double)m;
  }
  VF acc = vsplat(0.0f), vm = vsplat(m);
  int64_t i = 0;
  for (; i + kVF <= n; i += kVF) {
    VF e = vexp_shifted(loadv(x + i) - vm);
    storev(out + i, e);
    acc += e;
  }
  if (i < n) {
    VF e = vexp_shifted(load_tail(x + i, n - i, -__builtin_inff()) - vm);
    store_tail(out + i, e, n - i);
    acc += e;
  }
  const double sum = (double)hsum(acc);
  const VF vk = vsplat((float)((double)k / sum));
  for (i = 0; i + kVF <= n; i += kVF) storev(out + i, loadv(out + i) * vk);
  for (; i < n; i++) out[i] *= vk[0];
  return (double)m + std::log(sum);
}

// ---------------------------------------------------------------- layer_norm / rms_norm rows
// Row statistics accumulate in float32 lanes, kAcc independent vector accumulators (one add chain
// would wait on the add latency each step), and are combined in double at the end: a row of K
// elements puts ~K/(kAcc*kVF) terms in a lane, so rounding stays near float epsilon for long rows.
constexpr int kAcc = 4;

// the accumulators added in float (4 terms), then the lanes in double by 4 independent chains
static inline double hsum_d(const VF* acc) {
  VF v = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  double s[4] = {0, 0, 0, 0};
  for (int l = 0; l < kVF; l += 4)
    for (int j = 0; j < 4; j++) s[j] += (double)v[l + j];
  return (s[0] + s[1]) + (s[2] + s[3]);
}
static inline VI tail_mask(int64_t k) {  // lanes j < k
  VI idx;
  for (int l = 0; l < kVF; l++) idx[l] = l;
  return idx < (VI{} + (int32_t)k);
}

// sum of (x - c) over a row
static double sum_shifted(const float* x, int64_t n, float c) {
  VF acc[kAcc] = {}, vc = vsplat(c);
  int64_t i = 0;
  for (; i + kAcc * kVF <= n; i += kAcc * kVF)
    for (int a = 0; a < kAcc; a++) acc[a] += loadv(x + i + a * kVF) - vc;
  for (; i + kVF <= n; i += kVF) acc[0] += loadv(x + i) - vc;
  if (i < n) acc[1] += load_tail(x + i, n - i, c) - vc;
  return hsum_d(acc);
}

// sums of d and d^2, d = (x - hi) - lo: x centred on the mean hi + lo with float precision
struct Moments { double s1, s2; };
static Moments centred_moments(const float* x, int64_t n, float hi, float lo) {
  VF a1[kAcc] = {}, a2[kAcc] = {}, vh = vsplat(hi), vl = vsplat(lo);
  int64_t i = 0;
  for (; i + kAcc * kVF <= n; i += kAcc * kVF)
    for (int a = 0; a < kAcc; a++) {
      VF d = (loadv(x + i + a * kVF) - vh) - vl;
      a1[a] += d;
      a2[a] += d * d;
    }
  for (; i + kVF <= n; i += kVF) { VF d = (loadv(x + i) - vh) - vl; a1[0] += d; a2[0] += d * d; }
  if (i < n) {
    VF d = vsel(tail_mask(n - i), (load_tail(x + i, n - i, hi) - vh) - vl, VF{});
    a1[1] += d;
    a2[1] += d * d;
  }
  return {hsum_d(a1), hsum_d(a2)};
}

// y = ((x - hi) - lo) * rstd (* w) (+ b)
template <bool W, bool B>
static void ln_affine(const float* x, int64_t n, float hi, float lo, float is, const float* w, const float* b, float* y,
                      bool stream) {
  VF vh = vsplat(hi), vl = vsplat(lo), vi = vsplat(is);
  auto f = [&](VF xv, VF wv, VF bv) {
    VF v = ((xv - vh) - vl) * vi;
    if constexpr (W) v = v * wv;
    if constexpr (B) v = v + bv;
    return v;
  };
  int64_t i = 0;
  for (; i + kVF <= n; i += kVF)
    store_out(y + i, f(loadv(x + i), W ? loadv(w + i) : VF{}, B ? loadv(b + i) : VF{}), stream);
  if (i < n)
    store_tail(y + i, f(load_tail(x + i, n - i, hi), W ? load_tail(w + i, n - i, 0.0f) : VF{},
                        B ? load_tail(b + i, n - i, 0.0f) : VF{}), n - i);
}

// layer_norm / rms_norm forward of one row. Mean by the corrected two-pass method: a rough mean m0
// from sum(x - x[0]) (no large-offset cancellation), then d = x - m0 gives mean = m0 + mean(d) and
// var = mean(d^2) - mean(d)^2 (the correction is tiny, so no cancellation either). Statistics are
// returned in double; y = ((x - hi) - lo) * rstd * w + b with the mean split hi + lo in floats.
void row_layer_norm(const float* x, int64_t n, const float* w, const float* b, double eps, bool rms,
                    double* mean, double* rstd, float* y, bool stream) {
  double mu = 0, var;
  if (rms) {
    var = centred_moments(x, n, 0.0f, 0.0f).s2 / (double)n;
  } else {
    double m0 = (double)x[0] + sum_shifted(x, n, x[0]) / (double)n;
    const float h0 = (float)m0;
    Moments m = centred_moments(x, n, h0, (float)(m0 - (double)h0));
    double dm = m.s1 / (double)n;
    mu = m0 + dm;
    var = std::max(m.s2 / (double)n - dm * dm, 0.0);
  }
  double is = 1.0 / std::sqrt(var + eps);
  *mean = mu; *rstd = is;
  const float hi = (float)mu, lo = (float)(mu - (double)hi), fis = (float)is;
  if (w && b) ln_affine<true, true>(x, n, hi, lo, fis, w, b, y, stream);
  else if (w) ln_affine<true, false>(x, n, hi, lo, fis, w, b, y, stream);
  else if (b) ln_affine<false, true>(x, n, hi, lo, fis, w, b, y, stream);
  else ln_affine<false, false>(x, n, hi, lo, fis, w, b, y, stream);
}

// dx of one row: with gh = g*w and d = x - mean, sums A = sum(gh), D = sum(gh*d) (float lanes, the
// tail's g padded with 0 so it adds nothing), then dx = rstd * (gh - A/n - d * D*rstd^2/n)
// (no A/n term for rms_norm)
template <bool W>
static void ln_dx(const float* g, const float* x, const float* w, int64_t n, float hi, float lo, double is, bool rms,
                  float* dx, bool stream) {
  VF vh = vsplat(hi), vl = vsplat(lo);
  auto gh_of = [&](VF gv, const float* wp, int64_t k) {
    if constexpr (W) return gv * (k == kVF ? loadv(wp) : load_tail(wp, k, 0.0f));
    return gv;
  };
  VF sa[kAcc] = {}, sd[kAcc] = {};
  int64_t i = 0;
  for (; i + kAcc * kVF <= n; i += kAcc * kVF)
    for (int a = 0; a < kAcc; a++) {
      int64_t o = i + a * kVF;
      VF gh = gh_of(loadv(g + o), w + o, kVF);
      sa[a] += gh;
      sd[a] += gh * ((loadv(x + o) - vh) - vl);
    }
  for (; i < n; i += kVF) {
    int64_t k = std::min<int64_t>(kVF, n - i);
    VF gh = gh_of(k == kVF ? loadv(g + i) : load_tail(g + i, k, 0.0f), w + i, k);
    sa[0] += gh;
    sd[0] += gh * (((k == kVF ? loadv(x + i) : load_tail(x + i, k, hi)) - vh) - vl);
  }
  const VF ca = vsplat((float)(rms ? 0.0 : hsum_d(sa) / (double)n)), cb = vsplat((float)(hsum_d(sd) * is * is / (double)n));
  const VF vi = vsplat((float)is);
  for (i = 0; i + kVF <= n; i += kVF)
    store_out(dx + i, vi * ((gh_of(loadv(g + i), w + i, kVF) - ca) - ((loadv(x + i) - vh) - vl) * cb), stream);
  if (i < n) {
    int64_t k = n - i;
    VF gh = gh_of(load_tail(g + i, k, 0.0f), w + i, k);
    store_tail(dx + i, vi * ((gh - ca) - ((load_tail(x + i, k, hi) - vh) - vl) * cb), k);
  }
}

// aw += g * xhat, ab += g over one row, in float lanes (the caller adds them into double sums every
// few rows: double lanes here were a third of the backward's time)
static void ln_wb_partials(const float* g, const float* x, int64_t n, float hi, float lo, float is, float* aw,
                           float* ab) {
  const VF vh = vsplat(hi), vl = vsplat(lo), vi = vsplat(is);
  int64_t i = 0;
  for (; i + kVF <= n; i += kVF) {
    VF gv = loadv(g + i), xh = ((loadv(x + i) - vh) - vl) * vi;
    storev(aw + i, loadv(aw + i) + gv * xh);
    storev(ab + i, loadv(ab + i) + gv);
  }
  for (; i < n; i++) {
    aw[i] += g[i] * (((x[i] - hi) - lo) * is);
    ab[i] += g[i];
  }
}

// layer_norm backward of one row: dw/db partial sums (aw, ab: float, may be null) and dx (may be null)
void row_layer_norm_bwd(const float* g, const float* x, const float* w, int64_t n, double mu, double is, bool rms,
                        float* aw, float* ab, float* dx, bool stream) {
  const float hi = (float)mu, lo = (float)(mu - (double)hi);
  if (aw) ln_wb_partials(g, x, n, hi, lo, (float)is, aw, ab);
  if (!dx) return;
  if (w) ln_dx<true>(g, x, w, n, hi, lo, is, rms, dx, stream);
  else ln_dx<false>(g, x, w, n, hi, lo, is, rms, dx, stream);
}

// softmax backward from the output y: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g).
// The sum accumulates in float lanes (kAcc accumulators, combined in double): a double add chain
// per row was ~0.15 ns/element of latency, as much as the memory traffic at 1 thread.
void row_softmax_bwd(const float* g, const float* y, int64_t n, bool log, float* dx) {
  VF acc[kAcc] = {};
  int64_t i = 0;
  for (; i + kAcc * kVF <= n; i += kAcc * kVF)
    for (int a = 0; a < kAcc; a++) {
      VF gv = loadv(g + i + a * kVF);
      acc[a] += log ? gv : gv * loadv(y + i + a * kVF);
    }
  for (; i < n; i += kVF) {
    int64_t k = std::min<int64_t>(kVF, n - i);
    VF gv = k == kVF ? loadv(g + i) : load_tail(g + i, k, 0.0f);
    acc[0] += log ? gv : gv * (k == kVF ? loadv(y + i) : load_tail(y + i, k, 0.0f));
  }
  const VF vs = vsplat((float)hsum_d(acc));
  auto f = [&](VF gv, VF yv) { return log ? gv - vexp_shifted(yv) * vs : yv * (gv - vs); };
  for (i = 0; i + kVF <= n; i += kVF) storev(dx + i, f(loadv(g + i), loadv(y + i)));
  if (i < n) store_tail(dx + i, f(load_tail(g + i, n - i, 0.0f), load_tail(y + i, n - i, 0.0f)), n - i);
}

}  // namespace

void register_rows(KernelTable& t) {
  t.row_lse_f32 = &row_lse;
  t.row_scaled_exp_f32 = &row_scaled_exp;
  t.row_softmax_scaled_f32 = &row_softmax_scaled;
  t.row_softmax_bwd_f32 = &row_softmax_bwd;
  t.row_layer_norm_f32 = &row_layer_norm;
  t.row_layer_norm_bwd_f32 = &row_layer_norm_bwd;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
