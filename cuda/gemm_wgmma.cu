// Hopper GEMM (sm_90a): C = alpha * A @ B + beta * C for float16/bfloat16, fp32 accumulation.
// Block tile 128 x 256, K step 64 (one 128-byte swizzle row), 4-stage ring of TMA loads into
// 128B-swizzled shared memory; 3 warpgroups: WG0 produces (one thread issues the TMA, registers
// cut to 40 by setmaxnreg), WG1/WG2 each own 64 x 256 of the tile and run wgmma m64n256k16 with
// A and B read through descriptors (transpose bits: A K- or M-major, B K- or N-major; no copies).
// Arithmetic: stage = A 128x64x2 B (16 KiB) + B 256x64x2 B (32 KiB) = 48 KiB, x4 = 192 KiB + 64 B of
// barriers + 1 KiB alignment slack = 197,696 B (<= 227 KiB). Registers: 384 threads at 168
// (launch bounds), then 40 (producer) / 232 (consumers): 128x40 + 256x232 = 64,512 <= 65,536;
// a consumer holds 128 fp32 accumulators. Persistent grid (one block per SM) walking batch x tiles
// in groups of 8 tile-rows (L2 reuse); TMA zero-fills past M, N, K; stores are guarded.
// Resources (nvcc 13.0, -Xptxas -v, cuobjdump): each of the 8 kernels 168 registers at entry, 0 stack,
// 0 spills, no LDL/STL; 4 HGMMA.64x256x16 + 3-5 UTMALDG + 2 USETMAXREG per kernel in SASS.
#include "gemm_wgmma.cuh"
#include "gemm_tc_frag.cuh"
#include "wgmma.cuh"

