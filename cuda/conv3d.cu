// Grouped 3-D convolution on CUDA as implicit GEMM, the 2-D kernels' scheme (cuda/conv2d.cu) with
// a depth dim: the three products run the tiled core of cuda/gemm_tile.cuh through
// cuda/conv_gemm.cuh, their operands indexing the input volume on the fly while staging shared
// memory (no vol2col buffer). Per group g, with taps k = (c, t, r, s) or (kk, t, r, s) flattened:
//   forward      y  (Kg x N*O*P*Q) = w_g (Kg x Cg*T*R*S) @ window(x)
//   grad input   dx (Cg x N*D*H*W) = w_g^T (Cg x Kg*T*R*S) @ gather(dy): each dx element reads the
//                dy entries whose window covers it (zero where none), written once, no atomics
//   grad weight  dw (Kg x Cg*T*R*S) = dy_g (Kg x N*O*P*Q) @ window(x)^T, its long reduction split
//                across blocks and summed in a fixed order
// A general path: float32/float64 (the host computes the half types in float32), x through any
// strides, y/dy/dx contiguous NCDHW; depthwise and tensor-core variants are left to the 2-D code.
#include "conv3d.h"
#include <climits>
#include "conv_gemm.cuh"

namespace pyml {
namespace {

// Geometry shared by the three problems. T*R*S and Cg*T*R*S fit in int (checked on the host), so
// the per-element tap decode is 32-bit division.
struct Geom3 {
  Conv3dParams p;
  int64_t Kg, Cg, OPQ, DHW;
  int TRS, RS, S, CgTRS;
  int64_t g = 0;  // the group a block is working on
};

// Tap k of a filter row: (c, t, r, s) with c the channel (or output channel) index
struct Tap3 {
  int c, t, r, s;
};
__device__ inline Tap3 tap_at(const Geom3& q, int k) {
  const int c = k / q.TRS, trs = k - c * q.TRS, t = trs / q.RS, rs = trs - t * q.RS, r = rs / q.S;
  return Tap3{c, t, r, rs - r * q.S};
}

// Position n of a flattened (img, a, b, e) index with inner sizes A x B x E: its four parts
struct Pos3 {
  int64_t img, a, b, e;
};
__device__ inline Pos3 pos_at(int64_t n, int64_t A, int64_t B, int64_t E) {
  const int64_t per = A * B * E, img = n / per, rem = n - img * per, a = rem / (B * E), be = rem - a * B * E;
  return Pos3{img, a, be / E, be - be / E * E};
}

// x at the input voxel tap (t, r, s) of output (o.a, o.b, o.e) reads in channel c; 0 in the padding
template <typename T>
__device__ inline T x_at(const Conv3dParams& p, const T* x, int64_t c, const Tap3& k, const Pos3& o) {
  const int64_t d = o.a * p.sd - p.pd + k.t * p.dd, h = o.b * p.sh - p.ph + k.r * p.dh;
  const int64_t w = o.e * p.sw - p.pw + k.s * p.dw;
  if (d < 0 || d >= p.D || h < 0 || h >= p.H || w < 0 || w >= p.W) return T(0);
  return x[o.img * p.xs[0] + c * p.xs[1] + d * p.xs[2] + h * p.xs[3] + w * p.xs[4]];
}

// forward: A = w_g (Kg, Cg*T*R*S) row-major; B(k = tap, n = (img, o, p, q)) = x window
template <typename T> struct FwdProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom3 q;
  const T *x, *w, *bias;
  T* y;
  __device__ T a(int64_t m, int64_t k) const { return w[(q.g * q.Kg + m) * q.CgTRS + k]; }
  __device__ T b(int64_t k, int64_t n) const {
    const Tap3 t = tap_at(q, (int)k);
    return x_at(q.p, x, q.g * q.Cg + t.c, t, pos_at(n, q.p.O, q.p.P, q.p.Q));
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t) const {
    const int64_t img = n / q.OPQ, k = q.g * q.Kg + m;
    y[(img * q.p.K + k) * q.OPQ + n - img * q.OPQ] = bias ? acc + bias[k] : acc;
  }
};

// One dim of grad input: the output o whose window puts tap t (dilation dil) on input i, or -1
__device__ inline int64_t source(int64_t i, int64_t pad, int64_t t, int64_t dil, int64_t s, int64_t n) {
  const int64_t v = i + pad - t * dil;
  if (v < 0 || v % s != 0 || v / s >= n) return -1;
  return v / s;
}

// grad input: A(m = c, k = (kk, t, r, s)) = w[g*Kg + kk, c, t, r, s]; B(k, n = (img, d, h, w)) = the
// dy entry whose window puts the tap on (d, h, w), or 0
template <typename T> struct BwdInputProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom3 q;
  const T *dy, *w, *bias;
  T* dx;
  __device__ T a(int64_t m, int64_t k) const {
    const int kk = (int)k / q.TRS;
    return w[((q.g * q.Kg + kk) * q.Cg + m) * q.TRS + (int)k - kk * q.TRS];
  }
  __device__ T b(int64_t k, int64_t n) const {
    const Conv3dParams& p = q.p;
    const Tap3 t = tap_at(q, (int)k);
    const Pos3 i = pos_at(n, p.D, p.H, p.W);
    const int64_t od = source(i.a, p.pd, t.t, p.dd, p.sd, p.O), oh = source(i.b, p.ph, t.r, p.dh, p.sh, p.P);
    const int64_t ow = source(i.e, p.pw, t.s, p.dw, p.sw, p.Q);
    if (od < 0 || oh < 0 || ow < 0) return T(0);
    return dy[(i.img * p.K + q.g * q.Kg + t.c) * q.OPQ + (od * p.P + oh) * p.Q + ow];
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t) const {
    const int64_t img = n / q.DHW, c = q.g * q.Cg + m;
    dx[(img * q.p.C + c) * q.DHW + n - img * q.DHW] = bias ? acc + bias[c] : acc;
  }
};

