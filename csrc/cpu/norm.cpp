// CPU kernels of batch_norm, layer_norm/rms_norm and group_norm, forward and backward.
// x is contiguous: batch_norm (N, C, S) planes; layer_norm (M, K) rows; group_norm (N*G) rows of
// (C/G)*S. Sums accumulate in double over fixed blocks (planes, rows, or for_chunks chunks), so
// results do not depend on the thread count. Inner loops are unit-stride `omp simd` loops.
// Statistics are double. Centring uses the mean split in two floats (x - hi) - lo, exact for x near
// the mean, so inputs with a large offset (1e4 + small spread) keep their float32 precision.
// Backward uses the closed form dx = w*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)) with the two
// means from one pass, written as dx = k1*dy + k2*(x - mean) + k3 per channel/row (one more pass).
#include <cmath>
#include <type_traits>
#include <vector>
#include "cpu/kernels.h"
#include "cpu/prefetch.h"
#include "ops/norm.h"

namespace pyml {
namespace {

constexpr int64_t kGrain = 16384;  // elements of work per task

template <typename T> double plane_sum(const T* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += (double)x[i];
  return s;
}
template <typename T> double plane_sqdev(const T* x, int64_t n, double mu) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) { double d = (double)x[i] - mu; s += d * d; }
  return s;
}
// the mean as hi + lo in T, so that (x - hi) - lo centres x with T's full precision
template <typename T> struct Centre {
  T hi, lo;
  explicit Centre(double mu) : hi((T)mu), lo((T)(mu - (double)(T)mu)) {}
};
// y = (x - mean) * scale + shift
template <typename T> void affine(const T* x, T* y, int64_t n, Centre<T> m, T scale, T shift) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - m.hi) - m.lo) * scale + shift;
}
// sums of dy and dy*(x - mu) over n elements
template <typename T> void grad_sums(const T* dy, const T* x, int64_t n, double mu, double& sdy, double& sdyx) {
  double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; i++) { double g = (double)dy[i]; a += g; b += g * ((double)x[i] - mu); }
  sdy = a; sdyx = b;
}
// dx = k1*dy + k2*(x - mean) + k3
template <typename T> void lin3(const T* dy, const T* x, T* dx, int64_t n, Centre<T> m, T k1, T k2, T k3) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) dx[i] = k1 * dy[i] + k2 * ((x[i] - m.hi) - m.lo) + k3;
}

// Per-channel totals of per-plane values v (N, C) -> out (C,), vectorised across channels.
static void channel_totals(const std::vector<double>& v, int64_t N, int64_t C, std::vector<double>& out) {
  out.assign(C, 0.0);
  parallel_for(0, C, 4096, [&](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; n++) {
      const double* r = v.data() + n * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) out[c] += r[c];
    }
  });
}

// ------------------------------------------------------------------------------ batch_norm
template <typename T> void bn_forward(const BatchNormParams& p) {
  const T* x = (const T*)p.x;
  T* y = (T*)p.y;
  double *mean = p.mean, *invstd = p.invstd;
  int64_t N = p.N, C = p.C, S = p.S, P = N * C;
  int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(S, 1));
  if (p.training) {
    double M = (double)(N * S);
    std::vector<double> ps(P), tot, mu(C);
    parallel_for(0, P, grain, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; i++) ps[i] = plane_sum(x + i * S, S); });
    channel_totals(ps, N, C, tot);
    for (int64_t c = 0; c < C; c++) mu[c] = tot[c] / M;
    parallel_for(0, P, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) ps[i] = plane_sqdev(x + i * S, S, mu[i % C]);
    });
    channel_totals(ps, N, C, tot);
    for (int64_t c = 0; c < C; c++) {
      double v = tot[c] / M;
      mean[c] = mu[c];
      invstd[c] = 1.0 / std::sqrt(v + p.eps);
      p.var[c] = v;
    }
  }
  const T *w = (const T*)p.w, *bb = (const T*)p.b;
  parallel_for(0, P, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      int64_t c = i % C;
      affine(x + i * S, y + i * S, S, Centre<T>(mean[c]), (T)(invstd[c] * (w ? (double)w[c] : 1.0)),
             bb ? bb[c] : T(0));
    }
  });
}

