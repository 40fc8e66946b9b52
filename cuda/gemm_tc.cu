// Tensor-core GEMM (mma.sync): C = alpha * A @ B + beta * C for float16/bfloat16 (m16n8k16) and
// float32 as TF32 (m16n8k8), fp32 accumulation, over broadcast batches (blockIdx.z).
// Block tile 128 x 128, 64 bytes of K per step (32 half or 16 float), 8 warps of 64 x 32 each.
// Each operand is staged in the layout it has in memory (no copies for A^T or B^T): "K-fast"
// tiles are [128][BK + 16 B] and "MN-fast" tiles [BK][128 + 8], the padding putting the 8 rows
// an ldmatrix (or a tf32 fragment's scalar loads) touches in distinct banks; ldmatrix .trans
// turns an MN-fast 16-bit tile into the row/col fragments (tf32 reads those with scalar loads).
// Three stages of cp.async (zero-fill past M, N, K) keep two K steps in flight behind the mma;
// operands whose rows are not 16-byte aligned fill the same ring through registers instead.
#include "gemm_tc.cuh"
#include "gemm_tc_frag.cuh"

namespace pyml {
namespace cuda {
namespace {

using namespace tc;

// Where one matrix's operands live: element (m, k) of A at a[m * rsa + k * csa], etc.
template <typename T> struct Operands {
  const T* a;
  int64_t lda;  // A's slow stride (rsa when AK, else csa)
  const T* b;
  int64_t ldb;  // B's slow stride (csb when BK, else rsb)
};

// The K loop of one 128 x 128 tile: a kStages-deep ring, filled by cp.async (Aligned) or through
// registers (loads issued before a stage's products, stored after them); every thread calls it.
template <typename T, bool AK, bool BK, bool Aligned>
__device__ void mainloop(float (&acc)[4][4][4], T* As, T* Bs, const Operands<T>& o, const GemmArgs& g, int64_t m0,
                         int64_t n0) {
  using LA = Tile<T, AK>;
  using LB = Tile<T, BK>;
  const int warp = threadIdx.x / 32, wm = warp / 4, wn = warp % 4;
  const int ktiles = (int)((g.K + LA::kBK - 1) / LA::kBK);
  const TileLoader<T, AK> la(o.a, o.lda, g.M, g.K, m0);
  const TileLoader<T, BK> lb(o.b, o.ldb, g.N, g.K, n0);
  uint4 va[TileLoader<T, AK>::kChunks], vb[TileLoader<T, BK>::kChunks];
  auto load = [&](int kt) {
    const int st = kt % kStages;
    la.load(As + st * LA::kElems, kt, g.K);
    lb.load(Bs + st * LB::kElems, kt, g.K);
  };
  auto store = [&](int kt) {
    const int st = kt % kStages;
    la.store(As + st * LA::kElems, va);
    lb.store(Bs + st * LB::kElems, vb);
  };
#pragma unroll
  for (int kt = 0; kt < kStages - 1; kt++) {
    if (kt < ktiles) {
      if constexpr (Aligned) load(kt);
      else la.fetch(va, kt, g.K), lb.fetch(vb, kt, g.K), store(kt);
    }
    mma::cp_async_commit();  // empty groups keep the count uniform
  }
  for (int kt = 0; kt < ktiles; kt++) {
    mma::cp_async_wait<kStages - 2>();  // this thread's copies of step kt have landed
    __syncthreads();                    // everyone's have, and step kt - 1's stage is free again
    const bool next = kt + kStages - 1 < ktiles;
    if (next) {
      if constexpr (Aligned) load(kt + kStages - 1);
      else la.fetch(va, kt + kStages - 1, g.K), lb.fetch(vb, kt + kStages - 1, g.K);
    }
    mma::cp_async_commit();
    const int st = kt % kStages;
    compute_stage<T, AK, BK>(acc, As + st * LA::kElems, Bs + st * LB::kElems, wm, wn);
    if (!Aligned && next) store(kt + kStages - 1);  // that stage was last read before this step's barrier
  }
  mma::cp_async_wait<0>();
  __syncthreads();  // the stages are reused by the next tile
}

// C = alpha * acc + beta * C for this thread's accumulators (beta == 0: C is not read).
template <typename T>
__device__ __forceinline__ void epilogue(const float (&acc)[4][4][4], T* C, const GemmArgs& g, int64_t m0, int64_t n0) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float alpha = (float)g.alpha, beta = (float)g.beta;
#pragma unroll
  for (int mi = 0; mi < 4; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int64_t m = m0 + warp / 4 * 64 + mi * 16 + lane / 4 + 8 * (i / 2);
        const int64_t n = n0 + warp % 4 * 32 + ni * 8 + 2 * (lane % 4) + i % 2;
        if (m >= g.M || n >= g.N) continue;
        T* c = C + m * g.rsc + n * g.csc;
        float v = alpha * acc[mi][ni][i];
        if (g.beta != 0) v += beta * convert<float>(*c);
        *c = convert<T>(v);
      }
}

// A: (M, K), B: (K, N), C: (M, N) per batch matrix, offsets from bi; AK: A's K stride is 1 (else
// its M stride); BK: B's K stride is 1 (else its N stride). Grid: x = 128 x 128 tiles, z = batches.
template <typename T, bool AK, bool BK, bool Aligned>
__global__ void __launch_bounds__(kTcThreads, 1) gemm_tc_kernel(GemmArgs g, BatchIndex<3> bi) {
  PYML_DYNAMIC_SMEM(smem);
  T* As = reinterpret_cast<T*>(smem);
  T* Bs = As + kStages * Tile<T, AK>::kElems;
  int64_t tm, tn;
  tile_coords(blockIdx.x, (g.M + kBM - 1) / kBM, (g.N + kBN - 1) / kBN, tm, tn);
  for (int64_t b = blockIdx.z; b < bi.count; b += gridDim.z) {
    int64_t off[3];
    bi.offsets(b, off);
    const Operands<T> o{static_cast<const T*>(g.A) + off[0], AK ? g.rsa : g.csa, static_cast<const T*>(g.B) + off[1],
                        BK ? g.csb : g.rsb};
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 64; i++) (&acc[0][0][0])[i] = 0.f;
    mainloop<T, AK, BK, Aligned>(acc, As, Bs, o, g, tm * kBM, tn * kBN);
    epilogue<T>(acc, static_cast<T*>(g.C) + off[2], g, tm * kBM, tn * kBN);
  }
}

template <typename T, bool AK, bool BK, bool Aligned>
void launch(const GemmArgs& g, const BatchIndex<3>& bi, cudaStream_t s) {
  constexpr int smem = kStages * (Tile<T, AK>::kBytes + Tile<T, BK>::kBytes);
  void (*kernel)(GemmArgs, BatchIndex<3>) = gemm_tc_kernel<T, AK, BK, Aligned>;
  static bool raised[64] = {};  // per device: the limit is a property of the kernel on each device
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), "matmul");
  if (dev >= 64 || !raised[dev]) {
    PYML_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem), "matmul");
    if (dev < 64) raised[dev] = true;
  }
  const int64_t tiles = ((g.M + kBM - 1) / kBM) * ((g.N + kBN - 1) / kBN);
  dim3 grid((unsigned)tiles, 1, (unsigned)std::min<int64_t>(bi.count, 65535));
  kernel<<<grid, kTcThreads, smem, s>>>(g, bi);
  PYML_CUDA_LAUNCH_CHECK("matmul");
}

