// Flash-attention forward on Hopper (sm_90a): TMA + wgmma, float16/bfloat16, head dims D = 64, 128.
// A block owns 128 queries of one batch matrix: warpgroup 0 produces (one thread issues the TMA
// loads; setmaxnreg 40), warpgroups 1 and 2 each own 64 query rows (setmaxnreg 232). Q arrives once
// (D / 64 boxes of 128 rows x 128 bytes, 128B-swizzled); 128-key K and V tiles stream through a ring
// of kStages (3 at D = 64, 2 at D = 128) with full (K, V apart) and empty mbarriers.
// Per key tile: S = Q K^T by wgmma m64n128k16 (both K-major, from shared memory), online softmax on
// the accumulators in the log2 domain (row max/sum across the 4 lanes of a quad, as attention_tc),
// P packed to 16 bits in registers straight into wgmma's register-A layout, O += P V by wgmma
// m64n{D}k16 (V N-major: transpose bit). v2 (kOverlap): tile j+1's S and tile j's P V are issued
// together and the softmax of j+1 runs while P V is in flight (FA3's intra-warpgroup overlap). Causal: key tiles past the block's last query are skipped,
// edge tiles masked; TMA zero-fills past L and S, keys >= S are -inf, rows >= L are not stored.
// Shared: Q 128 D 2 + kStages x 2 x 128 D 2 + barriers + 1 KiB alignment slack: D = 64: 115,792 B;
// D = 128: 164,920 B. Registers: 384 threads at 168 (launch bounds), then 40 / 232.
// Resources (nvcc 13.0, -Xptxas -v, cuobjdump), v1 and v2 alike: each of the 4 kernels 168 registers
// at entry, 0 stack, 0 spills, no LDL/STL, no ptxas serialisation warning (C7514); HGMMA .64x128x16
// (S) and register-A .64x{D}x16 .tnspB (P V): v2 D = 128 32 (S twice, P V twice: loop + peeled), D = 64
// 8 + 16; UTMALDG.3D, USETMAXREG.DEALLOC/TRY_ALLOC.
#include "attention_wgmma.cuh"
#include <climits>
#include "wgmma.cuh"

