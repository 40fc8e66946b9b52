// Launchers of cuda/embedding.cu (embedding, its backward and max_norm renorm, embedding_bag) and
// the device-side index check shared with the cross-entropy host entry. Stubs raise without CUDA.
// Index arrays are int64 device pointers; weights and gradients float32/float64 contiguous (the
// embedding forward copies rows of any dtype by their item size).
#pragma once
#include "core/device.h"
#include "ops/norm.h"

namespace pyml {
// Position of the first idx[i] outside [0, V) that is not `allowed` (when has_allowed), or -1.
// One small device-to-host copy (it waits for the stream).
PYML_CUDA_FN(int64_t first_bad_index_cuda(const int64_t* idx, int64_t n, int64_t V, bool has_allowed,
                                          int64_t allowed, int index))
// out (n, D) = weight rows idx[i] (weight (V, D) contiguous, itemsize bytes per element)
PYML_CUDA_FN(void embedding_forward_cuda(const void* weight, int64_t itemsize, int64_t D, const int64_t* idx,
                                         int64_t n, void* out, int index))
// dw (V, D) = index-add of dout rows (atomicAdd: the summation order of duplicates is not fixed)
PYML_CUDA_FN(void embedding_backward_cuda(DType dtype, const void* dout, int64_t D, const int64_t* idx, int64_t n,
                                          int64_t V, int64_t padding_idx, bool scale_by_freq, void* dw, int index))
// rows of w (V, D) named in idx (each distinct row once) with p-norm > max_norm scaled to max_norm
PYML_CUDA_FN(void embedding_renorm_cuda(DType dtype, void* w, int64_t V, int64_t D, const int64_t* idx, int64_t n,
                                        double max_norm, double p, int index))
PYML_CUDA_FN(void embedding_bag_forward_cuda(const EmbeddingBagParams& p, void* out, int64_t* max_idx, int index))
// dw (zeroed by the caller) and dpsw may be null
PYML_CUDA_FN(void embedding_bag_backward_cuda(const EmbeddingBagParams& p, const void* dout, const int64_t* max_idx,
                                              bool scale_by_freq, void* dw, void* dpsw, int index))
}  // namespace pyml
