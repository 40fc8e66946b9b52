// CUDA resampling: nearest / nearest-exact / (bi)linear upsampling of planes (N*C, H, W) and
// grid_sample (bilinear or nearest; zeros, border or reflection padding), forward and backward.
// Index and weight formulas are those of cpu/vision.cpp (torch's), evaluated per output element
// instead of from tables; products that decide an index use round-to-nearest intrinsics so nvcc
// cannot fuse them into an FMA and pick a different source pixel than the CPU at a boundary.
// Forward: one thread per output element (upsample) or per output pixel looping over channels
// (grid_sample, so the coordinates are computed once). Backward scatters with atomicAdd into a
// zeroed dx (float/double atomics; the summation order, and so the last bits, is not fixed).
#include "cuda_common.cuh"
#include "vision.h"

namespace pyml {
namespace {

__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float fmod_(float a, float b) { return fmodf(a, b); }
__device__ inline double fmod_(double a, double b) { return fmod(a, b); }
__device__ inline float floor_(float a) { return floorf(a); }
__device__ inline double floor_(double a) { return floor(a); }
__device__ inline float nearbyint_(float a) { return nearbyintf(a); }
__device__ inline double nearbyint_(double a) { return nearbyint(a); }

template <typename T> __device__ inline void atomic_add(T* p, T v) { atomicAdd(p, v); }

// ---- upsample index maps (cpu/vision.cpp nearest_src and linear_table, one entry at a time)
__device__ inline int64_t nearest_src(int64_t o, int64_t in, int64_t out, double user, bool exact) {
  float scale = user > 0 ? float(1.0 / user) : float(in) / float(out);
  if (!exact && out == in) return o;
  if (!exact && out == 2 * in) return o >> 1;
  int64_t s = (int64_t)floorf(exact ? mul_rn(float(o) + 0.5f, scale) : mul_rn(float(o), scale));
  return s < in - 1 ? s : in - 1;
}

template <typename A> struct Lin {
  int64_t i0, i1;
  A l0, l1;
};

template <typename A> __device__ inline Lin<A> linear_at(int64_t o, int64_t in, int64_t out, double user, bool align) {
  A scale = align ? (out > 1 ? A(in - 1) / A(out - 1) : A(0)) : (user > 0 ? A(1.0 / user) : A(in) / A(out));
  A src = mul_rn(scale, align ? A(o) : A(o) + A(0.5));
  if (!align) src = src - A(0.5) < A(0) ? A(0) : src - A(0.5);
  int64_t i0 = (int64_t)src;
  A l1 = src - A(i0);
  l1 = l1 < A(0) ? A(0) : (A(1) < l1 ? A(1) : l1);
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), A(1) - l1, l1};
}

// x (planes, H, W), y (planes, P, Q) contiguous; n = planes * P * Q
template <typename T> __global__ void upsample_kernel(ResampleParams p, const T* x, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t q = i % p.Q, o = (i / p.Q) % p.P;
    const T* xp = x + (i / (p.P * p.Q)) * p.H * p.W;
    if (p.mode < 2) {
      int64_t h = nearest_src(o, p.H, p.P, p.user_sh, p.mode == 1), w = nearest_src(q, p.W, p.Q, p.user_sw, p.mode == 1);
      y[i] = xp[h * p.W + w];
      continue;
    }
    Lin<T> a = linear_at<T>(o, p.H, p.P, p.user_sh, p.align_corners);
    Lin<T> c = linear_at<T>(q, p.W, p.Q, p.user_sw, p.align_corners);
    const T* r0 = xp + a.i0 * p.W;
    const T* r1 = xp + a.i1 * p.W;
    y[i] = a.l0 * (c.l0 * r0[c.i0] + c.l1 * r0[c.i1]) + a.l1 * (c.l0 * r1[c.i0] + c.l1 * r1[c.i1]);
  }
}

// dy (planes, P, Q), dx (planes, H, W) zeroed; one thread per element of dy
template <typename T> __global__ void upsample_backward_kernel(ResampleParams p, const T* dy, T* dx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t q = i % p.Q, o = (i / p.Q) % p.P;
    T* dp = dx + (i / (p.P * p.Q)) * p.H * p.W;
    T v = dy[i];
    if (p.mode < 2) {
      int64_t h = nearest_src(o, p.H, p.P, p.user_sh, p.mode == 1), w = nearest_src(q, p.W, p.Q, p.user_sw, p.mode == 1);
      atomic_add(dp + h * p.W + w, v);
      continue;
    }
    Lin<T> a = linear_at<T>(o, p.H, p.P, p.user_sh, p.align_corners);
    Lin<T> c = linear_at<T>(q, p.W, p.Q, p.user_sw, p.align_corners);
    T* r0 = dp + a.i0 * p.W;
    T* r1 = dp + a.i1 * p.W;
    atomic_add(r0 + c.i0, a.l0 * c.l0 * v);
    atomic_add(r0 + c.i1, a.l0 * c.l1 * v);
    atomic_add(r1 + c.i0, a.l1 * c.l0 * v);
    atomic_add(r1 + c.i1, a.l1 * c.l1 * v);
  }
}

}  // namespace

