// Integer GEMM C = alpha * A @ B + beta * C for uint8/int8/int16/int32/int64, any strides.
// A: (M, K) strides (rsa, csa); B: (K, N) strides (rsb, csb); C: (M, N) strides (rsc, csc).
// Plain and correct rather than fast: each output row accumulates in a uint64 row buffer (i-k-j
// order, so the j loop vectorises when B's rows are contiguous) and is truncated to T at the end,
// which equals T's own wrapping arithmetic (torch's int matmul wraps the same way).
#include <vector>
#include "core/parallel.h"
#include "ops/linalg.h"

namespace pyml {

template <typename T>
static void gemm_int(const GemmArgs& g) {
  const T* A = static_cast<const T*>(g.A);
  const T* B = static_cast<const T*>(g.B);
  T* C = static_cast<T*>(g.C);
  uint64_t alpha = (uint64_t)(int64_t)g.alpha, beta = (uint64_t)(int64_t)g.beta;
  int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, g.N * g.K));
  parallel_for(0, g.M, grain, [&](int64_t i0, int64_t i1) {
    std::vector<uint64_t> acc(g.N);
    for (int64_t i = i0; i < i1; i++) {
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t k = 0; k < g.K; k++) {
        uint64_t a = (uint64_t)(int64_t)A[i * g.rsa + k * g.csa];
        const T* b = B + k * g.rsb;
        if (g.csb == 1) { for (int64_t j = 0; j < g.N; j++) acc[j] += a * (uint64_t)(int64_t)b[j]; }
        else { for (int64_t j = 0; j < g.N; j++) acc[j] += a * (uint64_t)(int64_t)b[j * g.csb]; }
      }
      for (int64_t j = 0; j < g.N; j++) {
        T* c = C + i * g.rsc + j * g.csc;
        uint64_t r = alpha * acc[j];
        if (beta != 0) r += beta * (uint64_t)(int64_t)*c;
        *c = (T)r;
      }
    }
  });
}

void gemm_int_cpu(const GemmArgs& g, DType t) {
  switch (t) {
    case DType::UInt8: gemm_int<uint8_t>(g); break;
    case DType::Int8: gemm_int<int8_t>(g); break;
    case DType::Int16: gemm_int<int16_t>(g); break;
    case DType::Int32: gemm_int<int32_t>(g); break;
    case DType::Int64: gemm_int<int64_t>(g); break;
    default: throw_dtype_error("matmul", t);
  }
}

}  // namespace pyml