// Operand k's rows start 16-byte aligned in every batch matrix: base pointer, slow stride and
// batch strides all multiples of 16 bytes.
bool rows_aligned(const void* p, int64_t slow, const BatchIndex<3>& bi, int k, int64_t elem) {
  const int64_t e = 16 / elem;
  bool ok = reinterpret_cast<uintptr_t>(p) % 16 == 0 && slow % e == 0;
  for (int d = 0; d < bi.nd; d++) ok = ok && bi.stride[k][d] % e == 0;
  return ok;
}

template <typename T, bool Aligned> void dispatch_layout(const GemmArgs& g, const BatchIndex<3>& bi, bool ak, bool bk,
                                                         cudaStream_t s) {
  if (ak && bk) launch<T, true, true, Aligned>(g, bi, s);
  else if (ak) launch<T, true, false, Aligned>(g, bi, s);
  else if (bk) launch<T, false, true, Aligned>(g, bi, s);
  else launch<T, false, false, Aligned>(g, bi, s);
}

// Operands with 16-byte aligned rows stream by cp.async; others (odd row lengths such as K = 4095,
// offsets) by element loads through registers into the same shared layout, still on tensor cores.
template <typename T> bool dispatch(const GemmArgs& g, const BatchIndex<3>& bi, cudaStream_t s) {
  const bool ak = g.csa == 1, am = !ak && g.rsa == 1, bk = g.rsb == 1, bn = !bk && g.csb == 1;
  if (!(ak || am) || !(bk || bn)) return false;
  if (((g.M + kBM - 1) / kBM) * ((g.N + kBN - 1) / kBN) > INT32_MAX) return false;
  if (rows_aligned(g.A, ak ? g.rsa : g.csa, bi, 0, sizeof(T)) && rows_aligned(g.B, bk ? g.csb : g.rsb, bi, 1, sizeof(T)))
    dispatch_layout<T, true>(g, bi, ak, bk, s);
  else
    dispatch_layout<T, false>(g, bi, ak, bk, s);
  return true;
}

}  // namespace

bool gemm_tc_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, bool tf32, cudaStream_t s) {
  if (t == DType::Float16) return dispatch<__half>(g, bi, s);
  if (t == DType::BFloat16) return dispatch<__nv_bfloat16>(g, bi, s);
  if (t == DType::Float32 && tf32) return dispatch<float>(g, bi, s);
  return false;
}

}  // namespace cuda
}  // namespace pyml
