// Launchers of cuda/fft.cu. fft_lines_cuda: in-place complex FFTs along the middle axis of
// contiguous (outer, n, inner) blocks of (re, im) pairs of `real` (float32/float64), times scale.
// fft_r2c_cuda / fft_c2r_cuda: the contracts of fft_r2c_cpu / fft_c2r_cpu (ops/fft.h), in and out
// distinct device buffers. Stubs raise without CUDA.
#pragma once
#include "core/device.h"
#include "core/dtype.h"

namespace pyml {
PYML_CUDA_FN(void fft_lines_cuda(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse,
                                 double scale, int index))
PYML_CUDA_FN(void fft_r2c_cuda(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner,
                               double scale, int index))
PYML_CUDA_FN(void fft_c2r_cuda(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner,
                               double scale, int index))
}  // namespace pyml
