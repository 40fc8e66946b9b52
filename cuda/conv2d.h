// Launchers of cuda/conv2d.cu, callable from the host ops (stubs that raise without CUDA).
// Layouts as in ops/conv.h: x (N, C, H, W) through p.xs (NCHW or channels_last alike),
// w (K, C/G, R, S), y/dy (N, K, P, Q) through their strides, dx (N, C, H, W) contiguous. t is any floating
// dtype: float16/bfloat16 stay as they are on CUDA (tensor cores, fp32 accumulation).
#pragma once
#include "core/device.h"
#include "ops/conv.h"

namespace pyml {
// Whether float32 convolutions on CUDA may run on TF32 tensor cores (pyml.backends.cudnn.allow_tf32,
// defined in ops/conv.cpp; read at every call)
void set_conv_allow_tf32(bool on);
bool conv_allow_tf32();
// y = conv(x, w) (+ b per output channel; b may be null); y written through its strides ys
// (n, k, p, q): NCHW or channels_last
PYML_CUDA_FN(void conv2d_forward_cuda(const ConvParams& p, const void* x, const void* w, const void* b, void* y,
                                      const int64_t* ys, DType t, int index))
// dx = the conv's adjoint applied to dy (every element written, no zero-fill needed); bias (C
// values, may be null) is added per channel of dx: conv_transpose's forward with its bias. dy is
// read through its strides dys (n, k, p, q): any, stride 0 too.
PYML_CUDA_FN(void conv2d_backward_input_cuda(const ConvParams& p, const void* dy, const int64_t* dys, const void* w,
                                             const void* bias, void* dx, DType t, int index))
// dw (K, C/G, R, S) overwritten; x through p.xs, dy through dys
PYML_CUDA_FN(void conv2d_backward_weight_cuda(const ConvParams& p, const void* dy, const int64_t* dys, const void* x,
                                              void* dw, DType t, int index))
// unfold: cols (N, C*R*S, P*Q) from x through p.xs; fold: dx (N, C, H, W) = the sum of cols'
// overlapping blocks (every element written). p.G = 1.
PYML_CUDA_FN(void unfold_cuda(const ConvParams& p, const void* x, void* cols, DType t, int index))
PYML_CUDA_FN(void fold_cuda(const ConvParams& p, const void* cols, void* dx, DType t, int index))
}  // namespace pyml
