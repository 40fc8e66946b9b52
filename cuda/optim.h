// Launcher of cuda/optim.cu: fused optimizer steps over many tensors per launch (stub that raises
// without CUDA). Pointers are device pointers of float32/float64 (`dtype`), contiguous, validated by
// ops/optim.cpp; state pointers are null where the algorithm or its options do not use them.
#pragma once
#include <vector>
#include "core/device.h"
#include "ops/optim.h"

namespace pyml {
struct OptimTensorPtrs {
  void* p;         // parameter (n,)
  const void* g;   // gradient (n,)
  void* s[3];      // state tensors as in optim_step_kernel, or null
  int64_t n;
};
PYML_CUDA_FN(void optim_step_cuda(const OptimStep& o, DType dtype, const std::vector<OptimTensorPtrs>& tensors,
                                  int index))
}  // namespace pyml
