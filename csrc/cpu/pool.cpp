// Pooling kernels on (planes, H, W) -> (planes, P, Q); threads split the planes. Input planes
// are read through their strides (n, c, h, w); outputs, gradients and indices are contiguous.
// Max pooling follows torch exactly: a window's max starts at -inf with index at its first
// valid element, and a NaN always wins (so NaN propagates). Windows are clipped to the image;
// avg pooling divides by the clipped or padded window size (count_include_pad) or the override.
// float32 first tries the per-ISA SIMD kernels (cpu/pool_fast.h, cpu/isa/pool_*.cpp); these plain
// loops serve every other case and are the reference those kernels are tested against.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include "ops/conv.h"
#include "core/parallel.h"
#include "cpu/pool_common.h"
#include "cpu/kernels.h"
#include "cpu/pool_fast.h"

namespace pyml {
namespace {

using namespace pool_common;

template <typename T>
const T* plane_ptr(const PoolParams& p, const T* x, int64_t i) {
  return x + (i / p.C) * p.xs_n + (i % p.C) * p.xs_c;
}

int64_t grain_for(int64_t work_per_plane) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(work_per_plane, 1)); }

// Window [lo, hi) of output o along one dim for avg pooling, and its padded size.
struct AvgWin { int64_t lo, hi, padded; };
inline AvgWin avg_win(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t in) {
  int64_t lo = o * s - pad, hi = std::min(lo + k, in + pad);
  AvgWin w{lo, hi, hi - lo};
  w.lo = std::max<int64_t>(w.lo, 0);
  w.hi = std::min(w.hi, in);
  return w;
}

inline int64_t avg_divisor(const PoolParams& p, const AvgWin& h, const AvgWin& w) {
  if (p.divisor) return p.divisor;
  if (p.count_include_pad) return h.padded * w.padded;
  return (h.hi - h.lo) * (w.hi - w.lo);
}



}  // namespace

const PoolFastKernels& pool_fast_kernels() {
  static const PoolFastKernels tables[3] = {[] { PoolFastKernels k; isa_generic::fill_pool_kernels(k); return k; }(),
                                            [] { PoolFastKernels k; isa_avx2::fill_pool_kernels(k); return k; }(),
                                            [] { PoolFastKernels k; isa_avx512::fill_pool_kernels(k); return k; }()};
  return tables[cpu_isa_index()];
}

template <typename T>
void max_pool_cpu(const PoolParams& p, const T* x, T* y, int64_t* idx) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().max_pool && pool_fast_kernels().max_pool(p, x, y, idx)) return;
  const int64_t PQ = p.P * p.Q;
  parallel_for(0, p.planes, grain_for(PQ * p.R * p.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const T* xp = plane_ptr(p, x, i);
      T* yp = y + i * PQ;
      int64_t* ip = idx ? idx + i * PQ : nullptr;  // null: values only
      for (int64_t oh = 0; oh < p.P; oh++) {
        int64_t h0 = oh * p.sh - p.ph, h1 = std::min(h0 + (p.R - 1) * p.dh + 1, p.H);
        while (h0 < 0) h0 += p.dh;
        for (int64_t ow = 0; ow < p.Q; ow++) {
          int64_t w0 = ow * p.sw - p.pw, w1 = std::min(w0 + (p.S - 1) * p.dw + 1, p.W);
          while (w0 < 0) w0 += p.dw;
          T best = lowest<T>();
          int64_t bi = h0 * p.W + w0;
          for (int64_t h = h0; h < h1; h += p.dh) {
            const T* row = xp + h * p.xs_h;
            for (int64_t w = w0; w < w1; w += p.dw) {
              T v = row[w * p.xs_w];
              if (v > best || is_nan(v)) { best = v; bi = h * p.W + w; }
            }
          }
          yp[oh * p.Q + ow] = best;
          if (ip) ip[oh * p.Q + ow] = bi;
        }
      }
    }
  });
}

