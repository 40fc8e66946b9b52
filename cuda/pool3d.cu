// 3-D pooling on CUDA: max/avg/adaptive forward, one thread per output element looping over its
// window, and gather backwards, one thread per input element summing, in the CPU scatter's
// (od, oh, ow) order, the outputs whose window holds it (max: whose index names it), so each dx
// element is written once (deterministic, no atomics, no zero fill). A straightforward general
// path (plain 64-bit index arithmetic, no vector or channels_last variants); the semantics are
// those of csrc/cpu/pool3d.cpp, and its window arithmetic that of the 2-D kernels (pool_common.cuh).
// Shapes: x (planes, D, H, W) through p's strides; y, idx, dy (planes, O, P, Q) and dx (planes,
// D, H, W) contiguous.
#include "pool3d.h"
#include "pool_common.cuh"

namespace pyml {
namespace {

using namespace pool;

template <typename T>
__device__ inline const T* plane_ptr(const Pool3dParams& p, const T* x, int64_t plane) {
  return x + plane / p.C * p.xs_n + plane % p.C * p.xs_c;
}

// Element i of a contiguous (planes, A, B, E) walk: its plane and position (a, b, e)
struct Pos { int64_t plane, a, b, e; };
__device__ inline Pos pos_at(int64_t i, int64_t A, int64_t B, int64_t E) {
  const int64_t e = i % E, r = i / E, b = r % B, r2 = r / B;
  return Pos{r2 / A, r2 % A, b, e};
}

// Dilated max window of output o along one dim: taps lo, lo + dil, .. < hi, clipped to [0, in)
struct Span { int64_t lo, hi; };
__device__ inline Span max_span(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t dil, int64_t in) {
  const int64_t lo = o * s - pad;
  return Span{first_tap(lo, dil), min(lo + (k - 1) * dil + 1, in)};
}

__device__ inline int64_t avg_divisor3(const Pool3dParams& p, const Win& d, const Win& h, const Win& w) {
  if (p.divisor) return p.divisor;
  if (p.count_include_pad) return d.padded * h.padded * w.padded;
  return (d.hi - d.lo) * (h.hi - h.lo) * (w.hi - w.lo);
}

__device__ inline Win adapt_win(int64_t o, int64_t in, int64_t n) {
  const int64_t lo = adapt_lo(o, in, n), hi = adapt_hi(o, in, n);
  return Win{lo, hi, hi - lo};
}

// outputs o (stride s, pad, window extent k, n outputs) whose window [o*s - pad, o*s - pad + k)
// holds i: o in [lo, hi] (empty when lo > hi)
__device__ inline void covering3(int64_t i, int64_t s, int64_t pad, int64_t k, int64_t n, int64_t& lo, int64_t& hi) {
  const int64_t a = i + pad - k + 1;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = min((i + pad) / s, n - 1);
}

// Max over the dilated box of plane xp (steps sd, sh, sw); bi: the winner's flat position
template <typename T>
__device__ inline T box_max(const Pool3dParams& p, const T* xp, Span d, Span h, Span w, int64_t sd, int64_t sh,
                            int64_t sw, int64_t& bi) {
  T best = lowest<T>();
  bi = (d.lo * p.H + h.lo) * p.W + w.lo;
  for (int64_t z = d.lo; z < d.hi; z += sd)
    for (int64_t y = h.lo; y < h.hi; y += sh)
      for (int64_t x = w.lo; x < w.hi; x += sw) {
        const T v = xp[z * p.xs_d + y * p.xs_h + x * p.xs_w];
        if (v > best || is_nan(v)) { best = v; bi = (z * p.H + y) * p.W + x; }
      }
  return best;
}

template <typename T>
__global__ void max_pool3d_kernel(Pool3dParams p, const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ idx,
                                  int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos o = pos_at(i, p.O, p.P, p.Q);
    int64_t bi;
    y[i] = box_max(p, plane_ptr(p, x, o.plane), max_span(o.a, p.sd, p.pd, p.T, p.dd, p.D),
                   max_span(o.b, p.sh, p.ph, p.R, p.dh, p.H), max_span(o.e, p.sw, p.pw, p.S, p.dw, p.W), p.dd, p.dh,
                   p.dw, bi);
    if (idx) idx[i] = bi;
  }
}

template <typename T>
__global__ void avg_pool3d_kernel(Pool3dParams p, const T* __restrict__ x, T* __restrict__ y, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos o = pos_at(i, p.O, p.P, p.Q);
    const Win d = avg_win(o.a, p.sd, p.pd, p.T, p.D), h = avg_win(o.b, p.sh, p.ph, p.R, p.H);
    const Win w = avg_win(o.e, p.sw, p.pw, p.S, p.W);
    if (d.lo >= d.hi || h.lo >= h.hi || w.lo >= w.hi) { y[i] = T(0); continue; }
    const T* xp = plane_ptr(p, x, o.plane);
    SumT<T> s = 0;
    for (int64_t z = d.lo; z < d.hi; z++)
      for (int64_t v = h.lo; v < h.hi; v++)
        for (int64_t u = w.lo; u < w.hi; u++) s += xp[z * p.xs_d + v * p.xs_h + u * p.xs_w];
    y[i] = T(s / SumT<T>(avg_divisor3(p, d, h, w)));
  }
}

