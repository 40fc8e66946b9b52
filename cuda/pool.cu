// Pooling on CUDA: max/avg/adaptive forward and the gather backwards. NCHW (and channels_last
// inputs the vector path refuses): one thread per output element loops over its window (pooling
// reads each input a few times and does no math to share); the flat index splits with 32-bit
// multiply-high divisions where the sizes allow. Channels_last inputs with 16-byte channel
// vectors go to cuda/pool_nhwc.cu; the index ops (scatter by user indices) live in pool_index.cu.
// Semantics follow the CPU kernels (csrc/cpu/pool.cpp) exactly: a max starts at the lowest value
// with its index at the window's first valid element and NaN wins; avg windows clip to the image
// and divide by the clipped or padded size or the override; integer averages sum in int64; the
// half types compare and sum in float. Backward of avg pooling and of max pooling with its
// geometry gathers: each input element sums, in the CPU's (oh, ow) order, the outputs whose window
// covers it (max: whose index names it), so it is written once (deterministic, no atomics, no
// zero fill). With p.cl (a channels_last input) outputs and gradients are channels_last too, as
// torch returns them: the walks go channels first and write in memory order, with no layout copy.
#include "pool.h"
#include "block_reduce.cuh"
#include "pool_common.cuh"

namespace pyml {
namespace {

using namespace pool;

template <typename T, typename D>
__device__ inline const T* plane_ptr(const PoolParams& p, const Divs<D>& dv, const T* x, int64_t plane) {
  const int64_t n = dv.C.div(plane);
  return x + n * p.xs_n + (plane - n * p.C) * p.xs_c;
}

// Output element i of a grid walk -> its (plane, oh, ow) and its offset in y. With c_fast (a
// channels_last x) the walk goes channels first, so a warp reads 32 neighbouring channels of one
// pixel (coalesced) instead of 32 pixels C elements apart; y is (planes, P, Q), or with p.cl
// (N, P, Q, C), which the channels-first walk writes in order. Without either, y is written in order.
struct OutPos { int64_t plane, oh, ow, at; };
template <typename D> __device__ inline OutPos out_pos(const PoolParams& p, const Divs<D>& dv, int64_t i, bool c_fast) {
  if (!c_fast && !p.cl) {
    const int64_t r = dv.Q.div(i), plane = dv.P.div(r);  // r: row plane*P + oh
    return OutPos{plane, r - plane * p.P, i - r * p.Q, i};
  }
  const int64_t r = dv.C.div(i), c = i - r * p.C, pr = dv.Q.div(r), n = dv.P.div(pr);
  const int64_t plane = n * p.C + c, oh = pr - n * p.P, ow = r - pr * p.Q;
  return OutPos{plane, oh, ow, p.cl ? i : (plane * p.P + oh) * p.Q + ow};
}

// Element i of dx, walked in its memory order -> its (plane, h, w), where that plane's dy (and idx)
// values start (g0) and how far apart their pixels are (gs): dx (planes, H, W) with dy (planes,
// P, Q), or with p.cl dx (N, H, W, C) with dy (N, P, Q, C).
struct InPos { int64_t plane, h, w, g0, gs; };
template <typename D> __device__ inline InPos in_pos(const PoolParams& p, const Divs<D>& dv, int64_t i) {
  if (!p.cl) {
    const int64_t plane = dv.HW.div(i), r = i - plane * p.H * p.W, h = dv.W.div(r);
    return InPos{plane, h, r - h * p.W, plane * p.P * p.Q, 1};
  }
  const int64_t r = dv.C.div(i), c = i - r * p.C, hr = dv.W.div(r), n = dv.H.div(hr);  // r: pixel n*H*W + h*W + w
  return InPos{n * p.C + c, hr - n * p.H, r - hr * p.W, n * p.P * p.Q * p.C + c, p.C};
}

// y, idx: (planes, P, Q) or (p.cl) (N, P, Q, C); x: (planes, H, W) through p's strides; idx may be
// null (not computed)
template <typename T, typename D>
__global__ void max_pool_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ x, T* __restrict__ y,
                                int64_t* __restrict__ idx, int64_t total, bool c_fast) {
  PYML_GRID_LOOP(i, total) {
    const OutPos o = out_pos(p, dv, i, c_fast);
    const T* xp = plane_ptr(p, dv, x, o.plane);
    const MaxWin m = max_win(p, o.oh, o.ow);
    using A = AccT<T>;
    A best = lowest<A>();
    int64_t bi = m.h0 * p.W + m.w0;
    for (int64_t h = m.h0; h < m.h1; h += p.dh)
      for (int64_t w = m.w0; w < m.w1; w += p.dw) {
        const A v = load_as<A>(xp + h * p.xs_h + w * p.xs_w);
        if (v > best || is_nan(v)) { best = v; bi = h * p.W + w; }
      }
    y[o.at] = cuda::convert<T>(best);
    if (idx) idx[o.at] = bi;
  }
}

template <typename T, typename D>
__global__ void avg_pool_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ x, T* __restrict__ y, int64_t total,
                                bool c_fast) {
  PYML_GRID_LOOP(i, total) {
    const OutPos o = out_pos(p, dv, i, c_fast);
    const Win wh = avg_win(o.oh, p.sh, p.ph, p.R, p.H), ww = avg_win(o.ow, p.sw, p.pw, p.S, p.W);
    if (wh.lo >= wh.hi || ww.lo >= ww.hi) { y[o.at] = cuda::convert<T>(0.f); continue; }
    const T* xp = plane_ptr(p, dv, x, o.plane);
    SumT<T> s = 0;
    for (int64_t h = wh.lo; h < wh.hi; h++)
      for (int64_t w = ww.lo; w < ww.hi; w++) s += load_as<SumT<T>>(xp + h * p.xs_h + w * p.xs_w);
    y[o.at] = cuda::convert<T>(s / SumT<T>(avg_divisor(p, wh, ww)));
  }
}

