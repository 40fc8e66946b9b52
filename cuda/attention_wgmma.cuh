// Hopper flash-attention forward of cuda/attention_wgmma.cu (TMA + wgmma, sm_90a), tried by
// sdpa_forward_cuda (cuda/attention.cu) before the mma.sync kernel of cuda/attention_tc.cu.
#pragma once
#include "attention.h"
#include "cuda_common.cuh"

namespace pyml {
// out (nb, L, D) and lse (nb, L) float32 as sdpa_forward_tc writes them, on a compute-capability 9.x
// device. Returns false, launching nothing, where it does not apply: a dtype other than
// float16/bfloat16, E != Ev or a head dim other than 64 and 128, a mask, an empty problem, an
// operand (q, k, v) whose last dim is not stride 1 or whose rows are not 16-byte aligned, more than
// one (merged) batch dim, sizes past TMA's limits, or another device.
bool sdpa_forward_wgmma(const SdpaCudaParams& p, DType t, cudaStream_t s);
}  // namespace pyml
