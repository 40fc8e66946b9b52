// Launchers of cuda/attention.cu, callable from the host ops (stubs that raise without CUDA).
#pragma once
#include "core/device.h"
#include "core/dtype.h"
#include "cuda/batch_index.h"
#include "ops/attention.h"

namespace pyml {

// Scaled dot-product attention on one device. Operands (T = the dtype passed to the launchers)
// are read through their strides; the batch offsets of (q, k, v, mask, dout) come from bi, so
// broadcast batch dims are never copied. Outputs are contiguous over the nb = bi.count matrices.
struct SdpaCudaParams {
  int64_t L = 0, S = 0, E = 0, Ev = 0;
  double scale = 1.0;
  bool causal = false;
  MaskKind mask_kind = MaskKind::None;
  struct View { const void* data = nullptr; int64_t rs = 0, cs = 0; };
  View q, k, v, mask, dout;  // mask: bool bytes, or additive values in float32 (float64 when T is)
  BatchIndex<5> bi;
  void* out = nullptr;       // forward: written (nb, L, Ev) T; backward: read
  void* lse = nullptr;       // (nb, L) float32 (float64 when T is); +inf where no key takes part
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;  // (nb, L, E), (nb, S, E), (nb, S, Ev) T; null: skip
};

// t: float16, bfloat16, float32 (all accumulate in float32) or float64
PYML_CUDA_FN(void sdpa_forward_cuda(const SdpaCudaParams& p, DType t, int index))
// every requested gradient is written in full (no zero-fill needed)
PYML_CUDA_FN(void sdpa_backward_cuda(const SdpaCudaParams& p, DType t, int index))

}  // namespace pyml
