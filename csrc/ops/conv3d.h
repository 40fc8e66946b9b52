// Volumetric (3-D) convolution and pooling: their params and CPU kernels. The host entries are the
// N-d ones of ops/conv.h (ops/conv.cpp, ops/pool.cpp), which route 3 spatial dims here. Layouts
// are NCDHW. Letters: D H W input, T R S filter or window (depth, height, width), O P Q output;
// sd/sh/sw strides, pd/ph/pw front/top/left paddings, dd/dh/dw dilations.
// The kernels are general paths (vol2col + the engine GEMM on the CPU, an implicit GEMM on CUDA;
// plain window loops for pooling); the 1-D/2-D fast paths never see these params.
#pragma once
#include "ops/conv.h"

namespace pyml {

// ------------------------------------------------------------------------------ convolution
// One grouped 3-D convolution y = x (*) w: x (N, C, D, H, W) through strides xs (elements),
// w (K, C/G, T, R, S) contiguous, y (N, K, O, P, Q) contiguous. The back/bottom/right paddings
// only shape O, P and Q, which the host computes.
struct Conv3dParams {
  int64_t N, C, D, H, W, K, T, R, S, O, P, Q, G;
  int64_t sd, sh, sw, pd, ph, pw, dd, dh, dw;
  int64_t xs[5];  // strides of x (elements); dx/dy are always contiguous
};

// T here is float or double. y/dx/dw contiguous and overwritten (need not be initialised); b may be null.
template <typename T> void conv3d_forward_cpu(const Conv3dParams& p, const T* x, const T* w, const T* b, T* y);
// dx (N, C, D, H, W) from dy (N, K, O, P, Q) contiguous
template <typename T> void conv3d_backward_input_cpu(const Conv3dParams& p, const T* dy, const T* w, T* dx);
// dw (K, C/G, T, R, S) from dy contiguous and x through p.xs
template <typename T> void conv3d_backward_weight_cpu(const Conv3dParams& p, const T* dy, const T* x, T* dw);

// ------------------------------------------------------------------------------ pooling
// Windows of a pooling op on planes (N*C of them) of D x H x W, read through strides (n, c, d, h, w);
// outputs O x P x Q per plane, contiguous. Adaptive pooling uses only the sizes.
struct Pool3dParams {
  int64_t planes, C, D, H, W, O, P, Q, T, R, S;
  int64_t sd, sh, sw, pd, ph, pw, dd, dh, dw;
  int64_t xs_n, xs_c, xs_d, xs_h, xs_w;
  bool count_include_pad;
  int64_t divisor;  // 0: none
};

// Kernels (cpu/pool3d.cpp): x through p's strides; y, idx, dy, dx (planes, ...) contiguous. Max
// pooling follows the 2-D kernels: the max starts at the lowest value with its index at the
// window's first valid element, NaN wins; idx holds flat d*H*W + h*W + w positions in each plane
// and may be null (values only). Backward kernels write every element of dx.
template <typename T> void max_pool3d_cpu(const Pool3dParams& p, const T* x, T* y, int64_t* idx);
template <typename T> void avg_pool3d_cpu(const Pool3dParams& p, const T* x, T* y);
template <typename T> void avg_pool3d_backward_cpu(const Pool3dParams& p, const T* dy, T* dx);
template <typename T> void adaptive_avg_pool3d_cpu(const Pool3dParams& p, const T* x, T* y);
template <typename T> void adaptive_avg_pool3d_backward_cpu(const Pool3dParams& p, const T* dy, T* dx);
template <typename T> void adaptive_max_pool3d_cpu(const Pool3dParams& p, const T* x, T* y, int64_t* idx);

}  // namespace pyml
