// Launchers of cuda/random.cu: the random kernels of cpu/philox.h on the device, drawing the same
// Philox4x32-10 stream for the same PhiloxState (see random.cu for which ops match the CPU bit for
// bit). `out` holds n contiguous device elements. Stubs raise without CUDA.
#pragma once
#include "core/device.h"
#include "core/iter.h"
#include "cpu/philox.h"

namespace pyml {
PYML_CUDA_FN(void uniform_cuda(void* out, DType t, int64_t n, PhiloxState s, double from, double to, int index))
PYML_CUDA_FN(void normal_cuda(void* out, DType t, int64_t n, PhiloxState s, double mean, double std, int index))
PYML_CUDA_FN(void exponential_cuda(void* out, DType t, int64_t n, PhiloxState s, double lambd, int index))
PYML_CUDA_FN(void randint_cuda(int64_t* out, int64_t n, PhiloxState s, int64_t low, uint64_t range, int index))
// out[i] = u_i < p[i] (p null: p_scalar); p float64 (n,) contiguous
PYML_CUDA_FN(void bernoulli_cuda(bool* out, const double* p, double p_scalar, int64_t n, PhiloxState s, int index))
// it: (out, mean, std, z) of one floating dtype t: out = mean + std * z (rounded like the CPU's mul then add)
PYML_CUDA_FN(void normal_combine_cuda(const ElemIter& it, DType t, int index))
// first flat index i with !(lo <= v[i] <= hi) (NaN is outside), or -1; v float64 (n,) contiguous
PYML_CUDA_FN(int64_t first_outside_cuda(const double* v, int64_t n, double lo, double hi, int index))
// The first invalid multinomial row in the CPU's scan order: -1 when all rows are valid; else its
// row, with *category = the first bad category (a non-finite or negative weight) or -1 when the
// row's sum is not positive and finite, and *value = that weight or that sum.
PYML_CUDA_FN(int64_t multinomial_check_cuda(const double* w, int64_t rows, int64_t K, int64_t* category,
                                            double* value, int index))
// w (rows, K) float64 contiguous, validated; out (rows, num_samples) int64
PYML_CUDA_FN(void multinomial_cuda(int64_t* out, const double* w, int64_t rows, int64_t K, int64_t num_samples,
                                   bool replacement, PhiloxState s, int index))
}  // namespace pyml
