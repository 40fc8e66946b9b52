// Launchers of cuda/pool3d.cu, callable from the host ops (stubs that raise without CUDA).
// Geometry in Pool3dParams (ops/conv3d.h): x (planes, D, H, W) read through its strides; outputs,
// gradients and indices contiguous (planes, ...). Max/avg/adaptive pooling take float32 and float64
// (the host computes float16/bfloat16 in float32), the max/avg forwards also uint8/int8/int16/int32/int64.
#pragma once
#include "core/device.h"
#include "ops/conv3d.h"

namespace pyml {
// y, idx (planes, O*P*Q): window max (NaN wins) and its flat d*H*W + h*W + w position in the plane;
// idx may be null (no index computed)
PYML_CUDA_FN(void max_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, int64_t* idx, DType t,
                                          int index))
PYML_CUDA_FN(void avg_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, DType t, int index))
// dy (planes, O*P*Q) -> dx (planes, D*H*W), every element written
PYML_CUDA_FN(void avg_pool3d_backward_cuda(const Pool3dParams& p, const void* dy, void* dx, DType t, int index))
PYML_CUDA_FN(void adaptive_avg_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, DType t,
                                                   int index))
PYML_CUDA_FN(void adaptive_avg_pool3d_backward_cuda(const Pool3dParams& p, const void* dy, void* dx, DType t,
                                                    int index))
PYML_CUDA_FN(void adaptive_max_pool3d_forward_cuda(const Pool3dParams& p, const void* x, void* y, int64_t* idx,
                                                   DType t, int index))
// dy, idx (planes, O*P*Q), idx from max_pool3d_forward_cuda with p's geometry -> dx (planes, D*H*W):
// a gather (every element written once, no atomics, the CPU scatter's sums in its order); indices
// are trusted (they come from the forward)
PYML_CUDA_FN(void max_pool3d_backward_gather_cuda(const Pool3dParams& p, const void* dy, const int64_t* idx,
                                                  void* dx, DType t, int index))
}  // namespace pyml
