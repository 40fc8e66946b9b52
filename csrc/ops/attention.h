// Scaled dot-product attention as one fused op: host entries (ops/attention.cpp) and the interface
// of the CPU kernels (cpu/attention.cpp).
// q: (batch..., L, E), k: (batch..., S, E), v: (batch..., S, Ev) -> out (batch..., L, Ev) and the
// logsumexp of every score row, lse (batch..., L); batch dims broadcast between q, k, v and the
// mask (bool: true takes part; float: added to the scores), which broadcasts to (batch..., L, S).
// The forward never holds more than a tile of scores; the backward recomputes them from lse.
#pragma once
#include <optional>
#include <tuple>
#include <vector>
#include "ops/ops.h"

namespace pyml {

enum class MaskKind : int { None = 0, Bool = 1, Additive = 2 };

// One operand as the kernels read it: matrix b lives at data + off[b] (elements), rows rs apart,
// columns cs apart (any strides: broadcast batch dims are offsets, never copies).
struct AttnOperand {
  const void* data = nullptr;
  const int64_t* off = nullptr;
  int64_t rs = 0, cs = 0;
};

// Validated geometry; pointers of the compute dtype (float32 or float64) unless noted.
struct SdpaParams {
  int64_t nb = 0, L = 0, S = 0, E = 0, Ev = 0;  // nb: number of (broadcast) batch matrices
  double scale = 1.0;
  bool causal = false;                           // key j takes part for query i when j <= i
  MaskKind mask_kind = MaskKind::None;
  AttnOperand q, k, v, mask, dout;               // mask: bool bytes or compute-dtype values
  void* out = nullptr;                           // (nb, L, Ev) contiguous
  void* lse = nullptr;                           // (nb, L) contiguous; +inf for fully masked rows
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;  // (nb, L, E), (nb, S, E), (nb, S, Ev), zeroed
};

// Host entries. Return (out, lse) and (dq, dk, dv) in the broadcast batch shape; a gradient not
// asked for is returned undefined (None in Python).
std::pair<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const std::optional<Tensor>& mask, bool causal, double scale);
std::tuple<std::optional<Tensor>, std::optional<Tensor>, std::optional<Tensor>> sdpa_backward(
    const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
    const Tensor& out, const Tensor& lse, bool causal, double scale, bool need_dq, bool need_dk, bool need_dv);

// The checks of sdpa_forward alone (the composite dropout path validates with it).
void sdpa_check(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask, bool causal);

// CPU kernels (cpu/attention.cpp); dtype is Float32 or Float64.
void sdpa_forward_cpu(const SdpaParams& p, DType dtype);
void sdpa_backward_cpu(const SdpaParams& p, DType dtype);

}  // namespace pyml
