// CPU kernels of the fused cross-entropy: log-softmax + NLL (+ label smoothing, class weights,
// probability targets) forward, and the backward softmax - target in one pass per row.
// input (N, C, S) contiguous, rows r = n*S + s with the C classes at stride S (unit stride when
// S == 1, the common (N, C) case). The row's log-sum-exp lse = max + log(sum exp(x - max)) is
// stable for any logit magnitude; it is saved so backward recomputes softmax = exp(x - lse)
// without a max pass. Row losses are summed in double per fixed chunk (thread-count independent).
// The forward can also write the input gradient for a unit loss gradient, row by row while the row
// is in cache, so a training step reads the logits once (cross_entropy_forward_grad).
#include <cmath>
#include <type_traits>
#include <vector>
#include "cpu/kernels.h"
#include "ops/norm.h"

namespace pyml {
namespace {

constexpr int64_t kGrain = 16384;

template <typename T> double row_lse(const T* x, int64_t C, int64_t S) {
  if constexpr (std::is_same_v<T, float>) {
    if (S == 1) return kernels().row_lse_f32(x, C);  // the per-ISA SIMD row kernel
  }
  T m = x[0];
  for (int64_t c = 1; c < C; c++) m = x[c * S] > m ? x[c * S] : m;
  if (std::isinf((double)m)) return (double)m;  // all -inf (or a +inf logit): no finite shift exists
  double se = 0;
  if (S == 1) {
#pragma omp simd reduction(+ : se)
    for (int64_t c = 0; c < C; c++) se += (double)std::exp(x[c] - m);
  } else {
    for (int64_t c = 0; c < C; c++) se += (double)std::exp(x[c * S] - m);
  }
  return (double)m + std::log(se);
}

// sum of the class weights (C if none): the smoothing term's total
template <typename T> double ce_weight_sum(const CrossEntropyParams& p) {
  const T* w = (const T*)p.w;
  double wsum = 0;
  for (int64_t c = 0; c < p.C; c++) wsum += w ? (double)w[c] : 1.0;
  return wsum;
}

// gradient of row r (dx and/or dprob, either may be null) for the row loss gradient g; lse is the
// row's log-sum-exp as saved (rounded to T), so forward and backward give the same values
template <typename T> void ce_row_grad(const CrossEntropyParams& p, int64_t r, double g, T lse_t, double wsum, T* dx,
                                       T* dprob) {
  const T *x = (const T*)p.x, *w = (const T*)p.w, *prob = (const T*)p.prob;
  int64_t C = p.C, S = p.S, n = r / S, s = r % S, base = n * C * S + s;
  const T* xr = x + base;
  T* d = dx ? dx + base : nullptr;
  double eps = p.smoothing, eC = eps / (double)C, lse = (double)lse_t;
  if (p.target) {
    int64_t t = p.target[r];
    if (t == p.ignore_index) {
      if (d) for (int64_t c = 0; c < C; c++) d[c * S] = T(0);
      return;
    }
    // dx_c = a*(p_c - [c == t]) + b*(wsum*p_c - w_c), a = g(1-eps)w_t, b = g*eps/C
    double a = g * (1.0 - eps) * (w ? (double)w[t] : 1.0), b = g * eC;
    T kp = (T)(a + b * wsum), kw = (T)(-b), tl = lse_t;
    if constexpr (std::is_same_v<T, float>) {
      if (S == 1 && d && !w && eps == 0) {  // plain targets: d = kp * exp(x - lse), then d[t] -= a
        kernels().row_scaled_exp_f32(xr, C, tl, kp, d);
        d[t] -= (T)a;
        return;
      }
    }
    if (S == 1) {
#pragma omp simd
      for (int64_t c = 0; c < C; c++) d[c] = kp * std::exp(xr[c] - tl) + kw * (w ? w[c] : T(1));
    } else {
      for (int64_t c = 0; c < C; c++) d[c * S] = kp * std::exp(xr[c * S] - tl) + kw * (w ? w[c] : T(1));
    }
    d[t * S] -= (T)a;
    return;
  }
  const T* pr = prob + base;
  double Q = 0;  // sum_c w_c q_c, q = (1-eps)*target + eps/C
  for (int64_t c = 0; c < C; c++) Q += (w ? (double)w[c] : 1.0) * ((1.0 - eps) * (double)pr[c * S] + eC);
  for (int64_t c = 0; c < C; c++) {
    double wc = w ? (double)w[c] : 1.0, xc = (double)xr[c * S];
    if (d) d[c * S] = (T)(g * (Q * std::exp(xc - lse) - wc * ((1.0 - eps) * (double)pr[c * S] + eC)));
    if (dprob) dprob[base + c * S] = (T)(-g * (1.0 - eps) * wc * (xc - lse));
  }
}

template <typename T> void ce_backward(const CrossEntropyParams& p, const T* dl, double scale, T* dx, T* dprob) {
  const T* lse_in = (const T*)p.lse;
  int64_t R = p.N * p.S;
  double wsum = ce_weight_sum<T>(p);
  int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(p.C, 1));
  parallel_for(0, R, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) ce_row_grad<T>(p, r, dl ? (double)dl[r] : scale, lse_in[r], wsum, dx, dprob);
  });
}

