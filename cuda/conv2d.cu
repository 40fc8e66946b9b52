// Grouped 2-D convolution on CUDA as implicit GEMM: the three products of a conv run the tiled
// core of cuda/gemm_tile.cuh (through cuda/conv_gemm.cuh) with operands that index the input
// window on the fly while staging shared memory (no im2col buffer). Per group g (k = (c, r, s) or (k, r, s) flattened):
//   forward      y  (Kg x N*P*Q) = w_g (Kg x Cg*R*S) @ window(x) (Cg*R*S x N*P*Q)
//   grad input   dx (Cg x N*H*W) = w_g^T (Cg x Kg*R*S) @ gather(dy) (Kg*R*S x N*H*W), each dx
//                element reads the dy entries whose window covers it (zero where none), so it
//                is written exactly once: no atomics, no zero-fill
//   grad weight  dw (Kg x Cg*R*S) = dy_g (Kg x N*P*Q) @ window(x)^T; its reduction over every
//                output pixel is long and its output small, so it splits the reduction across
//                blocks into a partial buffer summed by a second kernel in a fixed order
// Grid: x strides over (tile, split), y over groups. float32/float64; x through any strides.
// float16/bfloat16 (and float32 when TF32 is allowed) go to the tensor-core kernels of
// cuda/conv2d_tc.cu instead; depthwise convs (G == C == K) to direct kernels below, any dtype.
#include "conv2d.h"
#include <climits>
#include "block_reduce.cuh"
#include "conv_gemm.cuh"

namespace pyml {
namespace cuda {  // cuda/conv2d_tc.cu: float16/bfloat16, float32 as TF32; y/dx/dy contiguous NCHW
void conv2d_tc_forward(const ConvParams& p, const void* x, const void* w, const void* b, void* y, const int64_t* ys,
                       DType t, int index);
void conv2d_tc_backward_input(const ConvParams& p, const void* dy, const int64_t* dys, const void* w,
                              const void* bias, void* dx, DType t, int index);
void conv2d_tc_backward_weight(const ConvParams& p, const void* dy, const int64_t* dys, const void* x, void* dw,
                               DType t, int index);
}  // namespace cuda
namespace {

// x at input row oh*sh - ph + r*dh, column ow*sw - pw + s*dw of channel c of image img; 0 in the padding
template <typename T>
__device__ inline T x_at(const ConvParams& p, const T* x, int64_t img, int64_t c, int r, int s, int64_t oh,
                         int64_t ow) {
  int64_t h = oh * p.sh - p.ph + r * p.dh, w = ow * p.sw - p.pw + s * p.dw;
  if (h < 0 || h >= p.H || w < 0 || w >= p.W) return T(0);
  return x[img * p.xs[0] + c * p.xs[1] + h * p.xs[2] + w * p.xs[3]];
}

// Common geometry of the three problems. RS, S, CgRS fit in int (checked on the host), so the
// per-element (c, r, s) decode is 32-bit division.
struct Geom {
  ConvParams p;
  int64_t Kg, Cg, PQ, HW;
  int RS, S, CgRS;
  int64_t ys[4];  // strides of y (forward) or dy (backward)
  int64_t g = 0;  // the group a block is working on
};

// forward: A = w_g (Kg, Cg*R*S) row-major; B(k = (c, r, s), n = (img, oh, ow)) = x window
template <typename T> struct FwdProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom q;
  const T *x, *w, *bias;
  T* y;
  __device__ T a(int64_t m, int64_t k) const { return w[(q.g * q.Kg + m) * q.CgRS + k]; }
  __device__ T b(int64_t k, int64_t n) const {
    int64_t img = n / q.PQ, pq = n - img * q.PQ, oh = pq / q.p.Q;
    int c = (int)k / q.RS, rs = (int)k - c * q.RS, r = rs / q.S;
    return x_at(q.p, x, img, q.g * q.Cg + c, r, rs - r * q.S, oh, pq - oh * q.p.Q);
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t) const {
    int64_t img = n / q.PQ, pq = n - img * q.PQ, k = q.g * q.Kg + m, oh = pq / q.p.Q;
    y[img * q.ys[0] + k * q.ys[1] + oh * q.ys[2] + (pq - oh * q.p.Q) * q.ys[3]] = bias ? acc + bias[k] : acc;
  }
};

// grad input: A(m = c, k = (kk, r, s)) = w[g*Kg + kk, c, r, s]; B(k, n = (img, h, w)) = the dy
// entry whose window puts (r, s) on (h, w), or 0
template <typename T> struct BwdInputProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom q;
  const T *dy, *w, *bias;
  T* dx;
  __device__ T a(int64_t m, int64_t k) const {
    int kk = (int)k / q.RS, rs = (int)k - kk * q.RS;
    return w[((q.g * q.Kg + kk) * q.Cg + m) * q.RS + rs];
  }
  __device__ T b(int64_t k, int64_t n) const {
    const ConvParams& p = q.p;
    int kk = (int)k / q.RS, rs = (int)k - kk * q.RS, r = rs / q.S, s = rs - r * q.S;
    int64_t img = n / q.HW, hw = n - img * q.HW, h = hw / p.W;
    int64_t th = h + p.ph - r * p.dh, tw = hw - h * p.W + p.pw - s * p.dw;
    if (th < 0 || tw < 0 || th % p.sh != 0 || tw % p.sw != 0) return T(0);
    int64_t oh = th / p.sh, ow = tw / p.sw;
    if (oh >= p.P || ow >= p.Q) return T(0);
    return dy[img * q.ys[0] + (q.g * q.Kg + kk) * q.ys[1] + oh * q.ys[2] + ow * q.ys[3]];
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t) const {
    int64_t img = n / q.HW, hw = n - img * q.HW, c = q.g * q.Cg + m;
    dx[(img * q.p.C + c) * q.HW + hw] = bias ? acc + bias[c] : acc;
  }
};

