// Launchers of cuda/conv3d.cu, callable from the host ops (stubs that raise without CUDA).
// Layouts as in ops/conv3d.h: x (N, C, D, H, W) through p.xs, w (K, C/G, T, R, S) contiguous,
// y/dy (N, K, O, P, Q) and dx (N, C, D, H, W) contiguous. t is float32 or float64 (the host
// computes float16/bfloat16 in float32). Every output element is written (no zero-fill needed).
#pragma once
#include "core/device.h"
#include "ops/conv3d.h"

namespace pyml {
// y = conv3d(x, w) (+ b per output channel; b may be null)
PYML_CUDA_FN(void conv3d_forward_cuda(const Conv3dParams& p, const void* x, const void* w, const void* b, void* y,
                                      DType t, int index))
// dx = the conv's adjoint applied to dy, + bias per channel of dx (C values, may be null):
// conv_transpose3d's forward with its bias
PYML_CUDA_FN(void conv3d_backward_input_cuda(const Conv3dParams& p, const void* dy, const void* w, const void* bias,
                                             void* dx, DType t, int index))
// dw (K, C/G, T, R, S) from dy and x
PYML_CUDA_FN(void conv3d_backward_weight_cuda(const Conv3dParams& p, const void* dy, const void* x, void* dw, DType t,
                                              int index))
}  // namespace pyml