void upsample_cuda(const ResampleParams& p, DType ct, const void* x, void* y, int index) {
  int64_t n = p.planes * p.P * p.Q;
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    upsample_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(x), static_cast<T*>(y), n);
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("upsample");
}

void upsample_backward_cuda(const ResampleParams& p, DType ct, const void* dy, void* dx, int index) {
  int64_t n = p.planes * p.P * p.Q;
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    upsample_backward_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(dy), static_cast<T*>(dx), n);
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("upsample_backward");
}

// ---------------------------------------------------------------- grid_sample
namespace {

// grid coordinate in [-1, 1] -> pixel coordinate; *g = d(pixel)/d(grid)
template <typename T> __device__ inline T unnormalize(T c, int64_t size, bool align, T* g) {
  if (align) {
    *g = T(size - 1) / 2;
    return (c + 1) / 2 * T(size - 1);
  }
  *g = T(size) / 2;
  return (mul_rn(c + 1, T(size)) - 1) / 2;
}

template <typename T> __device__ inline T clip(T c, int64_t size, T* g) {
  if (c <= T(0)) { *g = 0; return T(0); }
  if (c >= T(size - 1)) { *g = 0; return T(size - 1); }
  *g = 1;
  return c;
}

template <typename T> __device__ inline T reflect(T c, int64_t twice_low, int64_t twice_high, T* g) {
  if (twice_low == twice_high) { *g = 0; return T(0); }
  T mn = T(twice_low) / 2, span = T(twice_high - twice_low) / 2;
  c -= mn;
  T mult = 1;
  if (c < 0) { mult = -1; c = -c; }
  T extra = fmod_(c, span);
  int64_t flips = (int64_t)floor_(c / span);
  if (flips % 2 == 0) { *g = mult; return extra + mn; }
  *g = -mult;
  return span - extra + mn;
}

template <typename T> __device__ inline T source_index(T c, int64_t size, int padding, bool align, T* g) {
  T gu, gc = 1, gr = 1;
  c = unnormalize(c, size, align, &gu);
  if (padding == 1) {
    c = clip(c, size, &gc);
  } else if (padding == 2) {
    c = align ? reflect(c, 0, 2 * (size - 1), &gr) : reflect(c, -1, 2 * size - 1, &gr);
    c = clip(c, size, &gc);
  }
  *g = gu * gc * gr;
  return c;
}

// far outside (or NaN) -> -2: every corner is then out of bounds and the int64 casts stay defined
template <typename T> __device__ inline T tame(T v, int64_t size) { return (v > T(-2) && v < T(size + 1)) ? v : T(-2); }

__device__ inline bool inside(int64_t h, int64_t w, int64_t H, int64_t W) { return h >= 0 && h < H && w >= 0 && w < W; }

template <typename T> struct Corners {
  int64_t h[4], w[4];  // nw, ne, sw, se
  T wt[4];
  bool ok[4];
  T ix, iy, gx, gy;
};

template <typename T> __device__ inline Corners<T> corners(const GridSampleParams& p, const T* gp) {
  Corners<T> c;
  c.ix = tame(source_index(gp[0], p.W, p.padding, p.align_corners, &c.gx), p.W);
  c.iy = tame(source_index(gp[1], p.H, p.padding, p.align_corners, &c.gy), p.H);
  int64_t x0 = (int64_t)floor_(c.ix), y0 = (int64_t)floor_(c.iy);
  T fx = c.ix - T(x0), fy = c.iy - T(y0);
  const int64_t hs[4] = {y0, y0, y0 + 1, y0 + 1}, ws[4] = {x0, x0 + 1, x0, x0 + 1};
  const T wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
#pragma unroll
  for (int k = 0; k < 4; k++) {
    c.h[k] = hs[k], c.w[k] = ws[k], c.wt[k] = wts[k];
    c.ok[k] = inside(hs[k], ws[k], p.H, p.W);
  }
  return c;
}

template <typename T> __device__ inline bool nearest_at(const GridSampleParams& p, const T* gp, int64_t& h, int64_t& w) {
  T g;
  w = (int64_t)nearbyint_(tame(source_index(gp[0], p.W, p.padding, p.align_corners, &g), p.W));
  h = (int64_t)nearbyint_(tame(source_index(gp[1], p.H, p.padding, p.align_corners, &g), p.H));
  return inside(h, w, p.H, p.W);
}

// x (N, C, H, W), grid (N, P, Q, 2), y (N, C, P, Q) contiguous; one thread per (n, output pixel)
template <typename T> __global__ void grid_sample_kernel(GridSampleParams p, const T* x, const T* grid, T* y) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, total = p.N * PQ;
  for (int64_t it = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; it < total; it += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = it / PQ, pix = it % PQ;
    const T* gp = grid + it * 2;
    const T* xn = x + n * p.C * HW;
    T* yn = y + n * p.C * PQ + pix;
    if (p.mode == 1) {
      int64_t h, w;
      bool ok = nearest_at(p, gp, h, w);
      for (int64_t c = 0; c < p.C; c++) yn[c * PQ] = ok ? xn[c * HW + h * p.W + w] : T(0);
      continue;
    }
    Corners<T> k = corners(p, gp);
    for (int64_t c = 0; c < p.C; c++) {
      const T* xc = xn + c * HW;
      T s = 0;
#pragma unroll
      for (int j = 0; j < 4; j++)
        if (k.ok[j]) s += xc[k.h[j] * p.W + k.w[j]] * k.wt[j];
      yn[c * PQ] = s;
    }
  }
}