// dx element (d, h, w): sum of dy / divisor over the avg windows holding it
template <typename T>
__global__ void avg_pool3d_backward_kernel(Pool3dParams p, const T* __restrict__ dy, T* __restrict__ dx,
                                           int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos e = pos_at(i, p.D, p.H, p.W);
    int64_t d0, d1, h0, h1, w0, w1;
    covering3(e.a, p.sd, p.pd, p.T, p.O, d0, d1);
    covering3(e.b, p.sh, p.ph, p.R, p.P, h0, h1);
    covering3(e.e, p.sw, p.pw, p.S, p.Q, w0, w1);
    const T* g = dy + e.plane * p.O * p.P * p.Q;
    T sum = T(0);
    for (int64_t od = d0; od <= d1; od++) {
      const Win d = avg_win(od, p.sd, p.pd, p.T, p.D);
      if (e.a < d.lo || e.a >= d.hi) continue;
      for (int64_t oh = h0; oh <= h1; oh++) {
        const Win h = avg_win(oh, p.sh, p.ph, p.R, p.H);
        if (e.b < h.lo || e.b >= h.hi) continue;
        for (int64_t ow = w0; ow <= w1; ow++) {
          const Win w = avg_win(ow, p.sw, p.pw, p.S, p.W);
          if (e.e < w.lo || e.e >= w.hi) continue;
          sum += g[(od * p.P + oh) * p.Q + ow] / T(avg_divisor3(p, d, h, w));
        }
      }
    }
    dx[i] = sum;
  }
}

// dx element (d, h, w): sum of dy over the outputs whose window can hold it and whose index names it
template <typename T>
__global__ void max_pool3d_gather_kernel(Pool3dParams p, const T* __restrict__ dy, const int64_t* __restrict__ idx,
                                         T* __restrict__ dx, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos e = pos_at(i, p.D, p.H, p.W);
    const int64_t self = (e.a * p.H + e.b) * p.W + e.e, base = e.plane * p.O * p.P * p.Q;
    int64_t d0, d1, h0, h1, w0, w1;
    covering3(e.a, p.sd, p.pd, (p.T - 1) * p.dd + 1, p.O, d0, d1);
    covering3(e.b, p.sh, p.ph, (p.R - 1) * p.dh + 1, p.P, h0, h1);
    covering3(e.e, p.sw, p.pw, (p.S - 1) * p.dw + 1, p.Q, w0, w1);
    T sum = T(0);
    for (int64_t od = d0; od <= d1; od++)
      for (int64_t oh = h0; oh <= h1; oh++)
        for (int64_t ow = w0; ow <= w1; ow++) {
          const int64_t at = base + (od * p.P + oh) * p.Q + ow;
          if (idx[at] == self) sum += dy[at];
        }
    dx[i] = sum;
  }
}

// kMax: y = window max with idx, else the window mean
template <typename T, bool kMax>
__global__ void adaptive_pool3d_kernel(Pool3dParams p, const T* __restrict__ x, T* __restrict__ y,
                                       int64_t* __restrict__ idx, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos o = pos_at(i, p.O, p.P, p.Q);
    const Win d = adapt_win(o.a, p.D, p.O), h = adapt_win(o.b, p.H, p.P), w = adapt_win(o.e, p.W, p.Q);
    const T* xp = plane_ptr(p, x, o.plane);
    if (kMax) {
      int64_t bi;
      y[i] = box_max(p, xp, Span{d.lo, d.hi}, Span{h.lo, h.hi}, Span{w.lo, w.hi}, 1, 1, 1, bi);
      idx[i] = bi;
      continue;
    }
    T s = T(0);
    for (int64_t z = d.lo; z < d.hi; z++)
      for (int64_t v = h.lo; v < h.hi; v++)
        for (int64_t u = w.lo; u < w.hi; u++) s += xp[z * p.xs_d + v * p.xs_h + u * p.xs_w];
    y[i] = s / T(d.padded * h.padded * w.padded);
  }
}

