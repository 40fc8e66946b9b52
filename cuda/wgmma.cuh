// Hopper (sm_90a) asynchronous primitives of cuda/gemm_wgmma.cu: mbarriers, TMA tile loads
// (cp.async.bulk.tensor) into 128-byte-swizzled shared memory, wgmma.mma_async with A and B in
// shared memory (matrix descriptors), setmaxnreg; host-side tensor-map encoding.
// Layouts (PTX ISA, "asynchronous warpgroup level matrix" sections), 16-bit elements:
//   128B swizzle: in each 1024-byte atom (8 rows of 128 bytes) the 16-byte chunk c of row r sits at
//     chunk c ^ r, i.e. shared address bits [4:6] ^= bits [7:9] (atoms 1024-byte aligned, base offset 0).
//   K-major operand (one 128-byte row = 64 K values per M/N index): element (mn, k) at
//     start + (mn % 8) * 128 + (mn / 8) * SBO + 2k, then swizzled; LBO is unused.
//   MN-major operand (one 128-byte row = 64 M/N values per K index): element (mn, k) at
//     start + 2 (mn % 64) + (mn / 64) * LBO + (k % 8) * 128 + (k / 8) * SBO, then swizzled.
//   A of m64nNk16 in registers (4 x b32 per thread, two 16-bit values each, the lower column in the
//     low half): a[j] holds A[16w + g + 8 (j % 2)][2t + 8 (j / 2) + {0, 1}] (the mma.m16n8k16 A layout per warp).
//   D of m64nNk16 (fp32): thread T of the warpgroup, w = T / 32, g = T % 32 / 4, t = T % 4 holds
//     d[i] = D[16w + g + 8 ((i / 2) % 2)][8 (i / 4) + 2t + i % 2], i < N / 2.
// The real PTX is compiled only in the sm_90a device pass (PYML_SM90A). Under PYML_CUDA_EMU each
// wrapper runs the same semantics in C++: the TMA writes the swizzled box (zeros out of bounds) and
// completes the barrier's transaction count; wgmma reads A and B through the descriptors at the
// wait that retires its group (so a stage released too early shows up as wrong results).
#pragma once
#include <cuda.h>  // CUtensorMap and the encoder's enums only: the driver is reached at run time
#include <cstdint>
#include "mma.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define PYML_SM90A 1
#endif