// grad weight: A(m = kk, k = (img, oh, ow)) = dy; B(k, n = (c, r, s)) = x window. Split s of the
// reduction writes out[s] (K, Cg*R*S): dw itself when there is one split.
template <typename T> struct BwdWeightProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom q;
  const T *dy, *x;
  T* out;
  __device__ T a(int64_t m, int64_t k) const {
    const int64_t img = k / q.PQ, pq = k - img * q.PQ, oh = pq / q.p.Q;
    return dy[img * q.ys[0] + (q.g * q.Kg + m) * q.ys[1] + oh * q.ys[2] + (pq - oh * q.p.Q) * q.ys[3]];
  }
  __device__ T b(int64_t k, int64_t n) const {
    int64_t img = k / q.PQ, pq = k - img * q.PQ, oh = pq / q.p.Q;
    int c = (int)n / q.RS, rs = (int)n - c * q.RS, r = rs / q.S;
    return x_at(q.p, x, img, q.g * q.Cg + c, r, rs - r * q.S, oh, pq - oh * q.p.Q);
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t split) const {
    out[(split * q.p.K + q.g * q.Kg + m) * q.CgRS + n] = acc;
  }
};

Geom make_geom(const ConvParams& p, const int64_t* ys, const char* op) {
  Geom q{p, p.K / p.G, p.C / p.G, p.P * p.Q, p.H * p.W, 0, 0, 0, {ys[0], ys[1], ys[2], ys[3]}};
  int64_t rs = p.R * p.S;
  PYML_CHECK(q.Cg * rs < INT_MAX && q.Kg * rs < INT_MAX, RuntimeError, op, ": filters of ", q.Cg * rs, " or ",
             q.Kg * rs, " elements per output channel exceed the CUDA kernels' 32-bit index");
  q.RS = (int)rs;
  q.S = (int)p.S;
  q.CgRS = (int)(q.Cg * rs);
  return q;
}

template <typename T>
void backward_weight(const ConvParams& p, const T* dy, const int64_t* dys, const T* x, T* dw, int index) {
  const char* op = "conv2d backward (weight)";
  Geom q = make_geom(p, dys, op);
  BwdWeightProblem<T> pr{q.Kg, q.CgRS, true, false, q, dy, x, dw};
  cuda::conv_weight_gemm<T>(pr, p.G, p.N * q.PQ, p.K * q.CgRS, dw, index, op);
}

