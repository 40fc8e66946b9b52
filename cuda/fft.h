// Launcher of cuda/fft.cu: in-place complex FFTs along the middle axis of contiguous (outer, n,
// inner) blocks of (re, im) pairs of `real` (float32/float64), times scale. Stub raises without CUDA.
#pragma once
#include "core/device.h"
#include "core/dtype.h"

namespace pyml {
PYML_CUDA_FN(void fft_lines_cuda(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse,
                                 double scale, int index))
}  // namespace pyml
