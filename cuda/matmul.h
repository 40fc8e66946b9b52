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
// float16/bfloat16 (and float32 when TF32 is allowed) run on tensor cores where the operands allow.
PYML_CUDA_FN(void gemm_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, int index))

// Whether float32 products on CUDA may use TF32 tensor cores (pyml.backends.cuda.matmul.allow_tf32,
// default off); gemm_cuda reads it at each call, the CPU kernels ignore it. Defined in ops/linalg.cpp.
void set_matmul_allow_tf32(bool on);
bool matmul_allow_tf32();
}  // namespace pyml