// cols[img, (c*R + r)*S + s, oh*Q + ow] = x window value (0 in the padding)
template <typename T> __global__ void unfold_kernel(ConvParams p, const T* x, T* cols, int64_t total) {
  const int64_t PQ = p.P * p.Q, RS = p.R * p.S, rows = p.C * RS;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t pq = i % PQ, row = i / PQ % rows, img = i / (PQ * rows), c = row / RS, rs = row % RS;
    cols[i] = x_at(p, x, img, c, (int)(rs / p.S), (int)(rs % p.S), pq / p.Q, pq % p.Q);
  }
}

// dx[img, c, h, w] = sum of the cols entries of every block position that covers (h, w)
template <typename T> __global__ void fold_kernel(ConvParams p, const T* cols, T* dx, int64_t total) {
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = i % p.W, h = i / p.W % p.H, plane = i / HW;  // plane = img * C + c
    const T* base = cols + plane * p.R * p.S * PQ;  // rows (c*R + r)*S + s of image img
    T sum = T(0);
    for (int64_t r = 0; r < p.R; r++) {
      int64_t th = h + p.ph - r * p.dh;
      if (th < 0 || th % p.sh != 0 || th / p.sh >= p.P) continue;
      for (int64_t s = 0; s < p.S; s++) {
        int64_t tw = w + p.pw - s * p.dw;
        if (tw < 0 || tw % p.sw != 0 || tw / p.sw >= p.Q) continue;
        sum += base[(r * p.S + s) * PQ + th / p.sh * p.Q + tw / p.sw];
      }
    }
    dx[i] = sum;
  }
}

// ---- depthwise (G == C == K): memory-bound, so plain direct loops, one thread per output element
// (forward, grad input) or one block per filter tap (grad weight), any floating dtype.

// y (N, C, P, Q) contiguous; x through p.xs; w (C, 1, R, S). Threads walk y in x's fast order
// (channels first for channels_last x) so neighbouring threads read neighbouring x.
struct Strides4 { int64_t s[4]; };

template <typename T> __global__ void dw_forward_kernel(ConvParams p, const T* x, const T* w, const T* b, T* y,
                                                       Strides4 ys, int64_t total, bool c_fast) {
  using A = cuda::acc_t<T>;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t c, q, pp, n = i;
    if (c_fast) c = n % p.C, n /= p.C, q = n % p.Q, n /= p.Q, pp = n % p.P, n /= p.P;
    else q = n % p.Q, n /= p.Q, pp = n % p.P, n /= p.P, c = n % p.C, n /= p.C;
    A acc = b ? cuda::convert<A>(b[c]) : A(0);
    for (int64_t r = 0; r < p.R; r++) {
      const int64_t h = pp * p.sh - p.ph + r * p.dh;
      if (h < 0 || h >= p.H) continue;
      for (int64_t s = 0; s < p.S; s++) {
        const int64_t ww = q * p.sw - p.pw + s * p.dw;
        if (ww < 0 || ww >= p.W) continue;
        acc += cuda::convert<A>(x[n * p.xs[0] + c * p.xs[1] + h * p.xs[2] + ww * p.xs[3]]) *
               cuda::convert<A>(w[(c * p.R + r) * p.S + s]);
      }
    }
    y[n * ys.s[0] + c * ys.s[1] + pp * ys.s[2] + q * ys.s[3]] = cuda::convert<T>(acc);
  }
}

