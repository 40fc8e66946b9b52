// Float32 row kernels of the fused layers, compiled per ISA: one contiguous row per call, SIMD
// across the row. The callers (cpu/norm.cpp, cpu/loss.cpp, ops/reduce.cpp) own threading, the
// other dtypes and the strided cases. Sums that feed statistics accumulate in double lanes (as the
// generic kernels do); exp goes through vexp. Layouts: x, g, y, dx are (n,) contiguous.
#include <cmath>
#include <cstring>
#include "cpu/isa/vmath.h"
#include "cpu/kernels.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

static inline VF loadv(const float* p) { VF v; std::memcpy(&v, p, sizeof(VF)); return v; }
static inline void storev(float* p, VF v) { std::memcpy(p, &v, sizeof(VF)); }
static inline float hsum(VF v) { float s = 0; for (int i = 0; i < kVF; i++) s += v[i]; return s; }

// tail of a row as one padded vector (pad value `fill`), and its partial store
static inline VF load_tail(const float* p, int64_t k, float fill) {
  VF v = vsplat(fill);
  for (int64_t j = 0; j < k; j++) v[j] = p[j];
  return v;
}
static inline void store_tail(float* p, VF v, int64_t k) { for (int64_t j = 0; j < k; j++) p[j] = v[j]; }

// e^v for the shifted values here (x - max, x - lse, log-probabilities: v <= ~0): the short vexp_in_range,
// v clamped to [-88, 88] (-inf gives 0, NaN stays NaN)
static inline VF vexp_shifted(VF v) {
  v = v < vsplat(-88.0f) ? vsplat(-88.0f) : v;
  return vexp_in_range(v > vsplat(88.0f) ? vsplat(88.0f) : v);
}

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

// softmax backward from the output y: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g)
void row_softmax_bwd(const float* g, const float* y, int64_t n, bool log, float* dx) {
  double s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += (double)g[i];
    VF vs = vsplat((float)s);
    int64_t i = 0;
    for (; i + kVF <= n; i += kVF) storev(dx + i, loadv(g + i) - vexp_shifted(loadv(y + i)) * vs);
    if (i < n) store_tail(dx + i, load_tail(g + i, n - i, 0.0f) - vexp_shifted(load_tail(y + i, n - i, 0.0f)) * vs, n - i);
    return;
  }
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += (double)g[i] * (double)y[i];
  const float fs = (float)s;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (g[i] - fs);
}

// layer_norm / rms_norm forward of one row: statistics in double, y = ((x - hi) - lo) * rstd * w + b
// with the mean split hi + lo so x near the mean keeps float precision.
void row_layer_norm(const float* x, int64_t n, const float* w, const float* b, double eps, bool rms,
                    double* mean, double* rstd, float* y) {
  double mu = 0, var = 0;
  if (rms) {
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < n; i++) var += (double)x[i] * (double)x[i];
    var /= (double)n;
  } else {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += (double)x[i];
    mu = s / (double)n;
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < n; i++) { double d = (double)x[i] - mu; var += d * d; }
    var /= (double)n;
  }
  double is = 1.0 / std::sqrt(var + eps);
  *mean = mu; *rstd = is;
  const float hi = (float)mu, lo = (float)(mu - (double)hi), fis = (float)is;
  if (w && b) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - hi) - lo) * fis * w[i] + b[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - hi) - lo) * fis * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
  }
}

// layer_norm backward of one row: dw/db partial sums (aw, ab: double, may be null) and
// dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat)) (the mean(g*w) term is absent for rms_norm)
void row_layer_norm_bwd(const float* g, const float* x, const float* w, int64_t n, double mu, double is, bool rms,
                        double* aw, double* ab, float* dx) {
  if (aw) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
      double xh = ((double)x[i] - mu) * is;
      aw[i] += (double)g[i] * xh;
      ab[i] += (double)g[i];
    }
  }
  if (!dx) return;
  double a = 0, bsum = 0;
#pragma omp simd reduction(+ : a, bsum)
  for (int64_t i = 0; i < n; i++) {
    double gh = (double)g[i] * (w ? (double)w[i] : 1.0);
    a += gh;
    bsum += gh * ((double)x[i] - mu);
  }
  const float ca = (float)(rms ? 0.0 : a / (double)n), cb = (float)(bsum * is / (double)n * is), fis = (float)is;
  const float hi = (float)mu, lo = (float)(mu - (double)hi);
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dx[i] = fis * (g[i] * (w ? w[i] : 1.0f) - ca - ((x[i] - hi) - lo) * cb);
}

}  // namespace

void register_rows(KernelTable& t) {
  t.row_lse_f32 = &row_lse;
  t.row_scaled_exp_f32 = &row_scaled_exp;
  t.row_softmax_bwd_f32 = &row_softmax_bwd;
  t.row_layer_norm_f32 = &row_layer_norm;
  t.row_layer_norm_bwd_f32 = &row_layer_norm_bwd;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