// dx (planes, H, W) and dy (planes, P, Q), or both channels_last (p.cl): each dx element is the
// sum of dy / divisor over the windows holding it
template <typename T, typename D>
__global__ void avg_pool_backward_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ dy, T* __restrict__ dx,
                                         int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const InPos q = in_pos(p, dv, i);
    const int64_t h = q.h, w = q.w;
    int64_t oh0, oh1, ow0, ow1;
    covering(h, dv.sh, p.ph, p.R, p.P, oh0, oh1);
    covering(w, dv.sw, p.pw, p.S, p.Q, ow0, ow1);
    const T* g = dy + q.g0;
    using A = AccT<T>;
    A sum = A(0);
    for (int64_t oh = oh0; oh <= oh1; oh++) {
      const Win wh = avg_win(oh, p.sh, p.ph, p.R, p.H);
      if (h < wh.lo || h >= wh.hi) continue;
      for (int64_t ow = ow0; ow <= ow1; ow++) {
        const Win ww = avg_win(ow, p.sw, p.pw, p.S, p.W);
        if (w < ww.lo || w >= ww.hi) continue;
        sum += load_as<A>(g + (oh * p.Q + ow) * q.gs) / A(avg_divisor(p, wh, ww));
      }
    }
    dx[i] = cuda::convert<T>(sum);
  }
}

// dx (planes, H, W); dy, idx (planes, P, Q) (with p.cl all three channels_last), idx as
// max_pool_forward wrote it for p's geometry. dx[h][w] = the sum, in (oh, ow) order (the CPU scatter's order, so the
// result is bit-identical), of dy over the outputs whose window can hold (h, w) and whose index is
// h*W + w. Windows span (R - 1) dh + 1 rows: at most ceil(that / sh) candidates per dim.
template <typename T, typename D>
__global__ void max_pool_gather_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ dy,
                                       const int64_t* __restrict__ idx, T* __restrict__ dx, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const InPos q = in_pos(p, dv, i);
    const int64_t h = q.h, w = q.w, self = h * p.W + w;
    int64_t oh0, oh1, ow0, ow1;
    covering(h, dv.sh, p.ph, (p.R - 1) * p.dh + 1, p.P, oh0, oh1);
    covering(w, dv.sw, p.pw, (p.S - 1) * p.dw + 1, p.Q, ow0, ow1);
    const T* g = dy + q.g0;
    const int64_t* id = idx + q.g0;
    AccT<T> sum = 0;
    for (int64_t oh = oh0; oh <= oh1; oh++)
      for (int64_t ow = ow0; ow <= ow1; ow++) {
        const int64_t at = (oh * p.Q + ow) * q.gs;
        if (id[at] == self) sum += load_as<AccT<T>>(g + at);
      }
    dx[i] = cuda::convert<T>(sum);
  }
}

