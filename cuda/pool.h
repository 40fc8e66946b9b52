// Launchers of cuda/pool.cu, callable from the host ops (stubs that raise without CUDA).
// Geometry in PoolParams (ops/conv.h): x (planes, H, W) read through its strides; outputs,
// gradients and indices contiguous (planes, ...). Max/avg/adaptive pooling forward and backward
// take float16/bfloat16 (compared and summed in float), float32 and float64, and the max/avg
// forwards also uint8/int8/int16/int32/int64; the index ops (max_pool_backward_cuda, max_unpool)
// take float32/float64 (the host computes the half types in float32, as on the CPU).
#pragma once
#include "core/device.h"
#include "ops/conv.h"

namespace pyml {
// y, idx (planes, P*Q): window max (NaN wins) and its flat h*W + w position in the plane; idx may
// be null (an input that needs no gradient): then no index is computed or written
PYML_CUDA_FN(void max_pool_forward_cuda(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t,
                                        int index))
PYML_CUDA_FN(void avg_pool_forward_cuda(const PoolParams& p, const void* x, void* y, DType t, int index))
// dy (planes, P*Q) -> dx (planes, H*W), every element written
PYML_CUDA_FN(void avg_pool_backward_cuda(const PoolParams& p, const void* dy, void* dx, DType t, int index))
PYML_CUDA_FN(void adaptive_avg_pool_forward_cuda(const PoolParams& p, const void* x, void* y, DType t, int index))
PYML_CUDA_FN(void adaptive_avg_pool_backward_cuda(const PoolParams& p, const void* dy, void* dx, DType t,
                                                  int index))
PYML_CUDA_FN(void adaptive_max_pool_forward_cuda(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t,
                                                 int index))
// dy, idx (planes, P*Q), idx from max_pool_forward_cuda with p's geometry -> dx (planes, H*W):
// a gather (every element written once, no atomics, same sums in the same order as the CPU scatter);
// indices are trusted (they come from the forward), unlike max_pool_backward_cuda's
PYML_CUDA_FN(void max_pool_backward_gather_cuda(const PoolParams& p, const void* dy, const int64_t* idx, void* dx,
                                                DType t, int index))
// The index ops return the flat position in idx of the first index outside its plane, or -1
// (one small device-to-host copy; the outputs are then incomplete and the caller raises).
// dx (planes, in_n) = 0, then dx[plane][idx] += dy: the backward of every max pooling
PYML_CUDA_FN(int64_t max_pool_backward_cuda(int64_t planes, int64_t in_n, int64_t out_n, const void* dy,
                                            const int64_t* idx, void* dx, DType t, int index))
// y (planes, out_n) = 0, then y[plane][idx] = x (planes, in_n); of duplicates the last one wins
PYML_CUDA_FN(int64_t max_unpool_forward_cuda(int64_t planes, int64_t out_n, int64_t in_n, const void* x,
                                             const int64_t* idx, void* y, DType t, int index))
// dx (planes, n) = dy (planes, dy_n) gathered at idx (planes, n)
PYML_CUDA_FN(int64_t max_unpool_backward_cuda(int64_t planes, int64_t dy_n, int64_t n, const void* dy,
                                              const int64_t* idx, void* dx, DType t, int index))
}  // namespace pyml