namespace pyml {
namespace cuda {
namespace wg {

#ifdef PYML_CUDA_EMU
}  // namespace wg
}  // namespace cuda
}  // namespace pyml
#include <cstdio>
#include <cstdlib>
#include <vector>
namespace pyml {
namespace cuda {
namespace wg {
namespace emu_detail {
// An mbarrier's 8 bytes: arrivals expected per phase, arrivals still pending (low 15 bits) with
// the current phase's parity (bit 15), and the pending transaction bytes.
struct Bar { uint16_t expected, pending_phase; int32_t tx; };
static_assert(sizeof(Bar) == 8, "mbarrier size");
inline Bar& bar(uint64_t* b) { return *reinterpret_cast<Bar*>(b); }
// The current phase completes when no arrival and no transaction byte is pending.
inline void complete_if_done(Bar& s) {
  if ((s.pending_phase & 0x7fff) == 0 && s.tx == 0) s.pending_phase = (uint16_t)(((s.pending_phase ^ 0x8000) & 0x8000) | s.expected);
}
inline void arrive(uint64_t* b) {
  Bar& s = bar(b);
  if ((s.pending_phase & 0x7fff) == 0) { std::fprintf(stderr, "emu: mbarrier arrive with no arrival pending\n"); std::abort(); }
  s.pending_phase--;
  complete_if_done(s);
}
struct TensorMap {  // what the emulated encoder keeps in the 128-byte CUtensorMap
  uint64_t magic;
  const unsigned char* base;
  int rank, esize, swizzle128;
  uint64_t dim[3], stride[3];  // stride in bytes; stride[0] = esize
  uint32_t box[3];
};
static_assert(sizeof(TensorMap) <= sizeof(CUtensorMap), "");
constexpr uint64_t kMapMagic = 0x706d6c746d617030ull;
inline uintptr_t swz128(uintptr_t a) { return a ^ (((a >> 7) & 7u) << 4); }
// Element (mn, k) of a 16-bit operand described by desc (128B swizzle only), as in the header.
inline const unsigned char* operand(uint64_t desc, int mn, int k, bool mn_major) {
  const uintptr_t start = (desc & 0x3fff) << 4, lbo = (desc >> 16 & 0x3fff) << 4, sbo = (desc >> 32 & 0x3fff) << 4;
  if ((desc >> 62) != 1 || (desc >> 49 & 7) != 0) {
    std::fprintf(stderr, "emu: wgmma descriptor with a swizzle other than 128B or a base offset\n");
    std::abort();
  }
  const uintptr_t off = mn_major ? 2 * (mn % 64) + (mn / 64) * lbo + (k % 8) * 128 + (k / 8) * sbo
                                 : (mn % 8) * 128 + (mn / 8) * sbo + 2 * k;
  const uintptr_t base = (uintptr_t)::emu::dynamic_smem();
  return (const unsigned char*)(base + swz128(start + off));  // base is 1024-aligned: same swizzle bits
}
inline float load16(const unsigned char* p, bool bf16) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return mma::emu_detail::h2f(v, bf16);
}
struct Op {
  uint64_t da, db; float* d; int n; bool ta, tb, bf16, scale_d;
  bool areg = false;  // A from registers: a[h][k] = A[16w + g + 8h][k], the two rows this thread's D needs
  float a[2][16] = {};
};
inline std::vector<Op>& ops() { static std::vector<Op> v[1024]; return v[::emu::linear_tid()]; }
inline std::vector<size_t>& groups() { static std::vector<size_t> v[1024]; return v[::emu::linear_tid()]; }
// D (64 x n) = A (64 x 16) B (16 x n) + (scale_d ? D : 0), this thread's fragment only.
inline void run(const Op& op) {
  const int T = ::emu::linear_tid() % 128, w = T / 32, g = T % 32 / 4, t = T % 4;
  for (int i = 0; i < op.n / 2; i++) {
    const int r = 16 * w + g + 8 * (i / 2 % 2), c = 8 * (i / 4) + 2 * t + i % 2;
    float s = op.scale_d ? op.d[i] : 0.f;
    for (int k = 0; k < 16; k++)
      s += (op.areg ? op.a[i / 2 % 2][k] : load16(operand(op.da, r, k, op.ta), op.bf16)) *
           load16(operand(op.db, c, k, op.tb), op.bf16);
    op.d[i] = s;
  }
}
// The 128 threads of the calling warpgroup meet here (wgmma.wait_group is warpgroup-wide).
inline void warpgroup_sync() {
  static int arrived[8];
  static unsigned gen[8];
  const int w = ::emu::linear_tid() / 128;
  const unsigned my = gen[w];
  if (++arrived[w] == 128) arrived[w] = 0, gen[w]++;
  else
    while (gen[w] == my) ::emu::spin();
}
// A (64 x 16) from the register fragments of the calling warpgroup (header layout of the register A
// operand): every thread posts its 4 registers, then keeps the two rows its own D fragment needs.
inline void gather_a(Op& op, const uint32_t (&a)[4]) {
  static uint32_t posted[8][128][4];
  const int tid = ::emu::linear_tid(), w = tid / 128, T = tid % 128, g = T % 32 / 4;
  std::memcpy(posted[w][T], a, sizeof(a));
  warpgroup_sync();
  for (int h = 0; h < 2; h++)
    for (int k = 0; k < 16; k++) {  // A[16w' + g + 8h][k]: lane 4g + (k % 8) / 2, register 2 (k / 8) + h
      const uint32_t reg = posted[w][T / 32 * 32 + 4 * g + k % 8 / 2][2 * (k / 8) + h];
      op.a[h][k] = mma::emu_detail::h2f((uint16_t)(k % 2 ? reg >> 16 : reg & 0xffff), op.bf16);
    }
  warpgroup_sync();  // nobody posts the next operand before every thread has read this one
}
}  // namespace emu_detail
#endif

// The shared-memory address of p (dynamic shared memory; under the emulator, its offset there).
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
#ifdef PYML_CUDA_EMU
  return (uint32_t)((uintptr_t)p - (uintptr_t)::emu::dynamic_smem());
#else
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
#endif
}


// One thread: the barrier expects `count` arrivals per phase; phase 0 (parity 0) begins.
__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
#ifdef PYML_CUDA_EMU
  emu_detail::bar(bar) = emu_detail::Bar{(uint16_t)count, (uint16_t)count, 0};
#elif defined(PYML_SM90A)
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
#endif
}
// After the inits, before the barrier that publishes them: makes them visible to the async proxy (TMA).
__device__ __forceinline__ void fence_barrier_init() {
#if defined(PYML_SM90A)
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// Orders this thread's generic-proxy shared-memory accesses before later async-proxy ones (TMA, wgmma).
__device__ __forceinline__ void fence_proxy_async() {
#if defined(PYML_SM90A)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
// One arrival on the current phase.
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
#ifdef PYML_CUDA_EMU
  emu_detail::arrive(bar);
#elif defined(PYML_SM90A)
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
#endif
}
// Adds `bytes` to the phase's expected transaction count, then arrives (the phase completes once the
// copies have delivered those bytes and every arrival is in).
__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#ifdef PYML_CUDA_EMU
  emu_detail::bar(bar).tx += (int32_t)bytes;
  emu_detail::arrive(bar);
#elif defined(PYML_SM90A)
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
#endif
}
// True once the phase with this parity has completed (a fresh barrier counts the phase before
// phase 0, parity 1, as complete). May return false spuriously: call in a loop (mbar_wait).
__device__ __forceinline__ bool mbar_try_wait(uint64_t* bar, uint32_t parity) {
#ifdef PYML_CUDA_EMU
  if ((emu_detail::bar(bar).pending_phase >> 15) != parity) return true;
  ::emu::spin();  // let the other threads (the producer, the copies' issuer) run
  return false;
#elif defined(PYML_SM90A)
  uint32_t done;
  asm volatile(
      "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(done) : "r"(smem_u32(bar)), "r"(parity) : "memory");
  return done != 0;
#else
  return true;
#endif
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
#ifdef PYML_CUDA_EMU
  for (long n = 0; !mbar_try_wait(bar, parity); n++)
    if (n > 200000) { std::fprintf(stderr, "emu: mbarrier wait never completes (deadlock)\n"); std::abort(); }
#else
  while (!mbar_try_wait(bar, parity)) {}
#endif
}

#ifdef PYML_CUDA_EMU
namespace emu_detail {
// The box at coordinates c of the map into dst (row-major box, rows of box[0] elements, swizzled),
// zeros outside the tensor; then the barrier's transaction count drops by the box's bytes.
inline void tma_load(void* dst, const CUtensorMap* map, uint64_t* b, const int (&c)[3]) {
  const TensorMap& m = *reinterpret_cast<const TensorMap*>(map);
  const int rowbytes = (int)m.box[0] * m.esize;
  if (m.magic != kMapMagic || (uintptr_t)dst % 128 || (m.swizzle128 && rowbytes != 128)) {
    std::fprintf(stderr, "emu: TMA load with a bad map, a misaligned destination or a swizzled row not 128 bytes\n");
    std::abort();
  }
  unsigned char* out = static_cast<unsigned char*>(dst);
  for (uint32_t z = 0; z < m.box[2]; z++)
    for (uint32_t y = 0; y < m.box[1]; y++)
      for (uint32_t x = 0; x < m.box[0]; x++) {
        const int64_t g[3] = {(int64_t)c[0] + x, (int64_t)c[1] + y, (int64_t)c[2] + z};
        bool in = true;
        const unsigned char* src = m.base;
        for (int d = 0; d < 3; d++) in = in && g[d] >= 0 && (uint64_t)g[d] < m.dim[d], src += g[d] * (int64_t)m.stride[d];
        uintptr_t a = (uintptr_t)(out + ((size_t)z * m.box[1] + y) * rowbytes + x * m.esize);
        if (m.swizzle128) a = swz128(a);
        if (in) std::memcpy((void*)a, src, m.esize);
        else std::memset((void*)a, 0, m.esize);
      }
  Bar& s = bar(b);
  s.tx -= (int32_t)(rowbytes * m.box[1] * m.box[2]);
  complete_if_done(s);
}
}  // namespace emu_detail
#endif

// TMA: the box of `map` at element coordinates (c0 innermost, c1[, c2]) -> dst (shared, 1024-byte
// aligned for the 128B swizzle), completing `bytes = box size` on bar (out-of-bounds elements
// arrive as zeros and still count). One thread issues it.
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1) {
#ifdef PYML_CUDA_EMU
  emu_detail::tma_load(dst, map, bar, {c0, c1, 0});
#elif defined(PYML_SM90A)
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
      ::"r"(smem_u32(dst)), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smem_u32(bar)) : "memory");
