// Discrete Fourier transforms: the engine computes complex-to-complex transforms only; real input
// (rfft), Hermitian output (irfft, hfft), lengths (n, s), norms and shifts are composed in Python
// (pyml/fft.py) from this op and real/complex views.
#pragma once
#include <vector>
#include "core/tensor.h"

namespace pyml {

// y = scale * DFT_dims(x): x complex of any strides; the 1-D transform runs along each dim of
// `dims` in turn with exp(-2 pi i jk/n) (exp(+...) when inverse). y is contiguous.
Tensor fft_c2c(const Tensor& x, const std::vector<int64_t>& dims, bool inverse, double scale);

// Kernel contract (CPU and CUDA): data holds `outer` blocks of n * inner complex values (real
// dtype float32/float64, interleaved pairs), contiguous; the transform runs in place along the
// middle axis of each block and multiplies by scale.
void fft_lines_cpu(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale);

}  // namespace pyml