namespace pyml {
namespace cuda {
namespace {

constexpr int kBM = 128, kBN = 256, kBK = 64, kStages = 4, kWgThreads = 384;
constexpr int kABytes = kBM * kBK * 2, kBBytes = kBN * kBK * 2, kStageBytes = kABytes + kBBytes;
constexpr int kSmem = kStages * kStageBytes + 2 * kStages * 8 + 1024;
constexpr int kBox = 8192;  // one MN-major box: 64 K rows x 128 bytes
constexpr int kConsumerWarps = 8;  // arrivals that free a stage

struct WgArgs {
  int64_t M, N, K, tiles_m, tiles_n, count;  // count: batch matrices
  void* C;
  int64_t rsc, csc;
  float alpha, beta;
  bool batch_a, batch_b;  // operand has a batch dim in its map (else it broadcasts: coordinate 0)
  BatchIndex<3> bi;       // C's offsets per batch matrix
};

// Work item w of the persistent loop -> batch b and tile (tm, tn).
__device__ __forceinline__ void work_coords(int64_t w, const WgArgs& a, int64_t& b, int64_t& tm, int64_t& tn) {
  const int64_t tiles = a.tiles_m * a.tiles_n;
  b = w / tiles;
  tc::tile_coords(w % tiles, a.tiles_m, a.tiles_n, tm, tn);
}

// One thread: streams every K step of this block's tiles into the ring. A stage is refilled once
// all 8 consumer warps arrived on its empty barrier; its full barrier completes with the TMA bytes.
template <bool AM, bool BN>
__device__ void producer(const CUtensorMap* ta, const CUtensorMap* tb, const WgArgs& a, unsigned char* ring,
                         uint64_t* full, uint64_t* empty) {
  const int ktiles = (int)((a.K + kBK - 1) / kBK);
  uint32_t it = 0;
  for (int64_t w = blockIdx.x; w < a.count * a.tiles_m * a.tiles_n; w += gridDim.x) {
    int64_t b, tm, tn;
    work_coords(w, a, b, tm, tn);
    const int za = a.batch_a ? (int)b : 0, zb = a.batch_b ? (int)b : 0;
    const int m0 = (int)(tm * kBM), n0 = (int)(tn * kBN);
    for (int kt = 0; kt < ktiles; kt++, it++) {
      const int s = it % kStages, k0 = kt * kBK;
      wg::mbar_wait(&empty[s], ((it / kStages) & 1) ^ 1);
      wg::mbar_arrive_expect_tx(&full[s], kStageBytes);
      unsigned char* A = ring + s * kStageBytes;
      unsigned char* B = A + kABytes;
      if (AM) for (int j = 0; j < kBM / 64; j++) wg::tma_load_3d(A + j * kBox, ta, &full[s], m0 + 64 * j, k0, za);
      else wg::tma_load_3d(A, ta, &full[s], k0, m0, za);
      if (BN) for (int j = 0; j < kBN / 64; j++) wg::tma_load_3d(B + j * kBox, tb, &full[s], n0 + 64 * j, k0, zb);
      else wg::tma_load_3d(B, tb, &full[s], k0, n0, zb);
    }
  }
}

// The K loop of one tile for consumer warpgroup c (rows 64c.. of the tile): 4 wgmma per stage;
// the stage before is released once its group retired (wait<1>), the last one after wait<0>.
template <typename T, bool AM, bool BN>
__device__ void consume_tile(float (&acc)[128], int c, int ktiles, uint32_t& it, unsigned char* ring,
                             uint64_t* full, uint64_t* empty) {
  const bool leader = threadIdx.x % 32 == 0;  // one arrival per warp: wait_group speaks for its own warp
#pragma unroll 1
  for (int kt = 0; kt < ktiles; kt++, it++) {
    const int s = it % kStages;
    wg::mbar_wait(&full[s], (it / kStages) & 1);
    const unsigned char* A = ring + s * kStageBytes + (AM ? c * kBox : c * 64 * 128);
    const unsigned char* B = ring + s * kStageBytes + kABytes;
    wg::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kBK / 16; kk++) {
      // K-major: 16 K values = 32 bytes along the swizzled row; MN-major: 16 K rows = 2 atoms
      const uint64_t da = AM ? wg::make_desc(A + kk * 2048, kBox, 1024) : wg::make_desc(A + kk * 32, 16, 1024);
      const uint64_t db = BN ? wg::make_desc(B + kk * 2048, kBox, 1024) : wg::make_desc(B + kk * 32, 16, 1024);
      wg::wgmma_m64k16<T, 256, AM, BN>(acc, da, db, 1);
    }
    wg::wgmma_commit();
    wg::wgmma_wait<1>();
    if (kt > 0 && leader) wg::mbar_arrive(&empty[(it - 1) % kStages]);
  }
  wg::wgmma_wait<0>();
  if (ktiles > 0 && leader) wg::mbar_arrive(&empty[(it - 1) % kStages]);
}

template <typename T> struct alignas(2 * sizeof(T)) Pair { T x, y; };

// C = alpha * acc + beta * C for this thread's fragment (beta == 0: C is not read). acc[4j + 2h + e]
// is element (16w + g + 8h, 8j + 2t + e): the two e of a row go out as one 4-byte store where C's
// rows are contiguous and 4-byte aligned, else one by one; rows past M and columns past N are skipped.
template <typename T>
__device__ __forceinline__ void epilogue(const float (&acc)[128], const WgArgs& a, T* C, int64_t m0, int64_t n0) {
  const int T_ = threadIdx.x % 128, w = T_ / 32, g = T_ % 32 / 4, t = T_ % 4;
  const bool pairs = a.csc == 1 && a.rsc % 2 == 0 && reinterpret_cast<uintptr_t>(C) % (2 * sizeof(T)) == 0;
  const bool read = a.beta != 0.f;
#pragma unroll
  for (int h = 0; h < 2; h++) {
    const int64_t m = m0 + 16 * w + g + 8 * h;
    if (m >= a.M) continue;
    T* row = C + m * a.rsc;
#pragma unroll
    for (int j = 0; j < 32; j++) {
      const int64_t n = n0 + 8 * j + 2 * t;
      float v0 = a.alpha * acc[4 * j + 2 * h], v1 = a.alpha * acc[4 * j + 2 * h + 1];
      if (pairs && n + 1 < a.N) {  // n is even: the pair is 4-byte aligned
        Pair<T>* p = reinterpret_cast<Pair<T>*>(row + n);
        if (read) {
          const Pair<T> c = *p;
          v0 += a.beta * convert<float>(c.x), v1 += a.beta * convert<float>(c.y);
        }
        *p = Pair<T>{convert<T>(v0), convert<T>(v1)};
        continue;
      }
      for (int e = 0; e < 2; e++) {
        if (n + e >= a.N) break;
        T* c = row + (n + e) * a.csc;
        const float v = e ? v1 : v0;
        *c = convert<T>(read ? v + a.beta * convert<float>(*c) : v);
      }
    }
  }
}

template <typename T, bool AM, bool BN>
__device__ void consumer(const WgArgs& a, unsigned char* ring, uint64_t* full, uint64_t* empty, int c) {
  const int ktiles = (int)((a.K + kBK - 1) / kBK);
  uint32_t it = 0;
  for (int64_t w = blockIdx.x; w < a.count * a.tiles_m * a.tiles_n; w += gridDim.x) {
    int64_t b, tm, tn, off[3];
    work_coords(w, a, b, tm, tn);
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; i++) acc[i] = 0.f;
    consume_tile<T, AM, BN>(acc, c, ktiles, it, ring, full, empty);
    a.bi.offsets(b, off);
    epilogue<T>(acc, a, static_cast<T*>(a.C) + off[2], tm * kBM + 64 * c, tn * kBN);
  }
}

// ta: A's map (AM: dims (M, K, batch), else (K, M, batch)); tb: B's (BN: (N, K, batch), else
// (K, N, batch)); C: (M, N) per batch matrix at a.bi's offsets. Grid: min(SMs, work), 384 threads.
template <typename T, bool AM, bool BN>
__global__ void __launch_bounds__(kWgThreads, 1)
    gemm_wgmma_kernel(const __grid_constant__ CUtensorMap ta, const __grid_constant__ CUtensorMap tb, WgArgs a) {
#if defined(PYML_SM90A) || defined(PYML_CUDA_EMU)
  PYML_DYNAMIC_SMEM(raw);
  unsigned char* ring = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(raw) + 1023) & ~uintptr_t(1023));
  uint64_t* full = reinterpret_cast<uint64_t*>(ring + kStages * kStageBytes);
  uint64_t* empty = full + kStages;
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; s++) wg::mbar_init(&full[s], 1), wg::mbar_init(&empty[s], kConsumerWarps);
    wg::fence_barrier_init();
  }
  __syncthreads();
  if (threadIdx.x < 128) {  // warpgroup 0: the producer
    wg::setmaxnreg_dec<40>();
    if (threadIdx.x == 0) producer<AM, BN>(&ta, &tb, a, ring, full, empty);
  } else {
    wg::setmaxnreg_inc<232>();
    consumer<T, AM, BN>(a, ring, full, empty, threadIdx.x / 128 - 1);
  }