// dx (N, C, H, W) contiguous from dy (N, C, P, Q) contiguous: each dx element gathers the dy
// entries whose window covers it (no atomics); bias (C, may be null) added per channel.
template <typename T> __global__ void dw_backward_input_kernel(ConvParams p, const T* dy, Strides4 ys, const T* w,
                                                              const T* bias, T* dx, int64_t total) {
  using A = cuda::acc_t<T>;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ww = i % p.W, h = i / p.W % p.H, nc = i / (p.W * p.H), c = nc % p.C, n = nc / p.C;
    A acc = bias ? cuda::convert<A>(bias[c]) : A(0);
    for (int64_t r = 0; r < p.R; r++) {
      const int64_t th = h + p.ph - r * p.dh;
      if (th < 0 || th % p.sh != 0 || th / p.sh >= p.P) continue;
      for (int64_t s = 0; s < p.S; s++) {
        const int64_t tw = ww + p.pw - s * p.dw;
        if (tw < 0 || tw % p.sw != 0 || tw / p.sw >= p.Q) continue;
        acc += cuda::convert<A>(dy[n * ys.s[0] + c * ys.s[1] + th / p.sh * ys.s[2] + tw / p.sw * ys.s[3]]) *
               cuda::convert<A>(w[(c * p.R + r) * p.S + s]);
      }
    }
    dx[i] = cuda::convert<T>(acc);
  }
}

// dw (C, 1, R, S): block b reduces tap b = (c, r, s) over every (n, p, q) in a fixed order.
template <typename T>
__global__ void dw_backward_weight_kernel(ConvParams p, const T* dy, Strides4 ys, const T* x, T* dw) {
  using A = cuda::acc_t<T>;
  __shared__ A scratch[32];
  const int64_t taps = p.C * p.R * p.S, PQ = p.P * p.Q, total = p.N * PQ;
  for (int64_t b = blockIdx.x; b < taps; b += gridDim.x) {  // uniform per block: barriers are safe
    const int64_t s = b % p.S, r = b / p.S % p.R, c = b / (p.R * p.S);
    A acc = A(0);
    for (int64_t i = threadIdx.x; i < total; i += blockDim.x) {
      const int64_t n = i / PQ, pq = i % PQ, oh = pq / p.Q, ow = pq % p.Q, h = oh * p.sh - p.ph + r * p.dh,
                    ww = ow * p.sw - p.pw + s * p.dw;
      if (h < 0 || h >= p.H || ww < 0 || ww >= p.W) continue;
      acc += cuda::convert<A>(dy[n * ys.s[0] + c * ys.s[1] + oh * ys.s[2] + ow * ys.s[3]]) *
             cuda::convert<A>(x[n * p.xs[0] + c * p.xs[1] + h * p.xs[2] + ww * p.xs[3]]);
    }
    acc = cuda::block_reduce(acc, cuda::SumOp{}, scratch);
    if (threadIdx.x == 0) dw[b] = cuda::convert<T>(acc);
  }
}

bool depthwise(const ConvParams& p) { return p.G > 1 && p.G == p.C && p.G == p.K; }

// float16/bfloat16 always, float32 when TF32 is allowed: the tensor-core kernels (any geometry)
bool use_tc(DType t) { return t == DType::Float16 || t == DType::BFloat16 || (t == DType::Float32 && conv_allow_tf32()); }

// Runs f.template operator()<T>() for float32 / float64.
template <typename F> void dispatch(DType t, const char* op, F f) {
  if (t == DType::Float32) f(float{});
  else if (t == DType::Float64) f(double{});
  else throw_dtype_error(op, t);
}

}  // namespace

void conv2d_forward_cuda(const ConvParams& p, const void* x, const void* w, const void* b, void* y,
                         const int64_t* ys, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (depthwise(p)) {
    const int64_t total = p.N * p.K * p.P * p.Q;
    if (total == 0) return;
    const bool c_fast = p.xs[1] == 1 && p.C > 1;
    PYML_CUDA_DISPATCH_FLOAT(t, "conv2d", [&] {
      dw_forward_kernel<scalar_t><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
          p, static_cast<const scalar_t*>(x), static_cast<const scalar_t*>(w), static_cast<const scalar_t*>(b),
          static_cast<scalar_t*>(y), Strides4{{ys[0], ys[1], ys[2], ys[3]}}, total, c_fast);
      PYML_CUDA_LAUNCH_CHECK("conv2d");
    });
    return;
  }
  if (use_tc(t)) return cuda::conv2d_tc_forward(p, x, w, b, y, ys, t, index);
  dispatch(t, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    Geom q = make_geom(p, ys, "conv2d");
    FwdProblem<T> pr{q.Kg, p.N * q.PQ, true, true, q, static_cast<const T*>(x), static_cast<const T*>(w),
                     static_cast<const T*>(b), static_cast<T*>(y)};
    cuda::conv_gemm_launch<T>(pr, p.G, q.CgRS, q.CgRS, 1, index, "conv2d");
  });
}

