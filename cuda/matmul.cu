// GEMM on CUDA behind every matrix product (mm, bmm, mv, dot, addmm, baddbmm, matmul, gemm_):
// C = alpha * A @ B + beta * C over broadcast batches, each operand read through its own strides
// (a transposed operand is never copied). Matrix-matrix shapes run the shared 64 x 64 tiled core
// (cuda/gemm_tile.cuh), staging each operand along its contiguous dim so loads coalesce for
// A, A^T, B and B^T alike. Matrix-vector shapes (M == 1 or N == 1: mv, dot, one row) run a warp
// per output (a thread per output when the matrix is read down its columns) instead: a 64 x 64
// tile would leave 63/64 of its threads idle there. Half types load
// as half and accumulate in float; integers accumulate in a wrapping uint64 like the CPU kernel.
#include "matmul.h"
#include <cstdlib>
#include "block_reduce.cuh"
#include "gemm_tc.cuh"
#include "gemm_wgmma.cuh"
#include "gemm_tile.cuh"

namespace pyml {
namespace {

using cuda::kTileK;
using cuda::kTileM;
using cuda::kTileN;

template <typename T, typename Acc> struct MatmulProblem {
  int64_t M, N;
  bool a_k_fast, b_n_fast;
  const T* A;
  int64_t rsa, csa;
  const T* B;
  int64_t rsb, csb;
  __device__ Acc a(int64_t m, int64_t k) const { return cuda::to_acc<Acc>(A[m * rsa + k * csa]); }
  __device__ Acc b(int64_t k, int64_t n) const { return cuda::to_acc<Acc>(B[k * rsb + n * csb]); }
};

template <typename Acc> __device__ inline Acc scalar_acc(double v) {
  if constexpr (std::is_integral_v<Acc>) return static_cast<Acc>(static_cast<int64_t>(v));
  else return static_cast<Acc>(v);
}

// out = alpha * acc + beta * out (beta == 0: out is not read, so NaN there does not leak)
template <typename T, typename Acc> __device__ inline void store(T* out, Acc acc, Acc alpha, Acc beta, bool read) {
  Acc v = alpha * acc;
  if (read) v += beta * cuda::to_acc<Acc>(*out);
  *out = cuda::from_acc<T>(v);
}

// A: (M, K), B: (K, N), C: (M, N) of batch matrix b at g's pointers + bi.offsets(b); any strides.
// Grid: x strides over the 64 x 64 tiles of C, y over the batch matrices.
template <typename T, typename Acc>
__global__ void __launch_bounds__(cuda::kGemmThreads) gemm_kernel(GemmArgs g, BatchIndex<3> bi, bool a_k_fast,
                                                                  bool b_n_fast) {
  __shared__ Acc As[kTileK][cuda::kTileRows];
  __shared__ Acc Bs[kTileK][cuda::kTileCols];
  const int64_t tiles_n = (g.N + kTileN - 1) / kTileN, tiles = tiles_n * ((g.M + kTileM - 1) / kTileM);
  const Acc alpha = scalar_acc<Acc>(g.alpha), beta = scalar_acc<Acc>(g.beta);
  const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
  for (int64_t b = blockIdx.y; b < bi.count; b += gridDim.y) {
    int64_t off[3];
    bi.offsets(b, off);
    MatmulProblem<T, Acc> pr{g.M, g.N, a_k_fast, b_n_fast, static_cast<const T*>(g.A) + off[0], g.rsa, g.csa,
                             static_cast<const T*>(g.B) + off[1], g.rsb, g.csb};
    T* C = static_cast<T*>(g.C) + off[2];
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
      const int64_t m0 = t / tiles_n * kTileM, n0 = t % tiles_n * kTileN;
      Acc acc[4][4];
      cuda::gemm_tile(pr, m0, n0, 0, g.K, acc, As, Bs);
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
          int64_t m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
          if (m < g.M && n < g.N) store(C + m * g.rsc + n * g.csc, acc[i][j], alpha, beta, g.beta != 0);
        }
    }
  }
}