#endif
}
__device__ __forceinline__ void tma_load_3d(void* dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1, int c2) {
#ifdef PYML_CUDA_EMU
  emu_detail::tma_load(dst, map, bar, {c0, c1, c2});
#elif defined(PYML_SM90A)
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n"
      ::"r"(smem_u32(dst)), "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(smem_u32(bar))
      : "memory");
#endif
}

// Descriptor of a 128B-swizzled operand at p (shared, 16-byte aligned; its atoms 1024-byte aligned);
// lbo, sbo in bytes as in the header (K-major: lbo unused, sbo = 1024 for packed 8-row atoms).
__device__ __forceinline__ uint64_t make_desc(const void* p, uint32_t lbo, uint32_t sbo) {
  return (uint64_t)(smem_u32(p) >> 4 & 0x3fff) | (uint64_t)(lbo >> 4 & 0x3fff) << 16 |
         (uint64_t)(sbo >> 4 & 0x3fff) << 32 | 1ull << 62;
}

// Before the first wgmma that reads accumulators this warpgroup's threads wrote (all its threads).
__device__ __forceinline__ void wgmma_fence() {
#if defined(PYML_SM90A)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
// Closes the group of wgmma issued since the last commit.
__device__ __forceinline__ void wgmma_commit() {
#ifdef PYML_CUDA_EMU
  emu_detail::groups().push_back(emu_detail::ops().size());
#elif defined(PYML_SM90A)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most N committed groups are pending; their accumulators are then valid.
template <int N> __device__ __forceinline__ void wgmma_wait() {
#ifdef PYML_CUDA_EMU
  auto& o = emu_detail::ops();
  auto& g = emu_detail::groups();
  if ((int)g.size() > N) {
    const size_t end = g[g.size() - N - 1];
    for (size_t i = 0; i < end; i++) emu_detail::run(o[i]);
    o.erase(o.begin(), o.begin() + end);
    g.erase(g.begin(), g.end() - N);
    for (size_t& e : g) e -= end;
  }
  emu_detail::warpgroup_sync();  // every thread's reads of shared memory are done
#elif defined(PYML_SM90A)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

#define PYML_WG_REGS128 "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15," \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31," \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47," \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63" "}"

#define PYML_WG_REGS256 "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15," \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31," \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47," \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63," \
  "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79," \
  "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95," \
  "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111," \
  "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127" "}"

#define PYML_WG_F8(d, i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define PYML_WG_F64(d, i) PYML_WG_F8(d, i), PYML_WG_F8(d, i + 8), PYML_WG_F8(d, i + 16), PYML_WG_F8(d, i + 24), \
  PYML_WG_F8(d, i + 32), PYML_WG_F8(d, i + 40), PYML_WG_F8(d, i + 48), PYML_WG_F8(d, i + 56)
// wgmma.mma_async m64n{N}k16 with fp32 D; operand numbers: OA desc A, OA+1 desc B, OA+2 scale-d,
// OA+3 / OA+4 the transpose immediates (written out: PTX takes literal operand numbers only).
#define PYML_WG_ASM(N, TY, REGS, DA, DB, SD, TRA, TRB, ...)                                             \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " SD ", 0;\n"                                           \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " REGS ", " DA ", " DB       \
               ", p, 1, 1, " TRA ", " TRB ";\n}\n"                                                        \
               : __VA_ARGS__ : "l"(da), "l"(db), "r"(scale_d), "n"(TA ? 1 : 0), "n"(TB ? 1 : 0))
#define PYML_WG_N256(TY) \
  PYML_WG_ASM(256, TY, PYML_WG_REGS256, "%128", "%129", "%130", "%131", "%132", PYML_WG_F64(d, 0), PYML_WG_F64(d, 64))
#define PYML_WG_N128(TY) PYML_WG_ASM(128, TY, PYML_WG_REGS128, "%64", "%65", "%66", "%67", "%68", PYML_WG_F64(d, 0))

// d (64 x N fragment, header layout) = A (64 x 16) B (16 x N) + (scale_d ? d : 0), issued
// asynchronously by the whole warpgroup. da: A's descriptor (TA: A is M-major, else K-major);
// db: B's (TB: B is N-major, else K-major). T: __half or __nv_bfloat16. N: 128 or 256.
template <typename T, int N, bool TA, bool TB>
__device__ __forceinline__ void wgmma_m64k16(float (&d)[N / 2], uint64_t da, uint64_t db, int scale_d) {
  static_assert(N == 128 || N == 256, "wgmma_m64k16: N is 128 or 256");
  constexpr bool bf = std::is_same_v<T, __nv_bfloat16>;
  static_assert(bf || std::is_same_v<T, __half>, "wgmma_m64k16: 16-bit types only");
#ifdef PYML_CUDA_EMU
  emu_detail::ops().push_back({da, db, d, N, TA, TB, bf, scale_d != 0});
#elif defined(PYML_SM90A)
  if constexpr (N == 256 && bf) PYML_WG_N256("bf16");
  if constexpr (N == 256 && !bf) PYML_WG_N256("f16");
  if constexpr (N == 128 && bf) PYML_WG_N128("bf16");
  if constexpr (N == 128 && !bf) PYML_WG_N128("f16");
#endif
}

#define PYML_WG_REGS32 "{" \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15," \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" "}"
// wgmma.mma_async m64n{N}k16 with A in registers: operand numbers A0..A0+3 the A registers, then
// B's descriptor, scale-d, the transpose-B immediate (A in registers has no transpose bit).
#define PYML_WG_RS_ASM(N, TY, REGS, AREGS, DB, SD, TRB, ...)                                            \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " SD ", 0;\n"                                           \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " REGS ", {" AREGS "}, " DB  \
               ", p, 1, 1, " TRB ";\n}\n"                                                                \
               : __VA_ARGS__ : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d), "n"(TB ? 1 : 0))
