// The tiled GEMM core shared by matmul (cuda/matmul.cu) and the implicit-GEMM convolutions
// (cuda/conv2d.cu): a block of 256 threads accumulates one 64 x 64 tile of A (M x Kd) @ B (Kd x N),
// stepping through Kd 16 at a time. Each step stages A's 64 x 16 and B's 16 x 64 slices in shared
// memory, converted to the accumulation type and zero past every edge (no divisibility needed),
// then every thread updates a 4 x 4 register block: rows ty + 16 i, cols tx + 16 j, so a warp's
// shared reads are broadcasts (A) or 16 consecutive words (B), free of bank conflicts.
// Operands come from a "problem" that maps (m, k) and (k, n) to values: a matmul reads through
// strides, a convolution gathers its input window there (no im2col buffer).
// Problem interface: int64 M, N; bool a_k_fast, b_n_fast (which index consecutive threads take
// when staging: the one the operand is contiguous in); __device__ Acc a(m, k), b(k, n), called
// only for m < M, n < N and k inside the step range.
#pragma once
#include "cuda_common.cuh"

namespace pyml {
namespace cuda {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16, kGemmThreads = 256;
constexpr int kTileRows = kTileM + 1, kTileCols = kTileN + 1;  // +1: fewer bank conflicts when staging

// Value of T in the accumulation type: integers widen to a wrapping uint64 (the CPU kernel's
// arithmetic), floating types convert (half types to float).
template <typename Acc, typename T> __device__ inline Acc to_acc(T v) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<Acc>(static_cast<int64_t>(v));
  else return convert<Acc>(v);
}
template <typename T, typename Acc> __device__ inline T from_acc(Acc v) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<T>(v);
  else return convert<T>(v);
}

// As[k][m] = A(m0 + m, k0 + k), zero outside m < M, k0 + k < k1.
template <typename Acc, typename Prob>
__device__ inline void stage_a(const Prob& pr, int64_t m0, int64_t k0, int64_t k1, Acc (*As)[kTileRows]) {
  const int t = threadIdx.x;
#pragma unroll
  for (int r = 0; r < kTileM * kTileK / kGemmThreads; r++) {
    int mm, kk;
    if (pr.a_k_fast) { kk = t % kTileK; mm = t / kTileK + r * (kGemmThreads / kTileK); }
    else { mm = t % kTileM; kk = t / kTileM + r * (kGemmThreads / kTileM); }
    int64_t m = m0 + mm, k = k0 + kk;
    As[kk][mm] = (m < pr.M && k < k1) ? pr.a(m, k) : Acc(0);
  }
}

// Bs[k][n] = B(k0 + k, n0 + n), zero outside n < N, k0 + k < k1.
template <typename Acc, typename Prob>
__device__ inline void stage_b(const Prob& pr, int64_t n0, int64_t k0, int64_t k1, Acc (*Bs)[kTileCols]) {
  const int t = threadIdx.x;
#pragma unroll
  for (int r = 0; r < kTileN * kTileK / kGemmThreads; r++) {
    int nn, kk;
    if (pr.b_n_fast) { nn = t % kTileN; kk = t / kTileN + r * (kGemmThreads / kTileN); }
    else { kk = t % kTileK; nn = t / kTileK + r * (kGemmThreads / kTileK); }
    int64_t n = n0 + nn, k = k0 + kk;
    Bs[kk][nn] = (n < pr.N && k < k1) ? pr.b(k, n) : Acc(0);
  }
}

// acc[i][j] = sum over k in [k0, k1) of A(m0 + ty + 16 i, k) B(k, n0 + tx + 16 j), with
// ty = threadIdx.x / 16, tx = threadIdx.x % 16. Every thread of the block must call it with the
// same arguments (it synchronises); As/Bs: the kernel's shared tiles.
template <typename Acc, typename Prob>
__device__ inline void gemm_tile(const Prob& pr, int64_t m0, int64_t n0, int64_t k0, int64_t k1, Acc (&acc)[4][4],
                                 Acc (*As)[kTileRows], Acc (*Bs)[kTileCols]) {
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = Acc(0);
  for (int64_t kt = k0; kt < k1; kt += kTileK) {
    stage_a(pr, m0, kt, k1, As);
    stage_b(pr, n0, kt, k1, Bs);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; kk++) {
      Acc a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();  // the next step overwrites the tiles
  }
}

}  // namespace cuda
}  // namespace pyml