// float32 SIMT GEMM (no TF32): 128 x 128 block tiles, K 8 at a time; each of 256 threads owns an
// 8 x 8 register tile (rows 4ty.., 64+4ty.., cols 4tx.., 64+4tx..) read from shared memory as
// float4s. Shared tiles are double buffered and the next K step is prefetched into registers
// while this one computes, so one barrier per step suffices. Any strides (loads are scalar,
// consecutive threads along the operand's stride-1 dim); zero past M, N, K.
constexpr int kSBM = 128, kSBK = 8, kSLd = kSBM + 4;  // +4: float4-aligned rows

struct SimtTile {  // this thread's 4 loads of A's (128 x 8) and B's (8 x 128) K step
  float a[4], b[4];
};

__device__ inline void simt_fetch(SimtTile& r, const MatmulProblem<float, float>& p, int64_t m0, int64_t n0, int64_t k0,
                                  int64_t K) {
  const int t = threadIdx.x;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int mm = p.a_k_fast ? t / 8 + 32 * i : t % 128, ka = p.a_k_fast ? t % 8 : t / 128 + 2 * i;
    const int nn = p.b_n_fast ? t % 128 : t / 8 + 32 * i, kb = p.b_n_fast ? t / 128 + 2 * i : t % 8;
    r.a[i] = m0 + mm < p.M && k0 + ka < K ? p.a(m0 + mm, k0 + ka) : 0.f;
    r.b[i] = n0 + nn < p.N && k0 + kb < K ? p.b(k0 + kb, n0 + nn) : 0.f;
  }
}

__device__ inline void simt_stash(const SimtTile& r, bool a_k_fast, bool b_n_fast, float (*As)[kSLd], float (*Bs)[kSLd]) {
  const int t = threadIdx.x;
#pragma unroll
  for (int i = 0; i < 4; i++) {
    if (a_k_fast) As[t % 8][t / 8 + 32 * i] = r.a[i];
    else As[t / 128 + 2 * i][t % 128] = r.a[i];
    if (b_n_fast) Bs[t / 128 + 2 * i][t % 128] = r.b[i];
    else Bs[t % 8][t / 8 + 32 * i] = r.b[i];
  }
}