template <typename T> void bn_backward(const BatchNormParams& p, const T* dy, T* dx, T* dw, T* db) {
  const T* x = (const T*)p.x;
  const double *mean = p.mean, *invstd = p.invstd;
  const T* w = (const T*)p.w;
  int64_t N = p.N, C = p.C, S = p.S, P = N * C;
  int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(S, 1));
  std::vector<double> pdy(P), pdyx(P), sdy, sdyx;
  parallel_for(0, P, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) grad_sums(dy + i * S, x + i * S, S, mean[i % C], pdy[i], pdyx[i]);
  });
  channel_totals(pdy, N, C, sdy);
  channel_totals(pdyx, N, C, sdyx);
  for (int64_t c = 0; c < C; c++) {
    if (dw) dw[c] = (T)(sdyx[c] * invstd[c]);
    if (db) db[c] = (T)sdy[c];
  }
  if (!dx) return;
  double M = (double)(N * S);
  std::vector<T> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; c++) {
    double is = invstd[c], g = (w ? (double)w[c] : 1.0) * is;
    k1[c] = (T)g;
    k2[c] = (T)(p.training ? -g * is * is * sdyx[c] / M : 0.0);
    k3[c] = (T)(p.training ? -g * sdy[c] / M : 0.0);
  }
  parallel_for(0, P, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      int64_t c = i % C;
      lin3(dy + i * S, x + i * S, dx + i * S, S, Centre<T>(mean[c]), k1[c], k2[c], k3[c]);
    }
  });
}

// ------------------------------------------------------------------------------ layer_norm
template <typename T> void row_stats(const T* x, int64_t K, bool rms, double eps, double& mu, double& var) {
  if (rms) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < K; i++) s += (double)x[i] * (double)x[i];
    mu = 0; var = s / (double)K;
    return;
  }
  mu = plane_sum(x, K) / (double)K;
  var = plane_sqdev(x, K, mu) / (double)K;
}

template <typename T> void ln_forward(const RowNormParams& p) {
  const T *x = (const T*)p.x, *w = (const T*)p.w, *b = (const T*)p.b;
  T* y = (T*)p.y;
  double *mean = p.mean, *rstd = p.rstd;
  int64_t K = p.K;
  parallel_for(0, p.M, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    if constexpr (std::is_same_v<T, float>) {  // the per-ISA SIMD row kernel
      const int64_t ahead = prefetch_rows_ahead(K * 4);
      const bool stream = output_streams(p.M * K * 4);
      for (int64_t r = r0; r < r1; r++) {
        prefetch_bytes(x + (r + ahead) * K, K * 4);
        kernels().row_layer_norm_f32(x + r * K, K, w, b, p.eps, p.rms, mean + r, rstd + r, y + r * K, stream);
      }
      if (stream) stream_fence();
      return;
    }
    for (int64_t r = r0; r < r1; r++) {
      double mu, var;
      row_stats(x + r * K, K, p.rms, p.eps, mu, var);
      mean[r] = mu;
      rstd[r] = 1.0 / std::sqrt(var + p.eps);
      Centre<T> m(mu);
      T is = (T)rstd[r];
      const T* xr = x + r * K;
      T* yr = y + r * K;
#pragma omp simd
      for (int64_t k = 0; k < K; k++) {
        T v = ((xr[k] - m.hi) - m.lo) * is;
        yr[k] = v * (w ? w[k] : T(1)) + (b ? b[k] : T(0));
      }
    }
  });
}

