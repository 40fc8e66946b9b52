// Tensor-core flash attention of cuda/attention_tc.cu, tried by cuda/attention.cu before its SIMT
// kernels. Each returns false, launching nothing, where it does not apply: a dtype other than
// float16/bfloat16, E != Ev, a head dim other than 64 or 128, an empty problem, or an operand
// (q, k, v, and dout in backward) whose last dim is not stride 1 or whose rows are not 16-byte
// aligned in every batch matrix (pointer, row stride and batch strides multiples of 8 elements).
#pragma once
#include "attention.h"
#include "cuda_common.cuh"

namespace pyml {
bool sdpa_forward_tc(const SdpaCudaParams& p, DType t, cudaStream_t s);
bool sdpa_backward_tc(const SdpaCudaParams& p, DType t, int index, cudaStream_t s);
}  // namespace pyml