// kMax: y = window max with idx, else the window mean. x: (planes, H, W) through p's strides;
// y, idx: (planes, P, Q), or (N, P, Q, C) with p.cl.
template <typename T, bool kMax, typename D>
__global__ void adaptive_pool_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ x, T* __restrict__ y,
                                     int64_t* __restrict__ idx, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const OutPos o = out_pos(p, dv, i, false);
    const int64_t h0 = adapt_lo_div(o.oh, p.H, dv.P), h1 = adapt_hi_div(o.oh, p.H, dv.P);
    const int64_t w0 = adapt_lo_div(o.ow, p.W, dv.Q), w1 = adapt_hi_div(o.ow, p.W, dv.Q);
    const T* xp = plane_ptr(p, dv, x, o.plane);
    using A = AccT<T>;
    A acc = kMax ? lowest<A>() : A(0);
    int64_t bi = h0 * p.W + w0;
    for (int64_t h = h0; h < h1; h++)
      for (int64_t w = w0; w < w1; w++) {
        const A v = load_as<A>(xp + h * p.xs_h + w * p.xs_w);
        if (!kMax) acc += v;
        else if (v > acc || is_nan(v)) { acc = v; bi = h * p.W + w; }
      }
    if (kMax) { y[o.at] = cuda::convert<T>(acc); idx[o.at] = bi; }
    else y[o.at] = cuda::convert<T>(acc / A((h1 - h0) * (w1 - w0)));
  }
}

// Adaptive average over big windows (global pooling: one 7x7 window per plane): one warp per
// output, lanes over the window's taps flattened row-major (consecutive lanes read consecutive w,
// coalesced, where a thread per output would stream 32 planes at once), then a shuffle sum. The
// sum's order differs from the CPU's row-major loop: equal to rounding. Same shapes as above.
template <typename T, typename D>
__global__ void adaptive_avg_warp_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ x, T* __restrict__ y,
                                         int64_t total) {
  const int lane = threadIdx.x % 32, wpb = blockDim.x / 32;
  using A = AccT<T>;
  for (int64_t i = blockIdx.x * (int64_t)wpb + threadIdx.x / 32; i < total; i += (int64_t)gridDim.x * wpb) {
    const OutPos o = out_pos(p, dv, i, false);  // i is uniform per warp: the shuffles see all 32 lanes
    const int64_t h0 = adapt_lo_div(o.oh, p.H, dv.P), h1 = adapt_hi_div(o.oh, p.H, dv.P);
    const int64_t w0 = adapt_lo_div(o.ow, p.W, dv.Q), w1 = adapt_hi_div(o.ow, p.W, dv.Q);
    const uint32_t wn = (uint32_t)(w1 - w0), n = (uint32_t)((h1 - h0) * wn);  // n < 2^31 (fits32)
    const T* xp = plane_ptr(p, dv, x, o.plane);
    A acc = A(0);
    for (uint32_t t = lane; t < n; t += 32) {
      const uint32_t r = t / wn;
      acc += load_as<A>(xp + (h0 + r) * p.xs_h + (w0 + t - r * wn) * p.xs_w);
    }
    acc = cuda::warp_reduce(acc, cuda::SumOp{});
    if (lane == 0) y[o.at] = cuda::convert<T>(acc / A(n));
  }
}

// dx (planes, H, W) from dy (planes, P, Q), or both channels_last (p.cl): sum of dy / window size
// over the adaptive windows holding each element
template <typename T, typename D>
__global__ void adaptive_avg_backward_kernel(PoolParams p, Divs<D> dv, const T* __restrict__ dy, T* __restrict__ dx,
                                             int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const InPos q = in_pos(p, dv, i);
    const int64_t h = q.h, w = q.w;
    const T* g = dy + q.g0;
    using A = AccT<T>;
    A sum = A(0);
    // windows holding h: o from floor(h*P/H) to floor(((h+1)*P - 1)/H), checked exactly below
    // (P = 0: the bound is P - 1 = -1 whatever the division gives, so no window)
    for (int64_t oh = dv.H.div(h * p.P), oh1 = min(dv.H.div((h + 1) * p.P - 1), p.P - 1); oh <= oh1; oh++) {
      const int64_t h0 = adapt_lo_div(oh, p.H, dv.P), h1 = adapt_hi_div(oh, p.H, dv.P);
      if (h < h0 || h >= h1) continue;
      for (int64_t ow = dv.W.div(w * p.Q), ow1 = min(dv.W.div((w + 1) * p.Q - 1), p.Q - 1); ow <= ow1; ow++) {
        const int64_t w0 = adapt_lo_div(ow, p.W, dv.Q), w1 = adapt_hi_div(ow, p.W, dv.Q);
        if (w < w0 || w >= w1) continue;
        sum += load_as<A>(g + (oh * p.Q + ow) * q.gs) / A((h1 - h0) * (w1 - w0));
      }
    }
    dx[i] = cuda::convert<T>(sum);
  }
}

