// Launchers of cuda/norm.cu (batch_norm, layer_norm/rms_norm, group_norm), callable from the host
// ops (stubs that raise without CUDA). They take the same *Params as the CPU kernels (ops/norm.h):
// float32/float64 contiguous device pointers, double statistics, already validated.
#pragma once
#include "core/device.h"
#include "ops/norm.h"

namespace pyml {
// Training: writes mean/invstd/var (C,) then y. Eval: reads mean/invstd (C,) then writes y.
PYML_CUDA_FN(void batch_norm_forward_cuda(const BatchNormParams& p, int index))
// dw, db: (C,) always written; dx may be null
PYML_CUDA_FN(void batch_norm_backward_cuda(const BatchNormParams& p, const void* dy, void* dx, void* dw, void* db,
                                           int index))
// invstd[c] = 1 / sqrt(var[c] + eps) for the eval statistics (var: float64 (C,) on the device)
PYML_CUDA_FN(void batch_norm_invstd_cuda(const double* var, double eps, double* invstd, int64_t C, int index))
// running[c] = (1 - momentum) * running[c] + momentum * factor * stat[c], all float64 (C,)
PYML_CUDA_FN(void batch_norm_update_running_cuda(double* running, const double* stat, double momentum,
                                                 double factor, int64_t C, int index))
PYML_CUDA_FN(void layer_norm_forward_cuda(const RowNormParams& p, int index))
// dx, dw, db may each be null
PYML_CUDA_FN(void layer_norm_backward_cuda(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db,
                                           int index))
PYML_CUDA_FN(void group_norm_forward_cuda(const RowNormParams& p, int index))
PYML_CUDA_FN(void group_norm_backward_cuda(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db,
                                           int index))
}  // namespace pyml