// A: (M, K), B: (K, N), C: (M, N) float32 per batch matrix (offsets from bi). Grid: x = tiles, z = batches.
__global__ void __launch_bounds__(256) sgemm_kernel(GemmArgs g, BatchIndex<3> bi, bool a_k_fast, bool b_n_fast) {
  __shared__ __align__(16) float As[2][kSBK][kSLd];
  __shared__ __align__(16) float Bs[2][kSBK][kSLd];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t tiles_n = (g.N + kSBM - 1) / kSBM, m0 = blockIdx.x / tiles_n * kSBM, n0 = blockIdx.x % tiles_n * kSBM;
  for (int64_t bt = blockIdx.z; bt < bi.count; bt += gridDim.z) {
    int64_t off[3];
    bi.offsets(bt, off);
    const MatmulProblem<float, float> p{g.M, g.N, a_k_fast, b_n_fast, static_cast<const float*>(g.A) + off[0], g.rsa,
                                        g.csa, static_cast<const float*>(g.B) + off[1], g.rsb, g.csb};
    float acc[8][8] = {};
    SimtTile r;
    simt_fetch(r, p, m0, n0, 0, g.K);
    simt_stash(r, a_k_fast, b_n_fast, As[0], Bs[0]);
    __syncthreads();
    for (int64_t k0 = 0, buf = 0; k0 < g.K; k0 += kSBK, buf ^= 1) {
      const bool more = k0 + kSBK < g.K;
      if (more) simt_fetch(r, p, m0, n0, k0 + kSBK, g.K);  // in flight while this step computes
#pragma unroll
      for (int k = 0; k < kSBK; k++) {
        float a[8], b[8];
        *reinterpret_cast<float4*>(a) = *reinterpret_cast<const float4*>(&As[buf][k][4 * ty]);
        *reinterpret_cast<float4*>(a + 4) = *reinterpret_cast<const float4*>(&As[buf][k][64 + 4 * ty]);
        *reinterpret_cast<float4*>(b) = *reinterpret_cast<const float4*>(&Bs[buf][k][4 * tx]);
        *reinterpret_cast<float4*>(b + 4) = *reinterpret_cast<const float4*>(&Bs[buf][k][64 + 4 * tx]);
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
          for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      if (more) simt_stash(r, a_k_fast, b_n_fast, As[buf ^ 1], Bs[buf ^ 1]);
      __syncthreads();  // the other buffer is complete; this one may be overwritten next step
    }
    float* C = static_cast<float*>(g.C) + off[2];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
      for (int j = 0; j < 8; j++) {
        const int64_t m = m0 + 4 * ty + i % 4 + 64 * (i / 4), n = n0 + 4 * tx + j % 4 + 64 * (j / 4);
        if (m < g.M && n < g.N) store(C + m * g.rsc + n * g.csc, acc[i][j], (float)g.alpha, (float)g.beta, g.beta != 0);
      }
  }
}

// y[r] = alpha * sum_k X[r, k] v[k] + beta * y[r] for r < R of every batch matrix.
struct GemvArgs {
  int64_t R, K;
  const void* X;
  int64_t rsx, ksx;
  const void* v;
  int64_t vs;
  void* y;
  int64_t ys;
  double alpha, beta;
};

// One warp per output element (lanes stride over k, then a shuffle sum); bi: offsets of (X, v, y).
template <typename T, typename Acc>
__global__ void gemv_kernel(GemvArgs g, BatchIndex<3> bi) {
  const int lane = threadIdx.x % 32, wpb = blockDim.x / 32;
  const int64_t total = bi.count * g.R, step = (int64_t)gridDim.x * wpb;
  const Acc alpha = scalar_acc<Acc>(g.alpha), beta = scalar_acc<Acc>(g.beta);
  // w is the same for the whole warp, so every lane reaches the shuffles
  for (int64_t w = (int64_t)blockIdx.x * wpb + threadIdx.x / 32; w < total; w += step) {
    const int64_t b = w / g.R, r = w % g.R;
    int64_t off[3];
    bi.offsets(b, off);
    const T* x = static_cast<const T*>(g.X) + off[0] + r * g.rsx;
    const T* v = static_cast<const T*>(g.v) + off[1];
    Acc s = Acc(0);
    for (int64_t k = lane; k < g.K; k += 32) s += cuda::to_acc<Acc>(x[k * g.ksx]) * cuda::to_acc<Acc>(v[k * g.vs]);
    s = cuda::warp_reduce(s, cuda::SumOp{});
    if (lane == 0) store(static_cast<T*>(g.y) + off[2] + r * g.ys, s, alpha, beta, g.beta != 0);
  }
}

// Same product, one thread per output: for X whose rows are adjacent (rsx == 1, e.g. x @ W with W
// row-major), consecutive threads then read consecutive addresses at every k.
template <typename T, typename Acc>
__global__ void gemv_cols_kernel(GemvArgs g, BatchIndex<3> bi) {
  const int64_t total = bi.count * g.R;
  const Acc alpha = scalar_acc<Acc>(g.alpha), beta = scalar_acc<Acc>(g.beta);
  for (int64_t w = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; w < total; w += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = w / g.R, r = w % g.R;
    int64_t off[3];
    bi.offsets(b, off);
    const T* x = static_cast<const T*>(g.X) + off[0] + r * g.rsx;
    const T* v = static_cast<const T*>(g.v) + off[1];
    Acc s = Acc(0);
    for (int64_t k = 0; k < g.K; k++) s += cuda::to_acc<Acc>(x[k * g.ksx]) * cuda::to_acc<Acc>(v[k * g.vs]);
    store(static_cast<T*>(g.y) + off[2] + r * g.ys, s, alpha, beta, g.beta != 0);
  }
}

// Stage along the contiguous dim: consecutive threads then read consecutive addresses.
bool fast_first(int64_t fast, int64_t slow) {
  return fast == 1 || (slow != 1 && std::llabs(fast) <= std::llabs(slow));
}

template <typename T, typename Acc> void launch_gemm(const GemmArgs& g, const BatchIndex<3>& bi, cudaStream_t s) {
  int64_t tiles = ((g.M + kTileM - 1) / kTileM) * ((g.N + kTileN - 1) / kTileN);
  dim3 grid((unsigned)std::min<int64_t>(tiles, INT32_MAX), (unsigned)std::min<int64_t>(bi.count, 65535));
  gemm_kernel<T, Acc><<<grid, cuda::kGemmThreads, 0, s>>>(g, bi, fast_first(g.csa, g.rsa), fast_first(g.csb, g.rsb));
  PYML_CUDA_LAUNCH_CHECK("matmul");
}

// N == 1: rows of A against B's column; M == 1: rows of B^T against A's row (operands swapped).
template <typename T, typename Acc> void launch_gemv(const GemmArgs& g, BatchIndex<3> bi, cudaStream_t s) {
  GemvArgs v;
  if (g.N == 1) {
    v = GemvArgs{g.M, g.K, g.A, g.rsa, g.csa, g.B, g.rsb, g.C, g.rsc, g.alpha, g.beta};
  } else {
    v = GemvArgs{g.N, g.K, g.B, g.csb, g.rsb, g.A, g.csa, g.C, g.csc, g.alpha, g.beta};
    for (int d = 0; d < kMaxBatchDims; d++) std::swap(bi.stride[0][d], bi.stride[1][d]);
  }
  const int64_t outputs = bi.count * v.R;
  if (v.rsx == 1 && v.ksx != 1 && outputs >= 4096) {  // enough outputs to fill the GPU a thread each
    gemv_cols_kernel<T, Acc><<<cuda::grid_for(outputs), cuda::kThreads, 0, s>>>(v, bi);
  } else {
    constexpr int kWarps = cuda::kThreads / 32;
    gemv_kernel<T, Acc><<<cuda::grid_for(outputs, 1, kWarps), cuda::kThreads, 0, s>>>(v, bi);
  }
  PYML_CUDA_LAUNCH_CHECK("matmul");
}

void launch_sgemm(const GemmArgs& g, const BatchIndex<3>& bi, cudaStream_t s) {
  const int64_t tiles = ((g.M + kSBM - 1) / kSBM) * ((g.N + kSBM - 1) / kSBM);
  dim3 grid((unsigned)std::min<int64_t>(tiles, INT32_MAX), 1, (unsigned)std::min<int64_t>(bi.count, 65535));
  sgemm_kernel<<<grid, 256, 0, s>>>(g, bi, fast_first(g.csa, g.rsa), fast_first(g.csb, g.rsb));
  PYML_CUDA_LAUNCH_CHECK("matmul");
}

template <typename T, typename Acc> void launch(const GemmArgs& g, const BatchIndex<3>& bi, cudaStream_t s) {
  if (g.M == 1 || g.N == 1) launch_gemv<T, Acc>(g, bi, s);
  else if constexpr (std::is_same_v<T, float>) launch_sgemm(g, bi, s);
  else launch_gemm<T, Acc>(g, bi, s);
}

}  // namespace

