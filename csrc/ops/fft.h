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

// The radices of a transform of n points, in the order the kernels apply them: 4s, then 2, then the
// odd primes ascending (a single remaining prime may be large: the kernels send it to Bluestein).
inline std::vector<int64_t> fft_radices(int64_t n) {
  std::vector<int64_t> f;
  for (; n % 4 == 0; n /= 4) f.push_back(4);
  for (; n % 2 == 0; n /= 2) f.push_back(2);
  for (int64_t p = 3; p * p <= n; p += 2)
    for (; n % p == 0; n /= p) f.push_back(p);
  if (n > 1) f.push_back(n);
  return f;
}

// Kernel contract (CPU and CUDA): data holds `outer` blocks of n * inner complex values (real
// dtype float32/float64, interleaved pairs), contiguous; the transform runs in place along the
// middle axis of each block and multiplies by scale.
void fft_lines_cpu(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale);

}  // namespace pyml
