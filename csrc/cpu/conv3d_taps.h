// Float32 3-D convolutions without a vol2col buffer (conv3d_taps.cpp): every filter tap is a
// shifted view of a few phase planes of the input, read in place by the AVX-512 tap GEMM of the
// 2-D phase path (wino::TileKernels::gemm_taps / grad_gemm_taps). Serves undilated, ungrouped
// convs with more than one tap and at least 16 input and output channels on CPUs that have that
// kernel; the vol2col path of conv3d.cpp stays the reference and serves everything else.
#pragma once
#include "ops/conv3d.h"

namespace pyml {
namespace conv3d_taps {

bool use(const Conv3dParams& p);             // forward and grad weight (float32 callers only)
bool use_backward_input(const Conv3dParams& p);  // grad input (any stride and padding)
// Same contracts as conv3d_forward_cpu / conv3d_backward_input_cpu / conv3d_backward_weight_cpu.
void forward(const Conv3dParams& p, const float* x, const float* w, const float* b, float* y);
void backward_input(const Conv3dParams& p, const float* dy, const float* w, float* dx);
void backward_weight(const Conv3dParams& p, const float* dy, const float* x, float* dw);

}  // namespace conv3d_taps
}  // namespace pyml