namespace pyml {
namespace {

using P = SdpaCudaParams;
namespace wg = cuda::wg;
constexpr int kBM = 128, kBN = 128, kThreads = 384, kChunk = 128 * 128;  // a box: 128 rows x 128 bytes
constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;
template <int D> constexpr int kStages = D == 64 ? 3 : 2;
constexpr bool kOverlap = true;  // v2 (softmax under the next S and this P V); false: v1, serial
template <int D> constexpr int kTile = 128 * D * 2;  // a Q, K or V tile: D / 64 boxes
template <int D> constexpr int kBars = 1 + 3 * kStages<D>;  // Q, then K full, V full, empty per stage
template <int D> constexpr int kSmem = (1 + 2 * kStages<D>) * kTile<D> + 8 * kBars<D> + 1024;

struct FaArgs {
  int64_t L, S, nb, nqt;
  float sl2;  // scale * log2(e)
  bool causal, bq, bk, bv;  // b*: the operand's map has a batch dim (else coordinate 0: it broadcasts)
  void* out;
  float* lse;
};

__device__ __forceinline__ float ninf() { return -__int_as_float(0x7f800000); }

// One thread: Q of this block, then K and V tiles 0..nkt-1 into the ring; a stage is refilled once
// the 8 consumer warps arrived on its empty barrier.
template <int D>
__device__ void producer(const CUtensorMap* tq, const CUtensorMap* tk, const CUtensorMap* tv, const FaArgs& a,
                         int64_t b, int q0, int nkt, unsigned char* smem, uint64_t* bars) {
  constexpr int S = kStages<D>;
  uint64_t *qbar = bars, *fullk = bars + 1, *fullv = fullk + S, *empty = fullv + S;
  wg::mbar_arrive_expect_tx(qbar, kTile<D>);
  for (int j = 0; j < D / 64; j++) wg::tma_load_3d(smem + j * kChunk, tq, qbar, 64 * j, q0, a.bq ? (int)b : 0);
  for (int kt = 0; kt < nkt; kt++) {
    const int s = kt % S;
    unsigned char* K = smem + (1 + 2 * s) * kTile<D>;
    unsigned char* V = K + kTile<D>;
    wg::mbar_wait(&empty[s], ((kt / S) & 1) ^ 1);
    wg::mbar_arrive_expect_tx(&fullk[s], kTile<D>);
    for (int j = 0; j < D / 64; j++) wg::tma_load_3d(K + j * kChunk, tk, &fullk[s], 64 * j, kt * kBN, a.bk ? (int)b : 0);
    wg::mbar_arrive_expect_tx(&fullv[s], kTile<D>);
    for (int j = 0; j < D / 64; j++) wg::tma_load_3d(V + j * kChunk, tv, &fullv[s], 64 * j, kt * kBN, a.bv ? (int)b : 0);
  }
}

// Online softmax of this thread's share of a 64 x 128 score tile: sc[i] is S[16w + g + 8h][8(i/4) +
// 2t + i%2] with h = (i/2) % 2. sc becomes P = exp2(x - m); m, the thread's partial row sums l and o
// (same row mapping) are updated. row0: the query of fragment row 0 (16w + g), k0: the tile's first key.
__device__ __forceinline__ void softmax_tile(float (&sc)[64], float (&m)[2], float (&l)[2], float (&alpha)[2],
                                             const FaArgs& a, int64_t row0, int64_t k0, bool edge) {
  const int t = threadIdx.x % 4;
  float mx[2] = {ninf(), ninf()};
#pragma unroll
  for (int i = 0; i < 64; i++) {
    float x = sc[i] * a.sl2;
    const int64_t key = k0 + 8 * (i / 4) + 2 * t + i % 2;
    if (edge && (key >= a.S || (a.causal && key > row0 + 8 * (i / 2 % 2)))) x = ninf();
    sc[i] = x;
    mx[i / 2 % 2] = fmaxf(mx[i / 2 % 2], x);
  }
#pragma unroll
  for (int h = 0; h < 2; h++) {
    mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
    mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
    const float mnew = fmaxf(m[h], mx[h]);
    const float muse = mnew == ninf() ? 0.f : mnew;  // nothing seen yet: exp2(-inf - 0) = 0, no NaN
    alpha[h] = exp2f(m[h] - muse);
    float sum = 0.f;
#pragma unroll
    for (int n = 0; n < 16; n++)
#pragma unroll
      for (int e = 0; e < 2; e++) sc[4 * n + 2 * h + e] = exp2f(sc[4 * n + 2 * h + e] - muse), sum += sc[4 * n + 2 * h + e];
    l[h] = l[h] * alpha[h] + sum;
    m[h] = mnew;
  }
}

// o's rows (h = (i/2) % 2, as sc's) times alpha[h]: the running max moved.
template <int D> __device__ __forceinline__ void rescale(float (&o)[D / 2], const float (&alpha)[2]) {
#pragma unroll
  for (int n = 0; n < D / 8; n++)
#pragma unroll
    for (int e = 0; e < 4; e++) o[4 * n + e] *= alpha[e / 2];
}

// P (sc, fp32) -> the register-A fragments of the 8 k-steps of P V: step kk, register r holds
// columns 16kk + 2t (+8 for r >= 2) of row g (+8 for odd r) = sc[8kk + 2r], sc[8kk + 2r + 1].
template <typename T> __device__ __forceinline__ void pack_p(uint32_t (&pf)[8][4], const float (&sc)[64]) {
#pragma unroll
  for (int kk = 0; kk < 8; kk++)
#pragma unroll
    for (int r = 0; r < 4; r++) pf[kk][r] = cuda::mma::pack2<T>(sc[8 * kk + 2 * r], sc[8 * kk + 2 * r + 1]);
}

// Issues (and commits) S = Q K^T for this warpgroup's 64 rows: Q, K K-major, 16 values = 32 bytes along
// a box row, the next 64 columns a box (16 KiB) on.
template <typename T, int D>
__device__ __forceinline__ void issue_s(float (&sc)[64], const unsigned char* Q, const unsigned char* K) {
#pragma unroll
  for (int kk = 0; kk < D / 16; kk++) {
    const int off = kk / 4 * kChunk + kk % 4 * 32;
    wg::wgmma_m64k16<T, 128, false, false>(sc, wg::make_desc(Q + off, 16, 1024), wg::make_desc(K + off, 16, 1024), kk > 0);
  }
  wg::wgmma_commit();
}

// Issues (and commits) O += P V: V N-major, 16 keys = 2 atoms of 8 rows, the next 64 columns a box on.
template <typename T, int D>
__device__ __forceinline__ void issue_pv(float (&o)[D / 2], const uint32_t (&pf)[8][4], const unsigned char* V) {
#pragma unroll
  for (int kk = 0; kk < 8; kk++) wg::wgmma_rs_m64k16<T, D, true>(o, pf[kk], wg::make_desc(V + kk * 2048, kChunk, 1024), 1);
  wg::wgmma_commit();
}

// O / l and lse for this thread's rows (row0, row0 + 8); out: (nb, L, D) contiguous, lse (nb, L).
template <typename T, int D>
__device__ __forceinline__ void epilogue(const FaArgs& a, int64_t b, int64_t row0, const float (&o)[D / 2],
                                         const float (&m)[2], const float (&l)[2]) {
  const int t = threadIdx.x % 4;
#pragma unroll
  for (int h = 0; h < 2; h++) {
    float lt = l[h] + __shfl_xor_sync(0xffffffffu, l[h], 1);
    lt += __shfl_xor_sync(0xffffffffu, lt, 2);
    const int64_t i = row0 + 8 * h;
    if (i >= a.L) continue;
    const float inv = lt > 0.f ? 1.f / lt : 0.f;
    uint32_t* out = reinterpret_cast<uint32_t*>(static_cast<T*>(a.out) + (b * a.L + i) * D);
#pragma unroll
    for (int n = 0; n < D / 8; n++) out[n * 4 + t] = cuda::mma::pack2<T>(o[4 * n + 2 * h] * inv, o[4 * n + 2 * h + 1] * inv);
    if (t == 0) a.lse[b * a.L + i] = lt > 0.f ? m[h] * kLn2 + logf(lt) : -ninf();
  }
}

// Consumer warpgroup c: rows q0 + 64c .. + 63 against key tiles 0..nkt-1. kOverlap (v2): the next
// tile's S = Q K^T and this tile's O += P V are in flight while the softmax of the next tile runs
// (the exponentials hide under the tensor cores; o is rescaled once P V has retired); v1 runs
// S -> softmax -> P V one after another.
template <typename T, int D, bool kOverlap>
__device__ void consumer(const FaArgs& a, int64_t b, int64_t q0, int nkt, int c, unsigned char* smem, uint64_t* bars) {
  constexpr int S = kStages<D>;
  uint64_t *qbar = bars, *fullk = bars + 1, *fullv = fullk + S, *empty = fullv + S;
  const int T_ = threadIdx.x % 128, w = T_ / 32, g = T_ % 32 / 4;
  const int64_t row0 = q0 + 64 * c + 16 * w + g, wg_first = q0 + 64 * c;
  const unsigned char* Q = smem + c * 64 * 128;  // this warpgroup's 64 rows of each box
  auto K = [&](int kt) { return smem + (1 + 2 * (kt % S)) * kTile<D>; };
  auto edge = [&](int kt) {  // keys past S, or (causal) a key past this warpgroup's first row
    const int64_t k0 = (int64_t)kt * kBN;
    return k0 + kBN > a.S || (a.causal && k0 + kBN - 1 > wg_first);
  };
  float o[D / 2], m[2] = {ninf(), ninf()}, l[2] = {0.f, 0.f}, alpha[2], sc[64];
  uint32_t pf[8][4];
#pragma unroll
  for (int i = 0; i < D / 2; i++) o[i] = 0.f;
  wg::mbar_wait(qbar, 0);
  if constexpr (kOverlap) {
    wg::mbar_wait(&fullk[0], 0);  // S and P of tile 0 before the loop
    wg::wgmma_fence();
    issue_s<T, D>(sc, Q, K(0));
    wg::wgmma_wait<0>();
    softmax_tile(sc, m, l, alpha, a, row0, 0, edge(0));  // o is still 0: no rescale
    // Every wgmma unconditional inside the loop (the last tile's P V after it): a conditional issue
    // makes ptxas serialise the wgmma pipeline (C7514).
#pragma unroll 1
    for (int kt = 0; kt + 1 < nkt; kt++) {
      pack_p<T>(pf, sc);
      wg::mbar_wait(&fullk[(kt + 1) % S], ((kt + 1) / S) & 1);
      wg::mbar_wait(&fullv[kt % S], (kt / S) & 1);
      wg::wgmma_fence();  // o was rescaled, pf and sc touched by ordinary instructions
      issue_s<T, D>(sc, Q, K(kt + 1));
      issue_pv<T, D>(o, pf, K(kt) + kTile<D>);
      wg::wgmma_wait<1>();  // S of tile kt + 1 (committed first) has retired; P V still runs
      softmax_tile(sc, m, l, alpha, a, row0, (int64_t)(kt + 1) * kBN, edge(kt + 1));
      wg::wgmma_wait<0>();
      rescale<D>(o, alpha);
      if (threadIdx.x % 32 == 0) wg::mbar_arrive(&empty[kt % S]);  // one arrival per warp, 8 in all
    }
    pack_p<T>(pf, sc);
    wg::mbar_wait(&fullv[(nkt - 1) % S], ((nkt - 1) / S) & 1);
    wg::wgmma_fence();
    issue_pv<T, D>(o, pf, K(nkt - 1) + kTile<D>);
    wg::wgmma_wait<0>();
    if (threadIdx.x % 32 == 0) wg::mbar_arrive(&empty[(nkt - 1) % S]);  // (nobody waits on it: symmetry)
  } else {
#pragma unroll 1
    for (int kt = 0; kt < nkt; kt++) {
      const uint32_t ph = (kt / S) & 1;
      wg::mbar_wait(&fullk[kt % S], ph);
      wg::wgmma_fence();
      issue_s<T, D>(sc, Q, K(kt));
      wg::wgmma_wait<0>();
      softmax_tile(sc, m, l, alpha, a, row0, (int64_t)kt * kBN, edge(kt));
      rescale<D>(o, alpha);
      pack_p<T>(pf, sc);
      wg::mbar_wait(&fullv[kt % S], ph);
      wg::wgmma_fence();
      issue_pv<T, D>(o, pf, K(kt) + kTile<D>);
      wg::wgmma_wait<0>();
      if (threadIdx.x % 32 == 0) wg::mbar_arrive(&empty[kt % S]);
    }
  }
  epilogue<T, D>(a, b, row0, o, m, l);
}

// q: map (D, L, nb) with box (64, 128); k, v: (D, S, nb) likewise. out (nb, L, D), lse (nb, L).
// Grid: nb x ceil(L / 128) blocks (heaviest causal tiles first), 384 threads, kSmem<D> dynamic.
template <typename T, int D>
__global__ void __launch_bounds__(kThreads, 1)
    fa_wgmma_fwd_kernel(const __grid_constant__ CUtensorMap tq, const __grid_constant__ CUtensorMap tk,
                        const __grid_constant__ CUtensorMap tv, FaArgs a) {
#if defined(PYML_SM90A) || defined(PYML_CUDA_EMU)
  PYML_DYNAMIC_SMEM(raw);
  unsigned char* smem = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(raw) + 1023) & ~uintptr_t(1023));
  uint64_t* bars = reinterpret_cast<uint64_t*>(smem + (1 + 2 * kStages<D>) * kTile<D>);
  const int64_t w = blockIdx.x, q0 = (a.nqt - 1 - w / a.nb) * kBM, b = w % a.nb;
  const int64_t kend = a.causal ? min(a.S, q0 + kBM) : a.S;
  const int nkt = (int)((kend + kBN - 1) / kBN);
  if (threadIdx.x == 0) {
    wg::mbar_init(&bars[0], 1);
    for (int s = 0; s < kStages<D>; s++) {
      wg::mbar_init(&bars[1 + s], 1), wg::mbar_init(&bars[1 + kStages<D> + s], 1);
      wg::mbar_init(&bars[1 + 2 * kStages<D> + s], 8);
    }
    wg::fence_barrier_init();
  }
  __syncthreads();
  if (threadIdx.x < 128) {  // warpgroup 0: the producer
    wg::setmaxnreg_dec<40>();
    if (threadIdx.x == 0) producer<D>(&tq, &tk, &tv, a, b, (int)q0, nkt, smem, bars);
  } else {
    wg::setmaxnreg_inc<232>();
    consumer<T, D, kOverlap>(a, b, q0, nkt, threadIdx.x / 128 - 1, smem, bars);
  }
#endif
}