// Rows [r0, r1) of the float32 backward through the per-ISA row kernel. dw/db partials go to float
// sums that are added into the chunk's double sums every kFlushRows rows (float error stays at a
// few ulps of a 16-term sum; the chunks and their combination stay in double).
constexpr int64_t kFlushRows = 16;
void ln_backward_rows_f32(const RowNormParams& p, const float* dy, const float* x, const float* w, int64_t r0,
                          int64_t r1, double* aw, double* ab, float* dx) {
  const int64_t K = p.K;
  thread_local std::vector<float> part;
  if (aw) part.assign(2 * K, 0.0f);
  float *fw = aw ? part.data() : nullptr, *fb = aw ? part.data() + K : nullptr;
  const bool stream = dx && output_streams(p.M * K * 4);
  for (int64_t r = r0; r < r1; r++) {
    kernels().row_layer_norm_bwd_f32(dy + r * K, x + r * K, w, K, p.mean[r], p.rstd[r], p.rms, fw, fb,
                                     dx ? dx + r * K : nullptr, stream);
    if (aw && ((r - r0) % kFlushRows == kFlushRows - 1 || r == r1 - 1)) {
      for (int64_t k = 0; k < K; k++) aw[k] += fw[k], ab[k] += fb[k];
      std::fill(part.begin(), part.end(), 0.0f);
    }
  }
  if (stream) stream_fence();
}

template <typename T> void ln_backward(const RowNormParams& p, const T* dy, T* dx, T* dw, T* db) {
  const T *x = (const T*)p.x, *w = (const T*)p.w;
  const double *mean = p.mean, *rstd = p.rstd;
  int64_t M = p.M, K = p.K;
  bool wsum = dw || db;
  int64_t nc = max_chunks(M, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)));
  std::vector<double> pw(wsum ? nc * K : 0), pb(wsum ? nc * K : 0);
  for_chunks(M, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)), [&](int64_t c, int64_t r0, int64_t r1) {
    double* aw = wsum ? pw.data() + c * K : nullptr;
    double* ab = wsum ? pb.data() + c * K : nullptr;
    if constexpr (std::is_same_v<T, float>) {  // the per-ISA SIMD row kernel
      ln_backward_rows_f32(p, dy, x, w, r0, r1, aw, ab, dx);
      return;
    }
    for (int64_t r = r0; r < r1; r++) {
      const T *xr = x + r * K, *g = dy + r * K;
      double mu = mean[r], is = rstd[r];
      if (wsum) {
#pragma omp simd
        for (int64_t k = 0; k < K; k++) {
          double xh = ((double)xr[k] - mu) * is;
          aw[k] += (double)g[k] * xh;
          ab[k] += (double)g[k];
        }
      }
      if (!dx) continue;
      double a = 0, bsum = 0;  // sum(dxhat), sum(dxhat * xhat)
#pragma omp simd reduction(+ : a, bsum)
      for (int64_t k = 0; k < K; k++) {
        double gh = (double)g[k] * (w ? (double)w[k] : 1.0);
        a += gh;
        bsum += gh * ((double)xr[k] - mu) * is;
      }
      T ca = (T)(p.rms ? 0.0 : a / (double)K), cb = (T)(bsum / (double)K * is), tis = (T)is;
      Centre<T> m(mu);
      T* d = dx + r * K;
#pragma omp simd
      for (int64_t k = 0; k < K; k++) {
        T gh = g[k] * (w ? w[k] : T(1));
        d[k] = tis * (gh - ca - ((xr[k] - m.hi) - m.lo) * cb);
      }
    }
  });
  if (!wsum) return;
  parallel_for(0, K, 4096, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
      double sw = 0, sb = 0;
      for (int64_t c = 0; c < nc; c++) { sw += pw[c * K + k]; sb += pb[c * K + k]; }
      if (dw) dw[k] = (T)sw;
      if (db) db[k] = (T)sb;
    }
  });
}

// ------------------------------------------------------------------------------ group_norm
template <typename T> void gn_forward(const RowNormParams& p) {
  const T *x = (const T*)p.x, *w = (const T*)p.w, *b = (const T*)p.b;
  T* y = (T*)p.y;
  double *mean = p.mean, *rstd = p.rstd, *var = p.var;
  int64_t K = p.K, S = p.S, CG = p.C / p.G;
  parallel_for(0, p.M, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      double mu, v;
      row_stats(x + r * K, K, false, p.eps, mu, v);
      double is = 1.0 / std::sqrt(v + p.eps);
      mean[r] = mu; rstd[r] = is;
      if (var) var[r] = v;
      int64_t c0 = (r % p.G) * CG;
      for (int64_t j = 0; j < CG; j++) {
        int64_t c = c0 + j;
        affine(x + r * K + j * S, y + r * K + j * S, S, Centre<T>(mu), (T)(is * (w ? (double)w[c] : 1.0)),
               b ? b[c] : T(0));
      }
    }
  });
}

