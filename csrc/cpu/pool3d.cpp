// 3-D pooling kernels on planes (planes, D, H, W) -> (planes, O, P, Q); threads split the planes.
// Input planes are read through their strides (n, c, d, h, w); outputs, gradients and indices are
// contiguous. Plain window loops with the 2-D kernels' semantics (cpu/pool.cpp): a max starts at
// the lowest value with its index at the window's first valid element and NaN wins; avg windows
// clip to the volume and divide by the clipped or padded window size (count_include_pad) or the
// override; adaptive windows along a dim are [o*in/n, ceil((o+1)*in/n)). Backward passes zero each
// dx plane, then scatter-add in output order (so the sums never depend on the thread count).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include "ops/conv3d.h"
#include "core/parallel.h"
#include "cpu/pool_common.h"

namespace pyml {
namespace {

using namespace pool_common;

template <typename T>
const T* plane_ptr(const Pool3dParams& p, const T* x, int64_t i) {
  return x + (i / p.C) * p.xs_n + (i % p.C) * p.xs_c;
}

int64_t grain_for(int64_t work_per_plane) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(work_per_plane, 1)); }

// Taps [lo, hi) step dil of output o's dilated max window along one dim, clipped to [0, in).
struct MaxSpan { int64_t lo, hi; };
inline MaxSpan max_span(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t dil, int64_t in) {
  int64_t lo = o * s - pad, hi = std::min(lo + (k - 1) * dil + 1, in);
  while (lo < 0) lo += dil;
  return MaxSpan{lo, hi};
}

// Window [lo, hi) of output o along one dim for avg pooling, and its padded size.
struct AvgSpan { int64_t lo, hi, padded; };
inline AvgSpan avg_span(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t in) {
  int64_t lo = o * s - pad, hi = std::min(lo + k, in + pad);
  return AvgSpan{std::max<int64_t>(lo, 0), std::min(hi, in), hi - lo};
}

// The avg windows of output (od, oh, ow) and the divisor of its sum; empty() when it holds no element.
struct AvgBox {
  AvgSpan d, h, w;
  int64_t divisor;
  bool empty() const { return d.lo >= d.hi || h.lo >= h.hi || w.lo >= w.hi; }
};
inline AvgBox avg_box(const Pool3dParams& p, int64_t od, int64_t oh, int64_t ow) {
  AvgBox b{avg_span(od, p.sd, p.pd, p.T, p.D), avg_span(oh, p.sh, p.ph, p.R, p.H),
           avg_span(ow, p.sw, p.pw, p.S, p.W), 0};
  if (p.divisor) b.divisor = p.divisor;
  else if (p.count_include_pad) b.divisor = b.d.padded * b.h.padded * b.w.padded;
  else b.divisor = (b.d.hi - b.d.lo) * (b.h.hi - b.h.lo) * (b.w.hi - b.w.lo);
  return b;
}

inline AvgSpan adapt_span(int64_t o, int64_t in, int64_t n) {
  int64_t lo = adapt_lo(o, in, n), hi = adapt_hi(o, in, n);
  return AvgSpan{lo, hi, hi - lo};
}


// Calls f(plane, od, oh, ow, out) for every output of planes [i0, i1); out: its flat position.
template <typename F>
void for_outputs(const Pool3dParams& p, int64_t i0, int64_t i1, const F& f) {
  for (int64_t i = i0, at = i0 * p.O * p.P * p.Q; i < i1; i++)
    for (int64_t od = 0; od < p.O; od++)
      for (int64_t oh = 0; oh < p.P; oh++)
        for (int64_t ow = 0; ow < p.Q; ow++) f(i, od, oh, ow, at++);
}

// Max over the box [d0, d1) x [h0, h1) x [w0, w1) (steps dd, dh, dw) of plane xp; the winner's
// flat position goes to *bi (initialised by the caller).
template <typename T>
T box_max(const Pool3dParams& p, const T* xp, MaxSpan d, MaxSpan h, MaxSpan w, int64_t sd, int64_t sh, int64_t sw,
          int64_t* bi) {
  T best = lowest<T>();
  for (int64_t z = d.lo; z < d.hi; z += sd)
    for (int64_t y = h.lo; y < h.hi; y += sh)
      for (int64_t x = w.lo; x < w.hi; x += sw) {
        T v = xp[z * p.xs_d + y * p.xs_h + x * p.xs_w];
        if (v > best || is_nan(v)) { best = v; *bi = (z * p.H + y) * p.W + x; }
      }
  return best;
}

}  // namespace

template <typename T>
void max_pool3d_cpu(const Pool3dParams& p, const T* x, T* y, int64_t* idx) {
  const int64_t OPQ = p.O * p.P * p.Q;
  parallel_for(0, p.planes, grain_for(OPQ * p.T * p.R * p.S), [&](int64_t i0, int64_t i1) {
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      MaxSpan d = max_span(od, p.sd, p.pd, p.T, p.dd, p.D), h = max_span(oh, p.sh, p.ph, p.R, p.dh, p.H);
      MaxSpan w = max_span(ow, p.sw, p.pw, p.S, p.dw, p.W);
      int64_t bi = (d.lo * p.H + h.lo) * p.W + w.lo;
      y[at] = box_max(p, plane_ptr(p, x, i), d, h, w, p.dd, p.dh, p.dw, &bi);
      if (idx) idx[at] = bi;
    });
  });
}