#endif
}

// One operand's map: inner (stride-1) extent, outer extent and its stride, batch extent and stride
// (elements); box = 64 inner x `rows` outer x 1. False where TMA cannot describe it.
bool operand_map(CUtensorMap* map, bool bf16, const void* p, int64_t inner, int64_t outer, int64_t ld,
                 int64_t nb, int64_t bstride, uint32_t rows) {
  const int64_t lim = (int64_t(1) << 31) - 256;  // coordinates (tile starts included) are int32
  if (inner >= lim || outer >= lim || nb >= lim || ld <= 0 || ld % 8 || bstride % 8 || bstride < 0) return false;
  if (reinterpret_cast<uintptr_t>(p) % 16 || ld * 2 >= (int64_t(1) << 40) || bstride * 2 >= (int64_t(1) << 40)) return false;
  const uint64_t dims[3] = {(uint64_t)inner, (uint64_t)outer, (uint64_t)nb};
  const uint64_t strides[2] = {(uint64_t)ld * 2, (uint64_t)(nb > 1 ? bstride : ld * outer) * 2};
  const uint32_t box[3] = {64, rows, 1};
  return wg::encode_tensor_map(map, bf16, p, 3, dims, strides, box);
}

int sm_count_if_hopper() {  // 0 unless the current device has compute capability 9.x
  static int cached[64] = {};  // per device: SMs + 1, or 1 for "not Hopper"
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), "matmul");
  if (dev < 64 && cached[dev]) return cached[dev] - 1;
  int major = 0, sms = 0;
  PYML_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "matmul");
  PYML_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "matmul");
  const int r = major == 9 ? sms : 0;
  if (dev < 64) cached[dev] = r + 1;
  return r;
}