// The map of operand k (0 q, 1 k, 2 v) with `rows` rows: (D, rows, nb) where it steps through the
// single batch dim, (D, rows, 1) where it broadcasts (batched = false). False where TMA cannot take it.
bool operand_map(CUtensorMap* map, bool bf16, const P::View& v, const P& p, int k, int64_t rows, bool& batched) {
  const int64_t lim = (int64_t(1) << 31) - 256, bs = p.bi.nd ? p.bi.stride[k][0] : 0;
  batched = bs != 0;
  const int64_t nb = batched ? p.bi.count : 1;
  if (v.cs != 1 || reinterpret_cast<uintptr_t>(v.data) % 16 || v.rs % 8 || bs % 8 || v.rs < p.E || bs < 0) return false;
  if (rows >= lim || nb >= lim || v.rs >= (int64_t(1) << 39) / rows || bs * 2 >= (int64_t(1) << 40)) return false;
  const uint64_t dims[3] = {(uint64_t)p.E, (uint64_t)rows, (uint64_t)nb};
  const uint64_t strides[2] = {(uint64_t)v.rs * 2, (uint64_t)(batched ? bs : v.rs * rows) * 2};
  const uint32_t box[3] = {64, 128, 1};
  return wg::encode_tensor_map(map, bf16, v.data, 3, dims, strides, box);
}

