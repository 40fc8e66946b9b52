// Launchers of the indexing and layout kernels (cuda/index.cu, cuda/scatter.cu, cuda/layout.cu),
// called by csrc/ops/index.cpp and layout.cpp after validation; stubs that raise without CUDA.
// Index values are checked on the device: a check kernel records the first out-of-range position
// in a caller-owned int64 slot (initialised to INT64_MAX), which the host reads back once and turns
// into the CPU path's IndexError. Every launcher runs on the current stream of device `index`.
#pragma once
#include "core/device.h"
#include "core/iter.h"
#include "ops/index.h"

namespace pyml {

// --- advanced indexing (cuda/index.cu)
// *bad = min(*bad, first i with idx[i] outside [-size, size), or [0, size) without allow_negative)
PYML_CUDA_FN(void index_check_cuda(const int64_t* idx, int64_t n, int64_t size, bool allow_negative, int64_t* bad,
                                   int index))
// off[i] (first: =, else +=) wrap(idx[i]) * stride_bytes; idx already checked by index_check_cuda
PYML_CUDA_FN(void index_offsets_cuda(int64_t* off, const int64_t* idx, int64_t n, int64_t size, int64_t stride_bytes,
                                     bool first, int index))
// {out, x restrided, off}: out[i] = x[i + off[i]] (bytes), as index_gather_cpu
PYML_CUDA_FN(void index_gather_cuda(const ElemIter& it, int64_t itemsize, int index))
// {x restrided, values, off}: x[i + off[i]] = (or += with atomics when accumulate) values[i]
PYML_CUDA_FN(void index_put_cuda(const ElemIter& it, DType dtype, bool accumulate, int index))

// --- gather / scatter along a dim (cuda/scatter.cu). Unlike the CPU kernel, `it` iterates the whole
// index shape over {dst, src, idx} with a zero stride along `dim` for the indexed operand:
// gather: dst[i] = src[i + idx[i] * p.src_stride]; scatter: dst[i + idx[i] * p.dst_stride] op= src[i].
PYML_CUDA_FN(void scatter_gather_cuda(const ElemIter& it, const ScatterGatherParams& p, int index))

// --- masks (cuda/index.cu)
// {out, cond(bool), x, y} of one item size
PYML_CUDA_FN(void where_cuda(const ElemIter& it, int64_t itemsize, int index))
// {x, x, mask(bool)}: x = mask ? value : x; value: the element's bytes
PYML_CUDA_FN(void masked_fill_cuda(const ElemIter& it, int64_t itemsize, const void* value, int index))

// nonzero in three steps: nonzero_scan_cuda counts each chunk of kNonzeroChunkCuda mask bytes and
// writes starts (nchunks + 1 int64: exclusive prefix, total last); the host reads the total, sizes
// out (nnz, ndim) and nonzero_write_cuda writes the coordinates in row-major order.
constexpr int64_t kNonzeroChunkCuda = 4096;
constexpr int kMaxIndexDimsCuda = 25;
PYML_CUDA_FN(void nonzero_scan_cuda(const bool* mask, int64_t n, int64_t* starts, int index))
PYML_CUDA_FN(void nonzero_write_cuda(const bool* mask, const Shape& shape, const int64_t* starts, int64_t* out,
                                     int index))

// repeat_interleave: starts (n + 2 int64) = exclusive prefix sums of repeats (total at [n]) and at
// [n + 1] the first position of a negative repeat (INT64_MAX: none); fill writes out[k] = the i with
// starts[i] <= k < starts[i + 1], for k < total.
PYML_CUDA_FN(void repeat_interleave_scan_cuda(const int64_t* repeats, int64_t n, int64_t* starts, int index))
PYML_CUDA_FN(void repeat_interleave_fill_cuda(const int64_t* starts, int64_t n, int64_t* out, int64_t total,
                                              int index))

// --- layout (cuda/layout.cu)
// out (contiguous, shape) = src read through one RemapRule per dim; src_strides in bytes
PYML_CUDA_FN(void remap_cuda(const Shape& shape, const Shape& src_strides, const std::vector<RemapRule>& rules,
                             const char* src, char* out, int64_t itemsize, int index))
// as tri_zero_cpu: data (batch, R, C) contiguous
PYML_CUDA_FN(void tri_zero_cuda(char* data, int64_t batch, int64_t R, int64_t C, int64_t itemsize, int64_t diagonal,
                                bool upper, int index))

}  // namespace pyml
