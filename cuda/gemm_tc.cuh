// Tensor-core GEMM of cuda/gemm_tc.cu, called by gemm_cuda (cuda/matmul.cu) before its SIMT kernels.
#pragma once
#include "cuda_common.cuh"
#include "cpu/kernels.h"
#include "cuda/batch_index.h"

namespace pyml {
namespace cuda {
// C[b] = alpha * A[b] @ B[b] + beta * C[b] on tensor cores (float16/bfloat16 as they are; float32
// as TF32 when tf32 is true, else not handled). Returns false, launching nothing, where the fast
// path does not apply: another dtype, an operand without a stride-1 dim, a pointer or a stride that
// leaves rows off 16-byte alignment. M, N, K, C's strides and the batch are free.
bool gemm_tc_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, bool tf32, cudaStream_t s);
}  // namespace cuda
}  // namespace pyml
