// Strided float32 convolutions computed by phases (conv_phase.cpp): each filter tap is a shifted
// phase plane of the input read in place by one GEMM over all taps, instead of an im2col buffer.
// Serves stride >= 2, undilated, ungrouped convs with at least 16 input and output channels on
// CPUs with the AVX-512 tap GEMM (wino::TileKernels::gemm_taps).
#pragma once
#include "ops/conv.h"

namespace pyml {
namespace phase {

bool use(const ConvParams& p);  // whether this path serves the pass (float32 callers only)
// Same contracts as conv_forward_cpu / conv_backward_weight_cpu; backward_input writes every
// element of dx (it need not be zeroed).
void forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void backward_input(const ConvParams& p, const float* dy, const float* w, float* dx);
void backward_weight(const ConvParams& p, const float* dy, const float* x, float* dw);

}  // namespace phase
}  // namespace pyml
