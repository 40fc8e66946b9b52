// Hopper GEMM of cuda/gemm_wgmma.cu (TMA + wgmma, sm_90a), tried by gemm_cuda (cuda/matmul.cu)
// before the mma.sync kernel of cuda/gemm_tc.cu.
#pragma once
#include "cuda_common.cuh"
#include "cpu/kernels.h"
#include "cuda/batch_index.h"

namespace pyml {
namespace cuda {
// C[b] = alpha * A[b] @ B[b] + beta * C[b] for float16/bfloat16 on a compute-capability 9.x device.
// Returns false, launching nothing, where it does not apply: another dtype or device, an operand
// without a stride-1 dim, rows or base pointers off 16-byte alignment, K == 0, more than one
// (merged) batch dim, sizes past TMA's limits. C's strides are free.
bool gemm_wgmma_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, cudaStream_t s);
}  // namespace cuda
}  // namespace pyml