#define PYML_WG_RS_N128(TY) \
  PYML_WG_RS_ASM(128, TY, PYML_WG_REGS128, "%64, %65, %66, %67", "%68", "%69", "%70", PYML_WG_F64(d, 0))
#define PYML_WG_RS_N64(TY) \
  PYML_WG_RS_ASM(64, TY, PYML_WG_REGS32, "%32, %33, %34, %35", "%36", "%37", "%38", PYML_WG_F8(d, 0), \
                 PYML_WG_F8(d, 8), PYML_WG_F8(d, 16), PYML_WG_F8(d, 24))

// d (64 x N fragment) = A (64 x 16, this thread's 4 registers in the header's register layout) B (16 x N)
// + (scale_d ? d : 0), issued asynchronously by the whole warpgroup; db: B's descriptor (TB: N-major,
// else K-major). The A registers must stay unchanged until the group retires (wgmma_wait), and a
// wgmma_fence must separate their last write from this call. T: __half or __nv_bfloat16; N: 64 or 128.
template <typename T, int N, bool TB>
__device__ __forceinline__ void wgmma_rs_m64k16(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t db, int scale_d) {
  static_assert(N == 64 || N == 128, "wgmma_rs_m64k16: N is 64 or 128");
  constexpr bool bf = std::is_same_v<T, __nv_bfloat16>;
  static_assert(bf || std::is_same_v<T, __half>, "wgmma_rs_m64k16: 16-bit types only");
#ifdef PYML_CUDA_EMU
  emu_detail::Op op{0, db, d, N, false, TB, bf, scale_d != 0};
  op.areg = true;
  emu_detail::gather_a(op, a);
  emu_detail::ops().push_back(op);
#elif defined(PYML_SM90A)
  if constexpr (N == 128 && bf) PYML_WG_RS_N128("bf16");
  if constexpr (N == 128 && !bf) PYML_WG_RS_N128("f16");
  if constexpr (N == 64 && bf) PYML_WG_RS_N64("bf16");
  if constexpr (N == 64 && !bf) PYML_WG_RS_N64("f16");
#endif
}