// grad weight: A(m = kk, k = (img, o, p, q)) = dy; B(k, n = tap) = x window. Split s of the
// reduction writes out[s] (K, Cg*T*R*S): dw itself when there is one split.
template <typename T> struct BwdWeightProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  Geom3 q;
  const T *dy, *x;
  T* out;
  __device__ T a(int64_t m, int64_t k) const {
    const int64_t img = k / q.OPQ;
    return dy[(img * q.p.K + q.g * q.Kg + m) * q.OPQ + k - img * q.OPQ];
  }
  __device__ T b(int64_t k, int64_t n) const {
    const Tap3 t = tap_at(q, (int)n);
    return x_at(q.p, x, q.g * q.Cg + t.c, t, pos_at(k, q.p.O, q.p.P, q.p.Q));
  }
  __device__ void store(int64_t m, int64_t n, T acc, int64_t split) const {
    out[(split * q.p.K + q.g * q.Kg + m) * q.CgTRS + n] = acc;
  }
};

Geom3 make_geom(const Conv3dParams& p, const char* op) {
  Geom3 q{p, p.K / p.G, p.C / p.G, p.O * p.P * p.Q, p.D * p.H * p.W, 0, 0, 0, 0};
  const int64_t trs = p.T * p.R * p.S;
  PYML_CHECK(q.Cg * trs < INT_MAX && q.Kg * trs < INT_MAX, RuntimeError, op, ": filters of ", q.Cg * trs, " or ",
             q.Kg * trs, " elements per output channel exceed the CUDA kernels' 32-bit index");
  q.TRS = (int)trs;
  q.RS = (int)(p.R * p.S);
  q.S = (int)p.S;
  q.CgTRS = (int)(q.Cg * trs);
  return q;
}

// Runs f(T{}) for float32 / float64.
template <typename F> void dispatch(DType t, const char* op, F f) {
  if (t == DType::Float32) f(float{});
  else if (t == DType::Float64) f(double{});
  else throw_dtype_error(op, t);
}

}  // namespace

void conv3d_forward_cuda(const Conv3dParams& p, const void* x, const void* w, const void* b, void* y, DType t,
                         int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "conv3d";
  dispatch(t, op, [&](auto tag) {
    using T = decltype(tag);
    Geom3 q = make_geom(p, op);
    FwdProblem<T> pr{q.Kg, p.N * q.OPQ, true, true, q, static_cast<const T*>(x), static_cast<const T*>(w),
                     static_cast<const T*>(b), static_cast<T*>(y)};
    cuda::conv_gemm_launch<T>(pr, p.G, q.CgTRS, q.CgTRS, 1, index, op);
  });
}

void conv3d_backward_input_cuda(const Conv3dParams& p, const void* dy, const void* w, const void* bias, void* dx,
                                DType t, int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "conv3d backward (input)";
  dispatch(t, op, [&](auto tag) {
    using T = decltype(tag);
    Geom3 q = make_geom(p, op);
    BwdInputProblem<T> pr{q.Cg, p.N * q.DHW, true, true, q, static_cast<const T*>(dy), static_cast<const T*>(w),
                          static_cast<const T*>(bias), static_cast<T*>(dx)};
    const int64_t Kd = q.Kg * q.TRS;
    cuda::conv_gemm_launch<T>(pr, p.G, Kd, Kd, 1, index, op);
  });
}

void conv3d_backward_weight_cuda(const Conv3dParams& p, const void* dy, const void* x, void* dw, DType t,
                                 int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "conv3d backward (weight)";
  dispatch(t, op, [&](auto tag) {
    using T = decltype(tag);
    Geom3 q = make_geom(p, op);
    BwdWeightProblem<T> pr{q.Kg, q.CgTRS, true, false, q, static_cast<const T*>(dy), static_cast<const T*>(x),
                           static_cast<T*>(dw)};
    cuda::conv_weight_gemm<T>(pr, p.G, p.N * q.OPQ, p.K * q.CgTRS, static_cast<T*>(dw), index, op);
  });
}

}  // namespace pyml
