// Warp and block reductions by shuffles, shared by the reduction, softmax, norm and loss kernels.
// block_reduce combines one value per thread of a block of up to 1024 threads (a multiple of 32)
// and returns the result to every thread. Order is fixed by the thread layout, so results are
// deterministic from run to run.
#pragma once
#include "cuda_common.cuh"

namespace pyml {
namespace cuda {

struct SumOp { template <typename T> __device__ T operator()(T a, T b) const { return a + b; } };
struct MaxOp { template <typename T> __device__ T operator()(T a, T b) const { return a > b || a != a ? a : b; } };
struct MinOp { template <typename T> __device__ T operator()(T a, T b) const { return a < b || a != a ? a : b; } };

template <typename T, typename Op> __device__ inline T warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Every thread of the block must call it. `scratch` holds 32 values of T.
template <typename T, typename Op> __device__ inline T block_reduce(T v, Op op, T* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[lane < nwarps ? lane : 0];
  if (lane >= nwarps) v = scratch[0];  // pad with a value that does not change max/min; sums mask below
  if constexpr (std::is_same_v<Op, SumOp>) if (lane >= nwarps) v = T(0);
  return warp_reduce(v, op);
}

}  // namespace cuda
}  // namespace pyml