template <typename T, bool AM, bool BN>
void launch(const CUtensorMap& ta, const CUtensorMap& tb, const WgArgs& a, int sms, cudaStream_t s) {
  void (*kernel)(const CUtensorMap, const CUtensorMap, WgArgs) = gemm_wgmma_kernel<T, AM, BN>;
  static bool raised[64] = {};  // per device, as in gemm_tc.cu
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), "matmul");
  if (dev >= 64 || !raised[dev]) {
    PYML_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem), "matmul");
    if (dev < 64) raised[dev] = true;
  }
  const int64_t work = a.count * a.tiles_m * a.tiles_n;
  kernel<<<(unsigned)std::min<int64_t>(work, sms), kWgThreads, kSmem, s>>>(ta, tb, a);
  PYML_CUDA_LAUNCH_CHECK("matmul");
}

template <typename T> bool dispatch(const GemmArgs& g, const BatchIndex<3>& bi, int sms, cudaStream_t s) {
  const bool ak = g.csa == 1, am = !ak && g.rsa == 1, bk = g.rsb == 1, bn = !bk && g.csb == 1;
  if (!(ak || am) || !(bk || bn) || g.K == 0 || bi.nd > 1) return false;
  const bool bf = std::is_same_v<T, __nv_bfloat16>;
  const int64_t sa = bi.nd ? bi.stride[0][0] : 0, sb = bi.nd ? bi.stride[1][0] : 0;
  const int64_t nba = sa ? bi.count : 1, nbb = sb ? bi.count : 1;
  CUtensorMap ta, tb;
  if (!(ak ? operand_map(&ta, bf, g.A, g.K, g.M, g.rsa, nba, sa, kBM) : operand_map(&ta, bf, g.A, g.M, g.K, g.csa, nba, sa, 64)))
    return false;
  if (!(bk ? operand_map(&tb, bf, g.B, g.K, g.N, g.csb, nbb, sb, kBN) : operand_map(&tb, bf, g.B, g.N, g.K, g.rsb, nbb, sb, 64)))
    return false;
  WgArgs a{g.M, g.N, g.K, (g.M + kBM - 1) / kBM, (g.N + kBN - 1) / kBN, bi.count, g.C, g.rsc, g.csc,
           (float)g.alpha, (float)g.beta, sa != 0, sb != 0, bi};
  if (ak && bk) launch<T, false, false>(ta, tb, a, sms, s);
  else if (ak) launch<T, false, true>(ta, tb, a, sms, s);
  else if (bk) launch<T, true, false>(ta, tb, a, sms, s);
  else launch<T, true, true>(ta, tb, a, sms, s);
  return true;
}

}  // namespace

bool gemm_wgmma_cuda(const GemmArgs& g, const BatchIndex<3>& bi, DType t, cudaStream_t s) {
  if (t != DType::Float16 && t != DType::BFloat16) return false;
  const int sms = sm_count_if_hopper();
  if (sms == 0) return false;
  return t == DType::Float16 ? dispatch<__half>(g, bi, sms, s) : dispatch<__nv_bfloat16>(g, bi, sms, s);
}

}  // namespace cuda
}  // namespace pyml