bool is_hopper() {
  static int cached[64] = {};  // per device: 1 + (major == 9)
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), "scaled_dot_product_attention");
  if (dev < 64 && cached[dev]) return cached[dev] == 2;
  int major = 0;
  PYML_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "scaled_dot_product_attention");
  if (dev < 64) cached[dev] = 1 + (major == 9);
  return major == 9;
}

template <typename T, int D> void launch(const CUtensorMap (&maps)[3], const FaArgs& a, cudaStream_t s) {
  const char* op = "scaled_dot_product_attention";
  void (*kernel)(const CUtensorMap, const CUtensorMap, const CUtensorMap, FaArgs) = fa_wgmma_fwd_kernel<T, D>;
  static bool raised[64] = {};  // the limit is a property of the kernel on each device
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), op);
  if (dev >= 64 || !raised[dev]) {
    PYML_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         kSmem<D>), op);
    if (dev < 64) raised[dev] = true;
  }
  kernel<<<(unsigned)(a.nb * a.nqt), kThreads, kSmem<D>, s>>>(maps[0], maps[1], maps[2], a);
  PYML_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

bool sdpa_forward_wgmma(const SdpaCudaParams& p, DType t, cudaStream_t s) {
  if ((t != DType::Float16 && t != DType::BFloat16) || p.E != p.Ev || (p.E != 64 && p.E != 128)) return false;
  if (p.mask_kind != MaskKind::None || p.L == 0 || p.S == 0 || p.bi.count == 0 || p.bi.nd > 1) return false;
  const int64_t nqt = (p.L + kBM - 1) / kBM;
  if (p.bi.count * nqt > INT_MAX || !is_hopper()) return false;
  const bool bf = t == DType::BFloat16;
  CUtensorMap maps[3];
  FaArgs a{p.L, p.S, p.bi.count, nqt, (float)p.scale * kLog2e, p.causal, false, false, false, p.out,
           static_cast<float*>(p.lse)};
  if (!operand_map(&maps[0], bf, p.q, p, 0, p.L, a.bq) || !operand_map(&maps[1], bf, p.k, p, 1, p.S, a.bk) ||
      !operand_map(&maps[2], bf, p.v, p, 2, p.S, a.bv))
    return false;
  if (bf) p.E == 64 ? launch<__nv_bfloat16, 64>(maps, a, s) : launch<__nv_bfloat16, 128>(maps, a, s);
  else p.E == 64 ? launch<__half, 64>(maps, a, s) : launch<__half, 128>(maps, a, s);
  return true;
}

}  // namespace pyml
