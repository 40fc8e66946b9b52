// Launchers of cuda/matmul.cu, callable from the host ops (stubs that raise without CUDA).
#pragma once
#include "core/device.h"
#include "core/dtype.h"
#include "cpu/kernels.h"
#include "cuda/batch_index.h"

namespace pyml {
// For every batch matrix b: C[b] = alpha * A[b] @ B[b] + beta * C[b] (beta == 0: C is not read).
// g: the geometry of matrix 0 (strides in elements, any sign, 0 allowed; C must not overlap A or
// B); bi: offsets of (A, B, C) per batch matrix. Types: float16, bfloat16 (accumulate in float),
// float32, float64, and uint8/int8/int16/int32/int64 (wrapping 64-bit accumulation, like the CPU).
PYML_CUDA_FN(void gemm_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, int index))
}  // namespace pyml
