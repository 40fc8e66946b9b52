// Device helpers shared by the reduction family (reduce.cu, scan.cu, softmax.cu, sort.cu):
// - Geom: a DimIter (dims innermost first, two element strides) as a fixed-size kernel argument
//   that turns a flat index into two offsets by div/mod;
// - NaN tests and order limits for every accumulation type;
// - group_reduce: a fixed-order tree over the G lanes of each group of a block in shared memory,
//   for any accumulator type (structs too, which shuffles cannot move). Results never depend on
//   timing, only on the launch shape, so every kernel here is deterministic.
#pragma once
#include <limits>
#include "cuda_common.cuh"
#include "reduce.h"

namespace pyml {
namespace cuda {

struct Geom {
  int nd = 0;
  int64_t size[kCudaMaxDims], sa[kCudaMaxDims], sb[kCudaMaxDims];
  // flat index i (innermost dim fastest) -> offsets in layouts a and b
  __device__ void offsets(int64_t i, int64_t& a, int64_t& b) const {
    a = 0; b = 0;
    for (int d = 0; d < nd - 1; d++) {
      int64_t q = i / size[d], r = i - q * size[d];
      a += r * sa[d]; b += r * sb[d];
      i = q;
    }
    if (nd > 0) { a += i * sa[nd - 1]; b += i * sb[nd - 1]; }
  }
  __device__ int64_t offset_a(int64_t i) const {
    if (nd == 1) return i * sa[0];
    int64_t a, b;
    offsets(i, a, b);
    return a;
  }
};

inline Geom make_geom(const DimIter& it, const char* op) {
  PYML_CHECK((int)it.size.size() <= kCudaMaxDims, RuntimeError, op, ": internal error: ", it.size.size(),
             " dims after coalescing, CUDA kernels take ", kCudaMaxDims);
  Geom g;
  g.nd = (int)it.size.size();
  for (int d = 0; d < g.nd; d++) { g.size[d] = it.size[d]; g.sa[d] = it.sa[d]; g.sb[d] = it.sb[d]; }
  return g;
}

inline int64_t abs64(int64_t v) { return v < 0 ? -v : v; }
inline int pow2_at_least(int64_t n, int cap) {
  int p = 1;
  while (p < n && p < cap) p <<= 1;
  return p;
}
inline unsigned blocks_for(int64_t n) { return (unsigned)std::max<int64_t>(1, std::min<int64_t>(n, 1 << 20)); }

template <typename U> __host__ __device__ inline bool is_nan(U v) { return v != v; }
template <typename U> __host__ __device__ constexpr U lowest() {
  if constexpr (std::is_floating_point_v<U>) return -std::numeric_limits<U>::infinity();
  else return std::numeric_limits<U>::lowest();
}
template <typename U> __host__ __device__ constexpr U highest() {
  if constexpr (std::is_floating_point_v<U>) return std::numeric_limits<U>::infinity();
  else return std::numeric_limits<U>::max();
}

// Shared scratch for kThreads accumulators of any type up to 16 bytes.
template <typename A> __device__ inline A* scratch() {
  static_assert(sizeof(A) <= 16, "accumulator too large for the shared scratch");
  __shared__ alignas(16) unsigned char raw[kThreads * 16];
  return reinterpret_cast<A*>(raw);
}

// Every thread of the block calls it with the same G (a power of 2 dividing blockDim.x); lanes
// tid % G of group tid / G combine their values in a fixed tree; all lanes get the group's result.
template <typename A, typename F> __device__ inline A group_reduce(A v, int G, F combine) {
  A* sm = scratch<A>();
  int t = threadIdx.x, lane = t % G;
  __syncthreads();  // the scratch may still be read by a previous call
  sm[t] = v;
  __syncthreads();
  for (int s = G / 2; s > 0; s >>= 1) {
    if (lane < s) sm[t] = combine(sm[t], sm[t + s]);
    __syncthreads();
  }
  return sm[t - lane];
}

}  // namespace cuda
}  // namespace pyml
