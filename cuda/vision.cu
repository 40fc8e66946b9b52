// CUDA resampling: nearest / nearest-exact / (bi)linear upsampling of planes (N*C, H, W) (or of a
// channels_last (N, H, W, C) image, kept so: no layout copies around the kernels), the
// separable resampler (planes (N*C, D, H, W): 3-D nearest and trilinear, bicubic, antialiased
// filters) and grid_sample (bilinear, nearest or bicubic; zeros, border or reflection padding),
// forward and backward. Index and weight formulas are the CPU kernels' own (ops/resample.h,
// torch's), evaluated per output element instead of from tables, so both devices pick the same
// source pixels. Forward: one thread per output element (upsample, resampler) or per output pixel
// looping over channels (grid_sample, so the coordinates are computed once; the per-pixel body is
// the CPU kernel's).
// Backward scatters with atomicAdd into a zeroed dx (float/double atomics; the summation order,
// and so the last bits, is not fixed); grid_sample's dgrid is a per-pixel sum as on the CPU.
#include "cuda_common.cuh"
#include "vision.h"
#include "ops/resample.h"

namespace pyml {
using namespace resample;
namespace {

template <typename T> __device__ inline void atomic_add(T* p, T v) { atomicAdd(p, v); }

// Output element i (y's memory order) -> its output pixel (o, q), where its input plane starts
// (base) and how far apart that plane's pixels are (ps): (planes, P, Q) with (planes, H, W), or
// with p.C > 0 (channels_last) (N, P, Q, C) with (N, H, W, C), walked channels first so a warp
// reads and writes 32 adjacent channels of a pixel.
struct UpPos { int64_t o, q, base, ps; };
__device__ inline UpPos up_pos(const ResampleParams& p, int64_t i) {
  if (p.C == 0) return UpPos{(i / p.Q) % p.P, i % p.Q, (i / (p.P * p.Q)) * p.H * p.W, 1};
  const int64_t r = i / p.C, c = i - r * p.C;  // r: output pixel n*P*Q + o*Q + q
  return UpPos{(r / p.Q) % p.P, r % p.Q, r / (p.P * p.Q) * p.H * p.W * p.C + c, p.C};
}

// x, y as up_pos says; n = planes * P * Q
template <typename T> __global__ void upsample_kernel(ResampleParams p, const T* x, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const UpPos u = up_pos(p, i);
    const T* xp = x + u.base;
    if (p.mode < 2) {
      int64_t h = nearest_src(u.o, p.H, p.P, p.user_sh, p.mode == 1);
      int64_t w = nearest_src(u.q, p.W, p.Q, p.user_sw, p.mode == 1);
      y[i] = xp[(h * p.W + w) * u.ps];
      continue;
    }
    Lin<T> a = linear_at<T>(u.o, p.H, p.P, p.user_sh, p.align_corners);
    Lin<T> c = linear_at<T>(u.q, p.W, p.Q, p.user_sw, p.align_corners);
    const T* r0 = xp + a.i0 * p.W * u.ps;
    const T* r1 = xp + a.i1 * p.W * u.ps;
    y[i] = a.l0 * (c.l0 * r0[c.i0 * u.ps] + c.l1 * r0[c.i1 * u.ps]) +
           a.l1 * (c.l0 * r1[c.i0 * u.ps] + c.l1 * r1[c.i1 * u.ps]);
  }
}

// dy, dx (zeroed) as up_pos says for y, x; one thread per element of dy
template <typename T> __global__ void upsample_backward_kernel(ResampleParams p, const T* dy, T* dx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const UpPos u = up_pos(p, i);
    T* dp = dx + u.base;
    T v = dy[i];
    if (p.mode < 2) {
      int64_t h = nearest_src(u.o, p.H, p.P, p.user_sh, p.mode == 1);
      int64_t w = nearest_src(u.q, p.W, p.Q, p.user_sw, p.mode == 1);
      atomic_add(dp + (h * p.W + w) * u.ps, v);
      continue;
    }
    Lin<T> a = linear_at<T>(u.o, p.H, p.P, p.user_sh, p.align_corners);
    Lin<T> c = linear_at<T>(u.q, p.W, p.Q, p.user_sw, p.align_corners);
    T* r0 = dp + a.i0 * p.W * u.ps;
    T* r1 = dp + a.i1 * p.W * u.ps;
    atomic_add(r0 + c.i0 * u.ps, a.l0 * c.l0 * v);
    atomic_add(r0 + c.i1 * u.ps, a.l0 * c.l1 * v);
    atomic_add(r1 + c.i0 * u.ps, a.l1 * c.l0 * v);
    atomic_add(r1 + c.i1 * u.ps, a.l1 * c.l1 * v);
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

// ---------------------------------------------------------------- separable resampler
namespace {

// x (planes, D, H, W), y (planes, OD, P, Q) contiguous; n = planes * OD * P * Q
template <typename T> __global__ void resample_kernel(ResampleNdParams p, const T* x, T* y, int64_t n) {
  const int64_t Q = p.out[2], P = p.out[1], OD = p.out[0], in_plane = p.in[0] * p.in[1] * p.in[2];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ow = i % Q, oh = i / Q % P, od = i / (Q * P) % OD, plane = i / (Q * P * OD);
    y[i] = resample_point<T, T>(p, x + plane * in_plane, od, oh, ow);
  }
}

// dy (planes, OD, P, Q), dx (planes, D, H, W) zeroed; one thread per element of dy
template <typename T> __global__ void resample_backward_kernel(ResampleNdParams p, const T* dy, T* dx, int64_t n) {
  const int64_t Q = p.out[2], P = p.out[1], OD = p.out[0], H = p.in[1], W = p.in[2], in_plane = p.in[0] * H * W;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ow = i % Q, oh = i / Q % P, od = i / (Q * P) % OD;
    const Taps<T> td = axis_taps<T>(p, 0, od), th = axis_taps<T>(p, 1, oh), tw = axis_taps<T>(p, 2, ow);
    T* dp = dx + i / (Q * P * OD) * in_plane;
    const T v = dy[i];
    for (int a = 0; a < td.n; a++)
      for (int b = 0; b < th.n; b++) {
        T* row = dp + (td.index(a) * H + th.index(b)) * W;
        const T vab = v * td.weight(a) * th.weight(b);
        for (int c = 0; c < tw.n; c++) atomic_add(row + tw.index(c), vab * tw.weight(c));
      }
  }
}

}  // namespace

