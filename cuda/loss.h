// Launchers of cuda/loss.cu (the fused cross-entropy), callable from ops/loss.cpp (stubs that
// raise without CUDA). Same CrossEntropyParams as the CPU kernels: float32/float64 contiguous device
// pointers, class indices already checked. Reductions happen on the device (no host reads).
#pragma once
#include "core/device.h"
#include "ops/norm.h"

namespace pyml {
// loss_rows (N*S,) and p.lse written; reduced (0-dim, p.dtype) = the mean (reduction 1) or the sum
// (reduction 2) of the row losses; denom (0-dim float64) = the mean's divisor.
PYML_CUDA_FN(void cross_entropy_forward_cuda(const CrossEntropyParams& p, void* loss_rows, int64_t reduction,
                                             void* reduced, double* denom, int index))
// dloss_rows (N*S,) p.dtype, or null: then every row's gradient is scale_num[0] / scale_den[0]
// (scale_den null: 1), both float64 device scalars. dx, dprob may be null.
PYML_CUDA_FN(void cross_entropy_backward_cuda(const CrossEntropyParams& p, const void* dloss_rows,
                                              const double* scale_num, const double* scale_den, void* dx,
                                              void* dprob, int index))
}  // namespace pyml