template <typename T>
void avg_pool3d_cpu(const Pool3dParams& p, const T* x, T* y) {
  const int64_t OPQ = p.O * p.P * p.Q;
  parallel_for(0, p.planes, grain_for(OPQ * p.T * p.R * p.S), [&](int64_t i0, int64_t i1) {
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      const AvgBox b = avg_box(p, od, oh, ow);
      if (b.empty()) { y[at] = T(0); return; }
      const T* xp = plane_ptr(p, x, i);
      Acc<T> s = 0;
      for (int64_t z = b.d.lo; z < b.d.hi; z++)
        for (int64_t v = b.h.lo; v < b.h.hi; v++)
          for (int64_t u = b.w.lo; u < b.w.hi; u++) s += xp[z * p.xs_d + v * p.xs_h + u * p.xs_w];
      y[at] = T(s / Acc<T>(b.divisor));
    });
  });
}

template <typename T>
void avg_pool3d_backward_cpu(const Pool3dParams& p, const T* dy, T* dx) {
  const int64_t OPQ = p.O * p.P * p.Q, DHW = p.D * p.H * p.W;
  parallel_for(0, p.planes, grain_for(OPQ * p.T * p.R * p.S + DHW), [&](int64_t i0, int64_t i1) {
    std::memset(dx + i0 * DHW, 0, (i1 - i0) * DHW * sizeof(T));
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      const AvgBox b = avg_box(p, od, oh, ow);
      if (b.empty()) return;
      const T g = dy[at] / T(b.divisor);
      T* dp = dx + i * DHW;
      for (int64_t z = b.d.lo; z < b.d.hi; z++)
        for (int64_t v = b.h.lo; v < b.h.hi; v++)
          for (int64_t u = b.w.lo; u < b.w.hi; u++) dp[(z * p.H + v) * p.W + u] += g;
    });
  });
}

template <typename T>
void adaptive_avg_pool3d_cpu(const Pool3dParams& p, const T* x, T* y) {
  parallel_for(0, p.planes, grain_for(p.D * p.H * p.W + p.O * p.P * p.Q), [&](int64_t i0, int64_t i1) {
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      const AvgSpan d = adapt_span(od, p.D, p.O), h = adapt_span(oh, p.H, p.P), w = adapt_span(ow, p.W, p.Q);
      const T* xp = plane_ptr(p, x, i);
      T s = 0;
      for (int64_t z = d.lo; z < d.hi; z++)
        for (int64_t v = h.lo; v < h.hi; v++)
          for (int64_t u = w.lo; u < w.hi; u++) s += xp[z * p.xs_d + v * p.xs_h + u * p.xs_w];
      y[at] = s / T(d.padded * h.padded * w.padded);
    });
  });
}

template <typename T>
void adaptive_avg_pool3d_backward_cpu(const Pool3dParams& p, const T* dy, T* dx) {
  const int64_t DHW = p.D * p.H * p.W;
  parallel_for(0, p.planes, grain_for(DHW + p.O * p.P * p.Q), [&](int64_t i0, int64_t i1) {
    std::memset(dx + i0 * DHW, 0, (i1 - i0) * DHW * sizeof(T));
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      const AvgSpan d = adapt_span(od, p.D, p.O), h = adapt_span(oh, p.H, p.P), w = adapt_span(ow, p.W, p.Q);
      const T g = dy[at] / T(d.padded * h.padded * w.padded);
      T* dp = dx + i * DHW;
      for (int64_t z = d.lo; z < d.hi; z++)
        for (int64_t v = h.lo; v < h.hi; v++)
          for (int64_t u = w.lo; u < w.hi; u++) dp[(z * p.H + v) * p.W + u] += g;
    });
  });
}

template <typename T>
void adaptive_max_pool3d_cpu(const Pool3dParams& p, const T* x, T* y, int64_t* idx) {
  parallel_for(0, p.planes, grain_for(p.D * p.H * p.W + p.O * p.P * p.Q), [&](int64_t i0, int64_t i1) {
    for_outputs(p, i0, i1, [&](int64_t i, int64_t od, int64_t oh, int64_t ow, int64_t at) {
      const AvgSpan d = adapt_span(od, p.D, p.O), h = adapt_span(oh, p.H, p.P), w = adapt_span(ow, p.W, p.Q);
      int64_t bi = (d.lo * p.H + h.lo) * p.W + w.lo;
      y[at] = box_max(p, plane_ptr(p, x, i), MaxSpan{d.lo, d.hi}, MaxSpan{h.lo, h.hi}, MaxSpan{w.lo, w.hi}, 1, 1, 1,
                      &bi);
      idx[at] = bi;
    });
  });
}

#define PYML_POOL3D_INST(T)                                                              \
  template void max_pool3d_cpu<T>(const Pool3dParams&, const T*, T*, int64_t*);          \
  template void avg_pool3d_cpu<T>(const Pool3dParams&, const T*, T*);                    \
  template void avg_pool3d_backward_cpu<T>(const Pool3dParams&, const T*, T*);           \
  template void adaptive_avg_pool3d_cpu<T>(const Pool3dParams&, const T*, T*);           \
  template void adaptive_avg_pool3d_backward_cpu<T>(const Pool3dParams&, const T*, T*);  \
  template void adaptive_max_pool3d_cpu<T>(const Pool3dParams&, const T*, T*, int64_t*);
PYML_POOL3D_INST(float)
PYML_POOL3D_INST(double)
// integer max/avg pooling (forward only: integers carry no gradient)
#define PYML_POOL3D_INT_INST(T)                                                  \
  template void max_pool3d_cpu<T>(const Pool3dParams&, const T*, T*, int64_t*);  \
  template void avg_pool3d_cpu<T>(const Pool3dParams&, const T*, T*);
PYML_POOL3D_INT_INST(uint8_t)
PYML_POOL3D_INT_INST(int8_t)
PYML_POOL3D_INT_INST(int16_t)
PYML_POOL3D_INT_INST(int32_t)
PYML_POOL3D_INT_INST(int64_t)

}  // namespace pyml