void conv2d_backward_input_cuda(const ConvParams& p, const void* dy, const int64_t* dys, const void* w,
                                const void* bias, void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (depthwise(p)) {
    const int64_t total = p.N * p.C * p.H * p.W;
    if (total == 0) return;
    PYML_CUDA_DISPATCH_FLOAT(t, "conv2d backward (input)", [&] {
      dw_backward_input_kernel<scalar_t><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
          p, static_cast<const scalar_t*>(dy), Strides4{{dys[0], dys[1], dys[2], dys[3]}},
          static_cast<const scalar_t*>(w), static_cast<const scalar_t*>(bias), static_cast<scalar_t*>(dx), total);
      PYML_CUDA_LAUNCH_CHECK("conv2d backward (input)");
    });
    return;
  }
  if (use_tc(t)) return cuda::conv2d_tc_backward_input(p, dy, dys, w, bias, dx, t, index);
  dispatch(t, "conv2d backward (input)", [&](auto tag) {
    using T = decltype(tag);
    Geom q = make_geom(p, dys, "conv2d backward (input)");
    BwdInputProblem<T> pr{q.Cg, p.N * q.HW, true, true, q, static_cast<const T*>(dy), static_cast<const T*>(w),
                          static_cast<const T*>(bias), static_cast<T*>(dx)};
    int64_t Kd = q.Kg * q.RS;
    cuda::conv_gemm_launch<T>(pr, p.G, Kd, Kd, 1, index, "conv2d backward (input)");
  });
}

void conv2d_backward_weight_cuda(const ConvParams& p, const void* dy, const int64_t* dys, const void* x, void* dw,
                                 DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (depthwise(p)) {
    const int64_t taps = p.C * p.R * p.S;
    if (taps == 0) return;
    PYML_CUDA_DISPATCH_FLOAT(t, "conv2d backward (weight)", [&] {
      dw_backward_weight_kernel<scalar_t><<<cuda::grid_for(taps * cuda::kThreads), cuda::kThreads, 0,
                                            cuda::stream(index)>>>(p, static_cast<const scalar_t*>(dy),
                                                                   Strides4{{dys[0], dys[1], dys[2], dys[3]}},
                                                                   static_cast<const scalar_t*>(x),
                                                                   static_cast<scalar_t*>(dw));
      PYML_CUDA_LAUNCH_CHECK("conv2d backward (weight)");
    });
    return;
  }
  if (use_tc(t)) return cuda::conv2d_tc_backward_weight(p, dy, dys, x, dw, t, index);
  dispatch(t, "conv2d backward (weight)", [&](auto tag) {
    using T = decltype(tag);
    backward_weight<T>(p, static_cast<const T*>(dy), dys, static_cast<const T*>(x), static_cast<T*>(dw), index);
  });
}

void unfold_cuda(const ConvParams& p, const void* x, void* cols, DType t, int index) {
  const int64_t total = p.N * p.C * p.R * p.S * p.P * p.Q;
  if (total == 0) return;
  cuda::DeviceGuard guard(index);
  dispatch(t, "unfold", [&](auto tag) {
    using T = decltype(tag);
    unfold_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(x), static_cast<T*>(cols), total);
    PYML_CUDA_LAUNCH_CHECK("unfold");
  });
}

void fold_cuda(const ConvParams& p, const void* cols, void* dx, DType t, int index) {
  const int64_t total = p.N * p.C * p.H * p.W;
  if (total == 0) return;
  cuda::DeviceGuard guard(index);
  dispatch(t, "fold", [&](auto tag) {
    using T = decltype(tag);
    fold_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(
        p, static_cast<const T*>(cols), static_cast<T*>(dx), total);
    PYML_CUDA_LAUNCH_CHECK("fold");
  });
}

}  // namespace pyml