template <typename T>
void avg_pool_cpu(const PoolParams& p, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().avg_pool && pool_fast_kernels().avg_pool(p, x, y)) return;
  const int64_t PQ = p.P * p.Q;
  parallel_for(0, p.planes, grain_for(PQ * p.R * p.S), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const T* xp = plane_ptr(p, x, i);
      for (int64_t oh = 0; oh < p.P; oh++) {
        AvgWin wh = avg_win(oh, p.sh, p.ph, p.R, p.H);
        for (int64_t ow = 0; ow < p.Q; ow++) {
          AvgWin ww = avg_win(ow, p.sw, p.pw, p.S, p.W);
          T* out = y + i * PQ + oh * p.Q + ow;
          if (wh.lo >= wh.hi || ww.lo >= ww.hi) { *out = T(0); continue; }
          Acc<T> s = 0;
          for (int64_t h = wh.lo; h < wh.hi; h++)
            for (int64_t w = ww.lo; w < ww.hi; w++) s += xp[h * p.xs_h + w * p.xs_w];
          *out = T(s / Acc<T>(avg_divisor(p, wh, ww)));
        }
      }
    }
  });
}

// dx (planes, H*W): every element written (planes zeroed here, then accumulated)
template <typename T>
void avg_pool_backward_cpu(const PoolParams& p, const T* dy, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().avg_pool_backward && pool_fast_kernels().avg_pool_backward(p, dy, dx)) return;
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W;
  parallel_for(0, p.planes, grain_for(PQ * p.R * p.S + HW), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      T* dp = dx + i * HW;
      std::memset(dp, 0, HW * sizeof(T));
      for (int64_t oh = 0; oh < p.P; oh++) {
        AvgWin wh = avg_win(oh, p.sh, p.ph, p.R, p.H);
        for (int64_t ow = 0; ow < p.Q; ow++) {
          AvgWin ww = avg_win(ow, p.sw, p.pw, p.S, p.W);
          if (wh.lo >= wh.hi || ww.lo >= ww.hi) continue;
          T g = dy[i * PQ + oh * p.Q + ow] / T(avg_divisor(p, wh, ww));
          for (int64_t h = wh.lo; h < wh.hi; h++)
            for (int64_t w = ww.lo; w < ww.hi; w++) dp[h * p.W + w] += g;
        }
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool_cpu(const PoolParams& p, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().adaptive_avg_pool && pool_fast_kernels().adaptive_avg_pool(p, x, y)) return;
  const int64_t PQ = p.P * p.Q;
  parallel_for(0, p.planes, grain_for(p.H * p.W + PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const T* xp = plane_ptr(p, x, i);
      for (int64_t oh = 0; oh < p.P; oh++) {
        int64_t h0 = adapt_lo(oh, p.H, p.P), h1 = adapt_hi(oh, p.H, p.P);
        for (int64_t ow = 0; ow < p.Q; ow++) {
          int64_t w0 = adapt_lo(ow, p.W, p.Q), w1 = adapt_hi(ow, p.W, p.Q);
          T s = 0;
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) s += xp[h * p.xs_h + w * p.xs_w];
          y[i * PQ + oh * p.Q + ow] = s / T((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

// dx (planes, H*W): every element written (planes zeroed here, then accumulated)
template <typename T>
void adaptive_avg_pool_backward_cpu(const PoolParams& p, const T* dy, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().adaptive_avg_pool_backward && pool_fast_kernels().adaptive_avg_pool_backward(p, dy, dx))
      return;
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W;
  parallel_for(0, p.planes, grain_for(HW + PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      std::memset(dx + i * HW, 0, HW * sizeof(T));
      for (int64_t oh = 0; oh < p.P; oh++) {
        int64_t h0 = adapt_lo(oh, p.H, p.P), h1 = adapt_hi(oh, p.H, p.P);
        for (int64_t ow = 0; ow < p.Q; ow++) {
          int64_t w0 = adapt_lo(ow, p.W, p.Q), w1 = adapt_hi(ow, p.W, p.Q);
          T g = dy[i * PQ + oh * p.Q + ow] / T((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) dx[i * HW + h * p.W + w] += g;
        }
      }
    }
  });
}

template <typename T>
void adaptive_max_pool_cpu(const PoolParams& p, const T* x, T* y, int64_t* idx) {
  const int64_t PQ = p.P * p.Q;
  parallel_for(0, p.planes, grain_for(p.H * p.W + PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const T* xp = plane_ptr(p, x, i);
      for (int64_t oh = 0; oh < p.P; oh++) {
        int64_t h0 = adapt_lo(oh, p.H, p.P), h1 = adapt_hi(oh, p.H, p.P);
        for (int64_t ow = 0; ow < p.Q; ow++) {
          int64_t w0 = adapt_lo(ow, p.W, p.Q), w1 = adapt_hi(ow, p.W, p.Q);
          T best = lowest<T>();
          int64_t bi = h0 * p.W + w0;
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) {
              T v = xp[h * p.xs_h + w * p.xs_w];
              if (v > best || is_nan(v)) { best = v; bi = h * p.W + w; }
            }
          y[i * PQ + oh * p.Q + ow] = best;
          idx[i * PQ + oh * p.Q + ow] = bi;
        }
      }
    }
  });
}

template <typename T>
void index_scatter_add_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* dy, const int64_t* idx, T* dx) {
  parallel_for(0, planes, grain_for(out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      for (int64_t o = 0; o < out_n; o++) dx[i * in_n + idx[i * out_n + o]] += dy[i * out_n + o];
  });
}

// One plane of max-pool backward: dp = 0, dp[idx[o]] += dy[o]. Returns the first o whose index is
// outside [0, in_n) (the plane is then left incomplete: the caller raises), or -1. Restrict
// pointers keep the loop free of reloads (a T store could otherwise alias the int64 indices).
template <typename T>
static int64_t scatter_plane(T* __restrict dp, int64_t in_n, const T* __restrict dy, const int64_t* __restrict idx,
                             int64_t out_n) {
  std::memset(dp, 0, in_n * sizeof(T));
  for (int64_t o = 0; o < out_n; o++) {
    int64_t j = idx[o];
    if ((uint64_t)j >= (uint64_t)in_n) return o;
    dp[j] += dy[o];
  }
  return -1;
}

bool max_pool_codes_cpu(const PoolParams& p, const float* x, float* y, uint8_t* codes) {
  return pool_fast_kernels().max_pool_codes && pool_fast_kernels().max_pool_codes(p, x, y, codes);
}

int64_t max_pool_grad_codes_cpu(const PoolParams& p, const float* dy, const uint8_t* codes, float* dx) {
  return pool_fast_kernels().max_pool_backward_codes(p, dy, codes, dx);  // every ISA copy has one
}

template <typename T>
int64_t max_pool_grad_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* dy, const int64_t* idx, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (pool_fast_kernels().max_pool_backward) return pool_fast_kernels().max_pool_backward(planes, in_n, out_n, dy, idx, dx);
  FirstBad bad(out_n);
  parallel_for(0, planes, grain_for(in_n + out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      bad.report(i, scatter_plane(dx + i * in_n, in_n, dy + i * out_n, idx + i * out_n, out_n));
  });
  return bad.get();
}

template <typename T>
void index_scatter_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* src, const int64_t* idx, T* dst) {
  parallel_for(0, planes, grain_for(out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      for (int64_t o = 0; o < out_n; o++) dst[i * in_n + idx[i * out_n + o]] = src[i * out_n + o];
  });
}

template <typename T>
void index_gather_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* x, const int64_t* idx, T* y) {
  parallel_for(0, planes, grain_for(out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      for (int64_t o = 0; o < out_n; o++) y[i * out_n + o] = x[i * in_n + idx[i * out_n + o]];
  });
}

