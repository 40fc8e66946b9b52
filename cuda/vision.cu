// CUDA resampling: nearest / nearest-exact / (bi)linear upsampling of planes (N*C, H, W) and
// grid_sample (bilinear or nearest; zeros, border or reflection padding), forward and backward.
// Index and weight formulas are the CPU kernels' own (ops/resample.h, torch's), evaluated per
// output element instead of from tables, so both devices pick the same source pixels.
// Forward: one thread per output element (upsample) or per output pixel looping over channels
// (grid_sample, so the coordinates are computed once; the per-pixel body is the CPU kernel's).
// Backward scatters with atomicAdd into a zeroed dx (float/double atomics; the summation order,
// and so the last bits, is not fixed); grid_sample's dgrid is a per-pixel sum as on the CPU.
#include "cuda_common.cuh"
#include "vision.h"
#include "ops/resample.h"

namespace pyml {
using namespace resample;
namespace {

template <typename T> __device__ inline void atomic_add(T* p, T v) { atomicAdd(p, v); }

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

// x (N, C, H, W), grid (N, P, Q, 2), y (N, C, P, Q) contiguous; one thread per (n, output pixel)
template <typename T> __global__ void grid_sample_kernel(GridSampleParams p, const T* x, const T* grid, T* y) {
  const int64_t total = p.N * p.P * p.Q;
  for (int64_t it = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; it < total; it += (int64_t)gridDim.x * blockDim.x)
    grid_sample_pixel(p, x, grid, y, it);
}

// dy (N, C, P, Q); dx (N, C, H, W) zeroed or null; dgrid (N, P, Q, 2) or null. One thread per
// (n, output pixel): dgrid is its own sum over channels, dx gets atomics (pixels share corners).
template <typename T>
__global__ void grid_sample_backward_kernel(GridSampleParams p, const T* dy, const T* x, const T* grid, T* dx, T* dgrid) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, total = p.N * PQ;
  for (int64_t it = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; it < total; it += (int64_t)gridDim.x * blockDim.x) {
    if (dgrid) grid_sample_dgrid_pixel(p, dy, x, grid, dgrid, it);
    if (!dx) continue;
    int64_t n = it / PQ, pix = it % PQ;
    const T* gp = grid + it * 2;
    if (p.mode == 1) {
      int64_t h, w;
      if (nearest_at(p, gp, h, w))
        for (int64_t c = 0; c < p.C; c++) atomic_add(dx + (n * p.C + c) * HW + h * p.W + w, dy[(n * p.C + c) * PQ + pix]);
      continue;
    }
    Corners<T> k = corners(p, gp);
    for (int64_t c = 0; c < p.C; c++) {
      T g = dy[(n * p.C + c) * PQ + pix];
#pragma unroll
      for (int j = 0; j < 4; j++)
        if (k.ok[j]) atomic_add(dx + (n * p.C + c) * HW + k.h[j] * p.W + k.w[j], k.wt[j] * g);
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