// Warpgroup-wide register budget changes (sm_90a; no-ops elsewhere): the producer gives registers
// back, the consumers take them. R: a multiple of 8 in [24, 256].
template <int R> __device__ __forceinline__ void setmaxnreg_dec() {
#if defined(PYML_SM90A)
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
#endif
}
template <int R> __device__ __forceinline__ void setmaxnreg_inc() {
#if defined(PYML_SM90A)
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
#endif
}

// Host: a tiled TMA map of a 16-bit tensor (2 or 3 dims, innermost first) with the 128B swizzle:
// dims in elements, strides of dims 1.. in bytes (multiples of 16), box[0] * 2 == 128 bytes, zeros
// out of bounds. The encoder is the driver's cuTensorMapEncodeTiled, reached through the runtime
// (the module links no libcuda); under the emulator the parameters are kept in the map itself.
// Returns false where the driver refuses the map (the caller takes another path).
inline bool encode_tensor_map(CUtensorMap* map, bool bf16, const void* base, int rank, const uint64_t* dims,
                              const uint64_t* strides, const uint32_t* box) {
#ifdef PYML_CUDA_EMU
  emu_detail::TensorMap m{emu_detail::kMapMagic, static_cast<const unsigned char*>(base), rank, 2, 1, {1, 1, 1}, {2, 0, 0}, {1, 1, 1}};
  for (int d = 0; d < rank; d++) m.dim[d] = dims[d], m.box[d] = box[d], m.stride[d] = d ? strides[d - 1] : 2;
  (void)bf16;
  std::memset(map, 0, sizeof(*map));
  std::memcpy(map, &m, sizeof(m));
  return true;
#else
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                              const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                              CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static const Encode encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();  // clear it: the caller falls back
      return (Encode) nullptr;
    }
    return reinterpret_cast<Encode>(fn);
  }();
  if (!encode) return false;
  const cuuint32_t ones[3] = {1, 1, 1};
  return encode(map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, (cuuint32_t)rank,
                const_cast<void*>(base), dims, strides, box, ones, CU_TENSOR_MAP_INTERLEAVE_NONE,
                CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
#endif
}

}  // namespace wg
}  // namespace cuda
}  // namespace pyml
