// The implicit-GEMM driver shared by the 2-D (cuda/conv2d.cu) and 3-D (cuda/conv3d.cu)
// convolutions: one GEMM problem per group runs the tiled core of cuda/gemm_tile.cuh, the grid's
// x walking (tile, split) pairs and its y the groups. Beyond gemm_tile's interface a problem has
// pr.q.p.G (groups), pr.q.g (the group a block works on; the kernel sets it) and
// store(m, n, acc, split). The weight gradient's reduction (over every output position) is long
// and its output small, so conv_weight_gemm splits it across blocks into a partial buffer summed
// by a second kernel in a fixed order (deterministic); such a problem has a `T* out` to point at it.
#pragma once
#include <algorithm>
#include <climits>
#include "core/tensor.h"
#include "gemm_tile.cuh"

namespace pyml {
namespace cuda {

// One problem per group g (grid y); x strides over tiles x splits, split s reducing over
// [s * kchunk, min(Kd, (s + 1) * kchunk)).
template <typename T, typename Prob>
__global__ void __launch_bounds__(kGemmThreads) conv_gemm_kernel(Prob pr, int64_t Kd, int64_t kchunk,
                                                                 int64_t splits) {
  __shared__ T As[kTileK][kTileRows];
  __shared__ T Bs[kTileK][kTileCols];
  const int64_t tiles_n = (pr.N + kTileN - 1) / kTileN, tiles = tiles_n * ((pr.M + kTileM - 1) / kTileM) * splits;
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  for (int64_t g = blockIdx.y; g < pr.q.p.G; g += gridDim.y) {
    pr.q.g = g;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
      const int64_t split = t % splits, tile = t / splits;
      const int64_t m0 = tile / tiles_n * kTileM, n0 = tile % tiles_n * kTileN;
      const int64_t k0 = split * kchunk, k1 = min(Kd, k0 + kchunk);
      T acc[4][4];
      gemm_tile(pr, m0, n0, k0, k1, acc, As, Bs);
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
          int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
          if (m < pr.M && n < pr.N) pr.store(m, n, acc[i][j], split);
        }
    }
  }
}

// out[i] = sum over s of part[s * n + i], s in order (deterministic)
template <typename T> __global__ void sum_splits_kernel(const T* part, T* out, int64_t n, int64_t splits) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    T s = part[i];
    for (int64_t k = 1; k < splits; k++) s += part[k * n + i];
    out[i] = s;
  }
}

template <typename T, typename Prob>
void conv_gemm_launch(const Prob& pr, int64_t G, int64_t Kd, int64_t kchunk, int64_t splits, int index,
                      const char* op) {
  if (pr.M == 0 || pr.N == 0 || G == 0) return;
  int64_t tiles = ((pr.M + kTileM - 1) / kTileM) * ((pr.N + kTileN - 1) / kTileN) * splits;
  dim3 grid((unsigned)std::min<int64_t>(tiles, INT_MAX), (unsigned)std::min<int64_t>(G, 65535));
  conv_gemm_kernel<T, Prob><<<grid, kGemmThreads, 0, stream(index)>>>(pr, Kd, kchunk, splits);
  PYML_CUDA_LAUNCH_CHECK(op);
}

// Splits of grad weight's reduction: enough blocks to fill the GPU (about 1024), at least 1024
// reduction steps each, and a partial buffer of at most 2^24 elements.
inline int64_t conv_weight_splits(int64_t tiles, int64_t Kd, int64_t out_numel) {
  int64_t s = std::min<int64_t>((1024 + tiles - 1) / tiles, Kd / 1024);
  s = std::min<int64_t>(s, (int64_t(1) << 24) / std::max<int64_t>(out_numel, 1));
  return std::max<int64_t>(s, 1);
}

// dw (numel elements) = the weight-gradient problem pr over a reduction of Kd, split as above.
template <typename T, typename Prob>
void conv_weight_gemm(Prob pr, int64_t G, int64_t Kd, int64_t numel, T* dw, int index, const char* op) {
  const int64_t tiles = ((pr.M + kTileM - 1) / kTileM) * ((pr.N + kTileN - 1) / kTileN) * G;
  int64_t splits = conv_weight_splits(tiles, Kd, numel);
  pr.out = dw;
  if (splits == 1) return conv_gemm_launch<T>(pr, G, Kd, Kd, 1, index, op);
  const int64_t kchunk = ((Kd + splits - 1) / splits + kTileK - 1) / kTileK * kTileK;  // whole K steps
  splits = (Kd + kchunk - 1) / kchunk;  // Kd >= 1024 * splits here, so kchunk > 0
  Tensor part = empty({splits * numel}, sizeof(T) == 4 ? DType::Float32 : DType::Float64,
                      Device{Device::CUDA, (int8_t)index});
  pr.out = part.ptr<T>();
  conv_gemm_launch<T>(pr, G, Kd, kchunk, splits, index, op);
  sum_splits_kernel<T><<<grid_for(numel), kThreads, 0, stream(index)>>>(pr.out, dw, numel, splits);
  PYML_CUDA_LAUNCH_CHECK(op);
}

}  // namespace cuda
}  // namespace pyml