void resample_cuda(const ResampleNdParams& p, DType ct, const void* x, void* y, int index) {
  int64_t n = p.planes * p.out[0] * p.out[1] * p.out[2];
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    resample_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(x), static_cast<T*>(y), n);
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("resample");
}

void resample_backward_cuda(const ResampleNdParams& p, DType ct, const void* dy, void* dx, int index) {
  int64_t n = p.planes * p.out[0] * p.out[1] * p.out[2];
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    resample_backward_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(dy), static_cast<T*>(dx), n);
  };
  if (ct == DType::Float32) launch(float{}); else launch(double{});
  PYML_CUDA_LAUNCH_CHECK("resample_backward");
}

// ---------------------------------------------------------------- grid_sample
namespace {

// x (N, C, H, W), grid (N, P, Q, 2), y (N, C, P, Q) contiguous; one thread per (n, output pixel)
template <typename T> __global__ void grid_sample_kernel(GridSampleParams p, const T* x, const T* grid, T* y) {
  const int64_t total = p.N * p.P * p.Q;
  for (int64_t it = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; it < total; it += (int64_t)gridDim.x * blockDim.x)
    grid_sample_pixel(p, x, grid, y, it);
}

// Bicubic dx of output pixel (n, pix): its 16 taps' weights times dy, for every channel
template <typename T>
__device__ void grid_sample_dx_cubic(const GridSampleParams& p, const T* dy, const T* gp, T* dx, int64_t n,
                                     int64_t pix) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W;
  const CubicAxis<T> ax = cubic_axis(gp[0], p.W, p), ay = cubic_axis(gp[1], p.H, p);
  for (int64_t c = 0; c < p.C; c++) {
    const T g = dy[(n * p.C + c) * PQ + pix];
    T* dxc = dx + (n * p.C + c) * HW;
    for (int j = 0; j < 4; j++)
      for (int i = 0; i < 4; i++)
        if (ay.ok[j] && ax.ok[i]) atomic_add(dxc + ay.idx[j] * p.W + ax.idx[i], ax.w[i] * ay.w[j] * g);
  }
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
    if (p.mode == 2) {
      grid_sample_dx_cubic(p, dy, gp, dx, n, pix);
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