// x is channels_last (channels adjacent in memory): walk the outputs channels first
bool channels_fast(const PoolParams& p) { return p.xs_c == 1 && p.C > 1; }

}  // namespace

// f(divs) with 32-bit divisions where the sizes allow; integer types (rare) always take 64-bit
// ones, so their kernels are built once.
template <typename T, typename F> void by_divs(const PoolParams& p, F f) {
  if constexpr (!std::is_integral_v<T>)
    if (fits32(p)) return f(make_divs<FastDiv>(p));
  f(make_divs<SlowDiv>(p));
}

void max_pool_forward_cuda(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  const NhwcMode m = idx ? NhwcMode::MaxIdx : NhwcMode::Max;
  if (nhwc_forward(p, x, y, idx, t, m, index)) return;
  dispatch<true, true>(t, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.P * p.Q;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((max_pool_kernel<T, decltype(dv.P)>), n, "max_pool2d", p, dv, static_cast<const T*>(x),
                       static_cast<T*>(y), idx, n, channels_fast(p));
    });
  });
}

void avg_pool_forward_cuda(const PoolParams& p, const void* x, void* y, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (nhwc_forward(p, x, y, nullptr, t, NhwcMode::Avg, index)) return;
  dispatch<true, true>(t, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.P * p.Q;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((avg_pool_kernel<T, decltype(dv.P)>), n, "avg_pool2d", p, dv, static_cast<const T*>(x),
                       static_cast<T*>(y), n, channels_fast(p));
    });
  });
}

void avg_pool_backward_cuda(const PoolParams& p, const void* dy, void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false, true>(t, "avg_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.H * p.W;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((avg_pool_backward_kernel<T, decltype(dv.P)>), n, "avg_pool2d backward", p, dv,
                       static_cast<const T*>(dy), static_cast<T*>(dx), n);
    });
  });
}

void adaptive_avg_pool_forward_cuda(const PoolParams& p, const void* x, void* y, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (nhwc_forward(p, x, y, nullptr, t, NhwcMode::AdaptAvg, index)) return;
  dispatch<false, true>(t, "adaptive_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.P * p.Q;
    if (n > 0 && fits32(p) && p.H * p.W >= 16 * p.P * p.Q) {  // windows of 16+ taps on average: a warp each
      const unsigned grid = (unsigned)std::min<int64_t>((n + 7) / 8, 65535LL * 16);
      adaptive_avg_warp_kernel<T, FastDiv><<<grid, 256, 0, cuda::stream(index)>>>(
          p, make_divs<FastDiv>(p), static_cast<const T*>(x), static_cast<T*>(y), n);
      PYML_CUDA_LAUNCH_CHECK("adaptive_avg_pool2d");
      return;
    }
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((adaptive_pool_kernel<T, false, decltype(dv.P)>), n, "adaptive_avg_pool2d", p, dv,
                       static_cast<const T*>(x), static_cast<T*>(y), nullptr, n);
    });
  });
}

void adaptive_avg_pool_backward_cuda(const PoolParams& p, const void* dy, void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  dispatch<false, true>(t, "adaptive_avg_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.H * p.W;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((adaptive_avg_backward_kernel<T, decltype(dv.P)>), n, "adaptive_avg_pool2d backward", p, dv,
                       static_cast<const T*>(dy), static_cast<T*>(dx), n);
    });
  });
}

void adaptive_max_pool_forward_cuda(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (nhwc_forward(p, x, y, idx, t, NhwcMode::AdaptMax, index)) return;
  dispatch<false, true>(t, "adaptive_max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.P * p.Q;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((adaptive_pool_kernel<T, true, decltype(dv.P)>), n, "adaptive_max_pool2d", p, dv,
                       static_cast<const T*>(x), static_cast<T*>(y), idx, n);
    });
  });
}

void max_pool_backward_gather_cuda(const PoolParams& p, const void* dy, const int64_t* idx, void* dx, DType t,
                                   int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "max_pool2d backward";
  dispatch<false, true>(t, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = p.planes * p.H * p.W;
    by_divs<T>(p, [&](auto dv) {
      PYML_POOL_LAUNCH((max_pool_gather_kernel<T, decltype(dv.P)>), n, op, p, dv, static_cast<const T*>(dy), idx,
                       static_cast<T*>(dx), n);
    });
  });
}

}  // namespace pyml
