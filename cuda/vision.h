// Launchers of cuda/vision.cu (upsampling, the separable resampler and grid_sample), called by
// csrc/ops/vision.cpp after validation; stubs that raise without CUDA. Operands are contiguous in the
// compute dtype `ct` (float32 or float64: the host casts half types like the CPU path), on device `index`.
#pragma once
#include "core/device.h"
#include "ops/conv.h"
#include "ops/resample.h"

namespace pyml {
// x (planes, H, W) -> y (planes, P, Q)
PYML_CUDA_FN(void upsample_cuda(const ResampleParams& p, DType ct, const void* x, void* y, int index))
// dy (planes, P, Q) -> dx (planes, H, W), dx zero-filled by the caller
PYML_CUDA_FN(void upsample_backward_cuda(const ResampleParams& p, DType ct, const void* dy, void* dx, int index))
// x (planes, D, H, W) -> y (planes, OD, P, Q)
PYML_CUDA_FN(void resample_cuda(const ResampleNdParams& p, DType ct, const void* x, void* y, int index))
// dy (planes, OD, P, Q) -> dx (planes, D, H, W), dx zero-filled by the caller
PYML_CUDA_FN(void resample_backward_cuda(const ResampleNdParams& p, DType ct, const void* dy, void* dx, int index))
// x (N, C, H, W), grid (N, P, Q, 2) -> y (N, C, P, Q)
PYML_CUDA_FN(void grid_sample_cuda(const GridSampleParams& p, DType ct, const void* x, const void* grid, void* y,
                                   int index))
// dx zero-filled by the caller (may be null), dgrid overwritten (may be null)
PYML_CUDA_FN(void grid_sample_backward_cuda(const GridSampleParams& p, DType ct, const void* dy, const void* x,
                                            const void* grid, void* dx, void* dgrid, int index))
}  // namespace pyml