// outputs o of n whose adaptive window over in elements holds i: from floor(i*n/in) to
// floor(((i+1)*n - 1)/in), checked exactly by the caller
__device__ inline void adapt_covering(int64_t i, int64_t in, int64_t n, int64_t& lo, int64_t& hi) {
  lo = i * n / in;
  hi = min(((i + 1) * n - 1) / in, n - 1);
}

template <typename T>
__global__ void adaptive_avg3d_backward_kernel(Pool3dParams p, const T* __restrict__ dy, T* __restrict__ dx,
                                               int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const Pos e = pos_at(i, p.D, p.H, p.W);
    int64_t d0, d1, h0, h1, w0, w1;
    adapt_covering(e.a, p.D, p.O, d0, d1);
    adapt_covering(e.b, p.H, p.P, h0, h1);
    adapt_covering(e.e, p.W, p.Q, w0, w1);
    const T* g = dy + e.plane * p.O * p.P * p.Q;
    T sum = T(0);
    for (int64_t od = d0; od <= d1; od++) {
      const Win d = adapt_win(od, p.D, p.O);
      if (e.a < d.lo || e.a >= d.hi) continue;
      for (int64_t oh = h0; oh <= h1; oh++) {
        const Win h = adapt_win(oh, p.H, p.P);
        if (e.b < h.lo || e.b >= h.hi) continue;
        for (int64_t ow = w0; ow <= w1; ow++) {
          const Win w = adapt_win(ow, p.W, p.Q);
          if (e.e < w.lo || e.e >= w.hi) continue;
          sum += g[(od * p.P + oh) * p.Q + ow] / T(d.padded * h.padded * w.padded);
        }
      }
    }
    dx[i] = sum;
  }
}

int64_t outputs(const Pool3dParams& p) { return p.planes * p.O * p.P * p.Q; }
int64_t inputs(const Pool3dParams& p) { return p.planes * p.D * p.H * p.W; }

}  // namespace

void max_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, int64_t* idx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<true>(t, "max_pool3d", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH(max_pool3d_kernel<T>, outputs(p), "max_pool3d", p, static_cast<const T*>(x),
                     static_cast<T*>(y), idx, outputs(p));
  });
}

void avg_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<true>(t, "avg_pool3d", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH(avg_pool3d_kernel<T>, outputs(p), "avg_pool3d", p, static_cast<const T*>(x), static_cast<T*>(y),
                     outputs(p));
  });
}

void avg_pool3d_backward_cuda(const Pool3dParams& p, const void* dy, void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false>(t, "avg_pool3d backward", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH(avg_pool3d_backward_kernel<T>, inputs(p), "avg_pool3d backward", p, static_cast<const T*>(dy),
                     static_cast<T*>(dx), inputs(p));
  });
}

void adaptive_avg_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false>(t, "adaptive_avg_pool3d", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH((adaptive_pool3d_kernel<T, false>), outputs(p), "adaptive_avg_pool3d", p,
                     static_cast<const T*>(x), static_cast<T*>(y), nullptr, outputs(p));
  });
}

void adaptive_avg_pool3d_backward_cuda(const Pool3dParams& p, const void* dy, void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false>(t, "adaptive_avg_pool3d backward", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH(adaptive_avg3d_backward_kernel<T>, inputs(p), "adaptive_avg_pool3d backward", p,
                     static_cast<const T*>(dy), static_cast<T*>(dx), inputs(p));
  });
}

void adaptive_max_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, int64_t* idx, DType t,
                                      int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false>(t, "adaptive_max_pool3d", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH((adaptive_pool3d_kernel<T, true>), outputs(p), "adaptive_max_pool3d", p,
                     static_cast<const T*>(x), static_cast<T*>(y), idx, outputs(p));
  });
}

void max_pool3d_backward_gather_cuda(const Pool3dParams& p, const void* dy, const int64_t* idx, void* dx, DType t,
                                     int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false>(t, "max_pool3d backward", [&](auto tag) {
    using T = decltype(tag);
    PYML_POOL_LAUNCH(max_pool3d_gather_kernel<T>, inputs(p), "max_pool3d backward", p, static_cast<const T*>(dy), idx,
                     static_cast<T*>(dx), inputs(p));
  });
}

}  // namespace pyml
