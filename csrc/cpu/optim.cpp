// Fused optimizer step kernels: one pass over the elements per parameter tensor, split across
// threads. Arithmetic mirrors torch.optim's single-tensor formulas operation by operation, in
// the parameter's dtype (scalar coefficients are rounded to T first, as torch does).
#include <algorithm>
#include <cmath>
#include "ops/optim.h"

namespace pyml {

namespace {
constexpr int64_t kGrain = 16384;

// torch.lerp(self, end, w): self + w * (end - self) for w < 0.5, else end - (end - self) * (1 - w)
template <typename T> inline T lerp(T s, T e, T w) {
  return w < T(0.5) ? s + w * (e - s) : e - (e - s) * (T(1) - w);
}
}  // namespace

template <typename T>
void optim_step_kernel(T* p, const T* g, T* s0, T* s1, T* s2, int64_t n, const OptimStep& o) {
  const T wd = (T)o.weight_decay, decay = (T)o.decay_factor, neg = o.maximize ? T(-1) : T(1);
  const bool l2 = !o.decoupled && o.weight_decay != 0, dec = o.decoupled && o.weight_decay != 0;
  auto grad_of = [=](int64_t i) {
    T d = neg * g[i];
    if (l2) d = d + wd * p[i];
    return d;
  };
  switch (o.algo) {
    case OptimStep::SGD: {
      const T mom = (T)o.momentum, damp1 = (T)(1 - o.dampening), nlr = (T)(-o.lr);
      const bool first = o.first, nesterov = o.nesterov;
      // flags in locals and __restrict rows: with o's fields read through a reference and p, g, s0
      // possibly aliasing, GCC reloaded the flags every element and kept the loop scalar
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {  // by value: no reloads through the closure
        T* __restrict pr = p + b;
        const T* __restrict gr = g + b;
        T* __restrict br = s0 ? s0 + b : nullptr;
        const int64_t m = e - b;
        if (!br) {
          for (int64_t i = 0; i < m; i++) pr[i] = pr[i] + nlr * (l2 ? neg * gr[i] + wd * pr[i] : neg * gr[i]);
          return;
        }
        for (int64_t i = 0; i < m; i++) {
          T d = l2 ? neg * gr[i] + wd * pr[i] : neg * gr[i];
          T buf = first ? d : br[i] * mom + damp1 * d;
          br[i] = buf;
          pr[i] = pr[i] + nlr * (nesterov ? d + mom * buf : buf);
        }
      });
      break;
    }
    case OptimStep::Adam: {
      const T w1 = (T)(1 - o.beta1), b2 = (T)o.beta2, w2 = (T)(1 - o.beta2), bc2s = (T)o.bc2_sqrt,
              eps = (T)o.eps, nss = (T)(-o.step_size);
      // Branch-free body (the invariant ternaries, lerp's too, become selects) over __restrict rows so it
      // vectorises; amsgrad's extra row gets its own loop (a null pointer cannot be loaded speculatively).
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        T* __restrict pr = p + b;
        const T* __restrict gr = g + b;
        T* __restrict mr = s0 + b;
        T* __restrict vr = s1 + b;
        auto moments = [=](int64_t i, T& pv, T& m, T& v) {
          pv = dec ? pr[i] * decay : pr[i];
          T d = l2 ? neg * gr[i] + wd * pv : neg * gr[i];
          m = lerp(mr[i], d, w1);
          v = vr[i] * b2 + w2 * d * d;
          mr[i] = m; vr[i] = v;
        };
        const int64_t cnt = e - b;
        if (!s2) {
          for (int64_t i = 0; i < cnt; i++) {
            T pv, m, v;
            moments(i, pv, m, v);
            pr[i] = pv + nss * m / (std::sqrt(v) / bc2s + eps);
          }
          return;
        }
        T* __restrict xr = s2 + b;
        for (int64_t i = 0; i < cnt; i++) {
          T pv, m, v;
          moments(i, pv, m, v);
          v = std::max(xr[i], v);
          xr[i] = v;
          pr[i] = pv + nss * m / (std::sqrt(v) / bc2s + eps);
        }
      });
      break;
    }
    case OptimStep::Adagrad: {
      const T eps = (T)o.eps, nclr = (T)(-o.clr), md = (T)o.mean_div;
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          T d = grad_of(i);
          T s = s0[i] + d * d;
          s0[i] = s;
          T den = o.root_mean ? std::sqrt(s / md) : std::sqrt(s) + eps;
          p[i] = p[i] + nclr * d / den;
        }
      });
      break;
    }
    case OptimStep::RMSprop: {
      const T a = (T)o.alpha, w = (T)(1 - o.alpha), eps = (T)o.eps, mom = (T)o.momentum, nlr = (T)(-o.lr);
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          T d = grad_of(i);
          T sq = o.first_abs ? d * d : s0[i] * a + w * d * d;
          s0[i] = sq;
          T avg;
          if (s2) {
            T ga = lerp(s2[i], d, w);
            s2[i] = ga;
            avg = std::sqrt(sq + T(-1) * ga * ga);
          } else {
            avg = std::sqrt(sq);
          }
          avg = avg + eps;
          if (s1) {
            T buf = s1[i] * mom + d / avg;
            s1[i] = buf;
            p[i] = p[i] + nlr * buf;
          } else {
            p[i] = p[i] + nlr * d / avg;
          }
        }
      });
      break;
    }
    case OptimStep::Adamax: {
      const T w1 = (T)(1 - o.beta1), b2 = (T)o.beta2, eps = (T)o.eps, nclr = (T)(-o.clr);
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          T d = grad_of(i);
          T m = lerp(s0[i], d, w1);
          T u = std::max(s1[i] * b2, std::abs(d) + eps);
          s0[i] = m; s1[i] = u;
          p[i] = p[i] + nclr * m / u;
        }
      });
      break;
    }
    case OptimStep::NAdam: {
      const T w1 = (T)(1 - o.beta1), b2 = (T)o.beta2, w2 = (T)(1 - o.beta2), bc2 = (T)o.bc2, eps = (T)o.eps,
              cg = (T)o.c_grad, ca = (T)o.c_avg;
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          if (dec) p[i] = p[i] * decay;
          T d = grad_of(i);
          T m = lerp(s0[i], d, w1);
          T v = s1[i] * b2 + w2 * d * d;
          s0[i] = m; s1[i] = v;
          T den = std::sqrt(v / bc2) + eps;
          T q = p[i] + cg * d / den;
          p[i] = q + ca * m / den;
        }
      });
      break;
    }
    case OptimStep::RAdam: {
      const T w1 = (T)(1 - o.beta1), b2 = (T)o.beta2, w2 = (T)(1 - o.beta2), bc1 = (T)o.bc1, eps = (T)o.eps,
              lr = (T)o.lr, bc2s = (T)o.bc2_sqrt, rect = (T)o.rect;
      const bool rectified = o.rect > 0;
      parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
          if (dec) p[i] = p[i] * decay;
          T d = grad_of(i);
          T m = lerp(s0[i], d, w1);
          T v = s1[i] * b2 + w2 * d * d;
          s0[i] = m; s1[i] = v;
          T bcm = m / bc1;
          if (rectified) p[i] = p[i] - bcm * lr * (bc2s / (std::sqrt(v) + eps)) * rect;
          else p[i] = p[i] - bcm * lr;
        }
      });
      break;
    }
  }
}

template void optim_step_kernel<float>(float*, const float*, float*, float*, float*, int64_t, const OptimStep&);
template void optim_step_kernel<double>(double*, const double*, double*, double*, double*, int64_t, const OptimStep&);

}  // namespace pyml