void gemm_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, int index) {
  if (g.M == 0 || g.N == 0 || bi.count == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t s = cuda::stream(index);
#if defined(PYML_WGMMA) || defined(PYML_CUDA_EMU)  // built for sm_90a: TMA + wgmma on Hopper
  if (g.M > 1 && g.N > 1 && cuda::gemm_wgmma_cuda(g, bi, t, s)) return;
#endif
  if (g.M > 1 && g.N > 1 && cuda::gemm_tc_cuda(g, bi, t, matmul_allow_tf32(), s)) return;  // tensor cores
  using u64 = unsigned long long;  // integer products wrap in 64 bits, as on the CPU
  switch (t) {
    case DType::Float16: return launch<__half, float>(g, bi, s);
    case DType::BFloat16: return launch<__nv_bfloat16, float>(g, bi, s);
    case DType::Float32: return launch<float, float>(g, bi, s);
    case DType::Float64: return launch<double, double>(g, bi, s);
    case DType::UInt8: return launch<uint8_t, u64>(g, bi, s);
    case DType::Int8: return launch<int8_t, u64>(g, bi, s);
    case DType::Int16: return launch<int16_t, u64>(g, bi, s);
    case DType::Int32: return launch<int32_t, u64>(g, bi, s);
    case DType::Int64: return launch<int64_t, u64>(g, bi, s);
    default: throw_dtype_error("matmul", t);
  }
}

}  // namespace pyml
