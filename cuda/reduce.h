// Launchers of the CUDA reduction family (cuda/reduce.cu, scan.cu, softmax.cu, sort.cu), callable
// from the host ops in ops/reduce.cpp and ops/sort.cpp (stubs that raise without CUDA). They take
// the same validated ReduceParams / LineParams as the CPU kernels, with device pointers, plus the
// device index; outputs are allocated by the caller.
#pragma once
#include "core/device.h"
#include "ops/reduce.h"

namespace pyml {

// Kept, reduced and line dims a CUDA kernel takes after coalescing; the host ops make inputs with
// more dims contiguous first (then they coalesce to at most two).
constexpr int kCudaMaxDims = 8;

PYML_CUDA_FN(void reduce_cuda(const ReduceParams& p, int index))
PYML_CUDA_FN(void scan_cuda(ScanKind kind, const LineParams& p, int index))
PYML_CUDA_FN(void softmax_cuda(const LineParams& p, int index))
// g, y, dx: (rows, n) contiguous float32/float64
PYML_CUDA_FN(void softmax_backward_cuda(DType dtype, const void* g, const void* y, void* dx, int64_t rows,
                                        int64_t n, bool log, int index))

// The sort family: same LineParams contracts as sort_cpu, topk_cpu, ... in ops/reduce.h.
PYML_CUDA_FN(void sort_cuda(const LineParams& p, int index))
PYML_CUDA_FN(void topk_cuda(const LineParams& p, int index))
PYML_CUDA_FN(void kthvalue_cuda(const LineParams& p, int index))
PYML_CUDA_FN(void median_cuda(const LineParams& p, int index))
PYML_CUDA_FN(void mode_cuda(const LineParams& p, int index))

// unique on the device. x: (n, m) contiguous rows (m = 1 for the flattened case).
// order (n,): rows of x sorted lexicographically and stably (NaN last, -0.0 == 0.0).
PYML_CUDA_FN(void sort_rows_cuda(DType dtype, const char* x, int64_t n, int64_t m, int64_t* order, int index))
// Groups of equal neighbouring rows visited in `order` (null: as stored; NaN never equals NaN):
// group[i] = group id of position i, first[g] = first position of group g (both (n,) int64, the
// first ng entries of `first` used). Returns ng (one device-to-host copy).
PYML_CUDA_FN(int64_t group_runs_cuda(DType dtype, const char* x, int64_t n, int64_t m, const int64_t* order,
                                     int64_t* group, int64_t* first, int index))
// From group_runs_cuda's result: values (ng, m) = row order[first[g]] of x (order null: row
// first[g]); counts[g] = size of group g; inv[perm[i]] = group[i] (perm null: inv[i]). Each of
// values, counts, inv may be null.
PYML_CUDA_FN(void group_outputs_cuda(DType dtype, const char* x, int64_t n, int64_t m, const int64_t* order,
                                     const int64_t* group, const int64_t* first, int64_t ng, const int64_t* perm,
                                     char* values, int64_t* counts, int64_t* inv, int index))

}  // namespace pyml