// dy (N, C, P, Q); dx (N, C, H, W) zeroed or null; dgrid (N, P, Q, 2) or null. One thread per
// (n, output pixel): dgrid is its own sum over channels, dx gets atomics (pixels share corners).
template <typename T>
__global__ void grid_sample_backward_kernel(GridSampleParams p, const T* dy, const T* x, const T* grid, T* dx, T* dgrid) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, total = p.N * PQ;
  for (int64_t it = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; it < total; it += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = it / PQ, pix = it % PQ;
    const T* gp = grid + it * 2;
    if (p.mode == 1) {
      if (dgrid) dgrid[it * 2] = dgrid[it * 2 + 1] = T(0);
      int64_t h, w;
      if (dx && nearest_at(p, gp, h, w))
        for (int64_t c = 0; c < p.C; c++) atomic_add(dx + (n * p.C + c) * HW + h * p.W + w, dy[(n * p.C + c) * PQ + pix]);
      continue;
    }
    Corners<T> k = corners(p, gp);
    T fx = k.ix - T(k.w[0]), fy = k.iy - T(k.h[0]);
    const T dwx[4] = {-(1 - fy), 1 - fy, -fy, fy}, dwy[4] = {-(1 - fx), -fx, 1 - fx, fx};
    T gx = 0, gy = 0;
    for (int64_t c = 0; c < p.C; c++) {
      const T* xc = x + (n * p.C + c) * HW;
      T g = dy[(n * p.C + c) * PQ + pix];
#pragma unroll
      for (int j = 0; j < 4; j++) {
        if (!k.ok[j]) continue;
        int64_t at = k.h[j] * p.W + k.w[j];
        if (dgrid) {
          T v = xc[at] * g;
          gx += v * dwx[j];
          gy += v * dwy[j];
        }
        if (dx) atomic_add(dx + (n * p.C + c) * HW + at, k.wt[j] * g);
      }
    }
    if (dgrid) {
      dgrid[it * 2] = gx * k.gx;
      dgrid[it * 2 + 1] = gy * k.gy;
    }
  }
}

}  // namespace

void grid_sample_cuda(const GridSampleParams& p, DType ct, const void* x, const void* grid, void* y, int index) {
  int64_t total = p.N * p.P * p.Q;
  if (total == 0 || p.C == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    grid_sample_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(x), static_cast<const T*>(grid), static_cast<T*>(y));
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("grid_sample");
}

void grid_sample_backward_cuda(const GridSampleParams& p, DType ct, const void* dy, const void* x, const void* grid,
                               void* dx, void* dgrid, int index) {
  int64_t total = p.N * p.P * p.Q;
  if (total == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    grid_sample_backward_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(grid), static_cast<T*>(dx),
        static_cast<T*>(dgrid));
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("grid_sample_backward");
}

}  // namespace pyml