#define PYML_POOL_INST(T)                                                                              \
  template void max_pool_cpu<T>(const PoolParams&, const T*, T*, int64_t*);                            \
  template void avg_pool_cpu<T>(const PoolParams&, const T*, T*);                                      \
  template void avg_pool_backward_cpu<T>(const PoolParams&, const T*, T*);                             \
  template void adaptive_avg_pool_cpu<T>(const PoolParams&, const T*, T*);                             \
  template void adaptive_avg_pool_backward_cpu<T>(const PoolParams&, const T*, T*);                    \
  template void adaptive_max_pool_cpu<T>(const PoolParams&, const T*, T*, int64_t*);                   \
  template void index_scatter_add_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);     \
  template void index_scatter_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);         \
  template int64_t max_pool_grad_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);      \
  template void index_gather_cpu<T>(int64_t, int64_t, int64_t, const T*, const int64_t*, T*);
PYML_POOL_INST(float)
PYML_POOL_INST(double)
// integer max/avg pooling (forward only: integers carry no gradient)
#define PYML_POOL_INT_INST(T)                                                  \
  template void max_pool_cpu<T>(const PoolParams&, const T*, T*, int64_t*);    \
  template void avg_pool_cpu<T>(const PoolParams&, const T*, T*);
PYML_POOL_INT_INST(uint8_t)
PYML_POOL_INT_INST(int8_t)
PYML_POOL_INT_INST(int16_t)
PYML_POOL_INT_INST(int32_t)
PYML_POOL_INT_INST(int64_t)

}  // namespace pyml
