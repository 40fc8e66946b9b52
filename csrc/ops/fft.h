// Discrete Fourier transforms: the engine computes complex-to-complex transforms along any dims and
// real-to-complex / complex-to-real transforms along one dim; lengths (n, s), norms, Hermitian
// inputs (hfft) and shifts are composed in Python (pyml/fft.py) from these ops and complex views.
#pragma once
#include <vector>
#include "core/tensor.h"

namespace pyml {

// y = scale * DFT_dims(x): x complex of any strides; the 1-D transform runs along each dim of
// `dims` in turn with exp(-2 pi i jk/n) (exp(+...) when inverse). y is contiguous.
Tensor fft_c2c(const Tensor& x, const std::vector<int64_t>& dims, bool inverse, double scale);

// y = scale * the first n/2 + 1 bins of the forward DFT of real x (float32/float64, any strides)
// along dim, n = x.shape[dim]; y complex, contiguous.
Tensor fft_r2c(const Tensor& x, int64_t dim, double scale);

// y = scale * the real inverse DFT of n points whose spectrum is Hermitian with first bins x along
// dim: x complex with x.shape[dim] == n/2 + 1 (the imaginary parts of bin 0, and of bin n/2 for
// even n, are ignored); y real (float32/float64), contiguous.
Tensor fft_c2r(const Tensor& x, int64_t dim, int64_t n, double scale);

// The radices of a transform of n points, in the order the kernels apply them: 4s, then 2, then the
// odd primes ascending (a single remaining prime may be large: the kernels send it to Bluestein).
// The CPU plans merge 4 * 2 pairs into radix 8 (cpu/fft.cpp); cuda/fft.cu uses these as they are.
inline std::vector<int64_t> fft_radices(int64_t n) {
  std::vector<int64_t> f;
  for (; n % 4 == 0; n /= 4) f.push_back(4);
  for (; n % 2 == 0; n /= 2) f.push_back(2);
  for (int64_t p = 3; p * p <= n; p += 2)
    for (; n % p == 0; n /= p) f.push_back(p);
  if (n > 1) f.push_back(n);
  return f;
}

// CPU kernel contracts: `in` holds outer blocks of in_len * inner values, `out` outer blocks of
// out_len * inner (complex values are interleaved (re, im) pairs of `real`, float32/float64), both
// contiguous; the transform runs along the middle axis of each block and multiplies by scale.
// c2c: in_len = out_len = n, in == out allowed. r2c: real in_len = n, complex out_len = n/2 + 1.
// c2r: complex in_len = n/2 + 1, real out_len = n.
void fft_c2c_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, bool inverse,
                 double scale);
void fft_r2c_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale);
void fft_c2r_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale);

}  // namespace pyml
