// Broadcast batch dims of the matrix ops (matmul, attention) as per-operand strides: batch index
// b -> the element offset of operand k's matrix b. The host op builds it from the tensors' own
// strides (0 where an operand broadcasts), so no offset table is copied to the device and no
// operand is expanded; each block evaluates it once per matrix. Size-1 dims are dropped and
// neighbouring dims merged where every operand steps through them evenly, so real shapes fit in
// kMaxBatchDims. Plain C++ (no CUDA types): included by host ops and by .cu files.
#pragma once
#include <cstdint>
#include <vector>
#include "core/error.h"

#ifdef __CUDACC__
#define PYML_HD __host__ __device__
#else
#define PYML_HD
#endif

namespace pyml {

constexpr int kMaxBatchDims = 12;  // as many as the elementwise launcher merges to

template <int N> struct BatchIndex {
  int nd = 0;                              // merged dims, outermost first
  int64_t size[kMaxBatchDims] = {};
  int64_t stride[N][kMaxBatchDims] = {};  // elements; 0 where operand k broadcasts
  int64_t count = 1;                       // number of batch matrices (0: nothing to do)

  PYML_HD void offsets(int64_t b, int64_t (&off)[N]) const {
    for (int k = 0; k < N; k++) off[k] = 0;
    for (int d = nd - 1; d >= 0; d--) {
      int64_t i = b % size[d];
      b /= size[d];
      for (int k = 0; k < N; k++) off[k] += i * stride[k][d];
    }
  }
};

// batch: the broadcast batch shape; strides[k]: operand k's strides over those dims (0 where it
// broadcasts). Raises RuntimeError naming op when more than kMaxBatchDims dims stay unmerged.
template <int N>
BatchIndex<N> make_batch_index(const std::vector<int64_t>& batch, const std::vector<int64_t> (&strides)[N],
                               const char* op) {
  BatchIndex<N> bi;
  for (int64_t s : batch) bi.count *= s;
  if (bi.count == 0) return bi;
  int64_t sz[64], st[N][64];  // merged dims, innermost first
  int n = 0;
  for (int64_t d = (int64_t)batch.size() - 1; d >= 0; d--) {
    if (batch[d] == 1) continue;
    bool merge = n > 0;
    for (int k = 0; merge && k < N; k++) merge = strides[k][d] == st[k][n - 1] * sz[n - 1];
    if (merge) { sz[n - 1] *= batch[d]; continue; }
    PYML_CHECK(n < 64, RuntimeError, op, ": too many batch dims, got ", batch);
    sz[n] = batch[d];
    for (int k = 0; k < N; k++) st[k][n] = strides[k][d];
    n++;
  }
  PYML_CHECK(n <= kMaxBatchDims, RuntimeError, op, ": CUDA kernels take at most ", kMaxBatchDims,
             " batch dims after merging contiguous ones, got batch shape ", batch);
  bi.nd = n;
  for (int i = 0; i < n; i++) {  // outermost first
    bi.size[i] = sz[n - 1 - i];
    for (int k = 0; k < N; k++) bi.stride[k][i] = st[k][n - 1 - i];
  }
  return bi;
}

}  // namespace pyml