template <typename T> void gn_backward(const RowNormParams& p, const T* dy, T* dx, T* dw, T* db) {
  const T *x = (const T*)p.x, *w = (const T*)p.w;
  const double *mean = p.mean, *rstd = p.rstd;
  int64_t K = p.K, S = p.S, C = p.C, G = p.G, CG = C / G, N = p.M / G;
  std::vector<double> sdyx(N * C), sdy(N * C);  // per (n, c): sum dy*(x - mean), sum dy
  parallel_for(0, p.M, std::max<int64_t>(1, kGrain / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      double mu = mean[r], is = rstd[r], a = 0, bsum = 0;
      int64_t n = r / G, c0 = (r % G) * CG;
      for (int64_t j = 0; j < CG; j++) {
        int64_t c = c0 + j, off = r * K + j * S;
        grad_sums(dy + off, x + off, S, mu, sdy[n * C + c], sdyx[n * C + c]);
        double wc = w ? (double)w[c] : 1.0;
        a += wc * sdy[n * C + c];
        bsum += wc * sdyx[n * C + c] * is;
      }
      if (!dx) continue;
      // dx = is*(wc*dy - a/K - xhat*bsum/K), xhat = (x - mu)*is
      double k2 = -is * is * bsum / (double)K, k3 = -is * a / (double)K;
      for (int64_t j = 0; j < CG; j++) {
        int64_t c = c0 + j, off = r * K + j * S;
        double wc = w ? (double)w[c] : 1.0;
        lin3(dy + off, x + off, dx + off, S, Centre<T>(mu), (T)(is * wc), (T)k2, (T)k3);
      }
    }
  });
  if (!dw && !db) return;
  parallel_for(0, C, 256, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      double sw = 0, sb = 0;
      for (int64_t n = 0; n < N; n++) {
        int64_t r = n * G + c / CG;
        sw += sdyx[n * C + c] * rstd[r];
        sb += sdy[n * C + c];
      }
      if (dw) dw[c] = (T)sw;
      if (db) db[c] = (T)sb;
    }
  });
}

}  // namespace

void batch_norm_forward_cpu(const BatchNormParams& p) {
  if (p.dtype == DType::Float64) bn_forward<double>(p); else bn_forward<float>(p);
}
void batch_norm_backward_cpu(const BatchNormParams& p, const void* dy, void* dx, void* dw, void* db) {
  if (p.dtype == DType::Float64) bn_backward<double>(p, (const double*)dy, (double*)dx, (double*)dw, (double*)db);
  else bn_backward<float>(p, (const float*)dy, (float*)dx, (float*)dw, (float*)db);
}
void layer_norm_forward_cpu(const RowNormParams& p) {
  if (p.dtype == DType::Float64) ln_forward<double>(p); else ln_forward<float>(p);
}
void layer_norm_backward_cpu(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db) {
  if (p.dtype == DType::Float64) ln_backward<double>(p, (const double*)dy, (double*)dx, (double*)dw, (double*)db);
  else ln_backward<float>(p, (const float*)dy, (float*)dx, (float*)dw, (float*)db);
}
void group_norm_forward_cpu(const RowNormParams& p) {
  if (p.dtype == DType::Float64) gn_forward<double>(p); else gn_forward<float>(p);
}
void group_norm_backward_cpu(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db) {
  if (p.dtype == DType::Float64) gn_backward<double>(p, (const double*)dy, (double*)dx, (double*)dw, (double*)db);
  else gn_backward<float>(p, (const float*)dy, (float*)dx, (float*)dw, (float*)db);
}

}  // namespace pyml