// the forward's float32 gradient takes the one-exp-pass row kernel for (N, C) class indices without
// weights or smoothing (the common classifier loss)
static bool one_pass_grad(const CrossEntropyParams& p, const float* dx) {
  return dx && p.S == 1 && p.target && !p.w && p.smoothing == 0;
}

template <typename T> std::pair<double, double> ce_forward(const CrossEntropyParams& p, T* loss, T* dx, double g) {
  const T *x = (const T*)p.x, *w = (const T*)p.w, *prob = (const T*)p.prob;
  T* lse_out = (T*)p.lse;
  int64_t C = p.C, S = p.S, R = p.N * S;
  double eps = p.smoothing, eC = eps / (double)C;
  int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1));
  int64_t nc = max_chunks(R, grain);
  std::vector<double> ls(nc, 0.0), ws(nc, 0.0);
  double wsum = dx ? ce_weight_sum<T>(p) : 0.0;
  for_chunks(R, grain, [&](int64_t ch, int64_t r0, int64_t r1) {
    double sl = 0, sw = 0;
    for (int64_t r = r0; r < r1; r++) {
      int64_t n = r / S, s = r % S;
      const T* xr = x + n * C * S + s;
      double l = 0;
      if (p.target && p.target[r] == p.ignore_index) {
        loss[r] = T(0); lse_out[r] = T(0);
        if (dx) ce_row_grad<T>(p, r, g, T(0), wsum, dx, nullptr);
        continue;
      }
      double lse = 0;
      bool done = false;
      if constexpr (std::is_same_v<T, float>) {
        if (one_pass_grad(p, dx)) {  // dx = g * softmax - g at the target, one exp pass per row
          lse = kernels().row_softmax_scaled_f32(xr, C, (float)g, dx + n * C);
          dx[n * C + p.target[r]] -= (float)g;
          done = true;
        }
      }
      if (!done) {
        lse = row_lse(xr, C, S);
        if (dx) ce_row_grad<T>(p, r, g, (T)lse, wsum, dx, nullptr);
      }
      lse_out[r] = (T)lse;
      if (p.target) {
        int64_t t = p.target[r];
        double wt = w ? (double)w[t] : 1.0;
        l = (1.0 - eps) * wt * (lse - (double)xr[t * S]);
        if (eps > 0) {
          double sm = 0;
          for (int64_t c = 0; c < C; c++) sm += (w ? (double)w[c] : 1.0) * (lse - (double)xr[c * S]);
          l += eC * sm;
        }
        sw += wt;
      } else {
        const T* pr = prob + n * C * S + s;
        for (int64_t c = 0; c < C; c++) {
          double q = (1.0 - eps) * (double)pr[c * S] + eC;
          l += (w ? (double)w[c] : 1.0) * q * (lse - (double)xr[c * S]);
        }
        sw += 1.0;
      }
      loss[r] = (T)l;
      sl += l;
    }
    ls[ch] = sl; ws[ch] = sw;
  });
  double tl = 0, tw = 0;
  for (int64_t c = 0; c < nc; c++) { tl += ls[c]; tw += ws[c]; }
  return {tl, tw};
}

// the mean reduction's divisor: the weights of the non-ignored target classes (rows for probabilities)
template <typename T> double ce_denominator(const CrossEntropyParams& p) {
  int64_t R = p.N * p.S;
  if (!p.target) return (double)R;
  const T* w = (const T*)p.w;
  double d = 0;
  for (int64_t r = 0; r < R; r++)
    if (p.target[r] != p.ignore_index) d += w ? (double)w[p.target[r]] : 1.0;
  return d;
}

}  // namespace

std::pair<double, double> cross_entropy_forward_cpu(const CrossEntropyParams& p, void* loss_rows, void* dx, bool mean) {
  if (p.dtype == DType::Float64) {
    double g = dx && mean ? 1.0 / ce_denominator<double>(p) : 1.0;
    return ce_forward<double>(p, (double*)loss_rows, (double*)dx, g);
  }
  double g = dx && mean ? 1.0 / ce_denominator<float>(p) : 1.0;
  return ce_forward<float>(p, (float*)loss_rows, (float*)dx, g);
}

void cross_entropy_backward_cpu(const CrossEntropyParams& p, const void* dl, double scale, void* dx, void* dprob) {
  if (p.dtype == DType::Float64) ce_backward<double>(p, (const double*)dl, scale, (double*)dx, (double*)dprob);
  else ce_backward<float>(p, (const float*)dl, scale, (float*)dx, (float*)dprob);
}

}  // namespace pyml
