// Warp-level tensor-core primitives (sm_80+, used on sm_90): mma.sync for f16/bf16 (m16n8k16) and
// tf32 (m16n8k8) with fp32 accumulators, ldmatrix fragment loads from shared memory, cp.async
// 16-byte global->shared copies with zero-fill, and the dynamic shared-memory declaration.
// Fragment layouts (PTX ISA "matrix fragments for mma.m16n8k16 / m16n8k8"), with g = lane / 4 and
// t = lane % 4; a register holding two 16-bit values keeps the lower-index element in its low half:
//   16-bit A (16x16, row-major): a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..], a[3] = A[g+8][2t+8..]
//   16-bit B (16x8, "col"):      b[0] = B[2t, 2t+1][g], b[1] = B[2t+8, 2t+9][g]
//   tf32 A (16x8): a[0] = A[g][t], a[1] = A[g+8][t], a[2] = A[g][t+4], a[3] = A[g+8][t+4]
//   tf32 B (8x8):  b[0] = B[t][g], b[1] = B[t+4][g]
//   C/D (16x8 fp32): d[0] = C[g][2t], d[1] = C[g][2t+1], d[2] = C[g+8][2t], d[3] = C[g+8][2t+1]
// ldmatrix m8n8.b16: lane 8j + r gives the address of row r (16 bytes) of matrix j; register j of
// lane l gets the 32-bit word l % 4 of row l / 4 (.trans: the 16-bit elements (2(l%4), l/4) and
// (2(l%4)+1, l/4), i.e. the matrix read down its columns). Under PYML_CUDA_EMU (tools/cuda_emu)
// each wrapper computes the same result with plain C++ and a warp-wide exchange.
#pragma once
#include <cstdint>
#include <cstring>
#include "cuda_common.cuh"

#ifdef PYML_CUDA_EMU
// the kernel's dynamic shared memory (sized by the launch); 128-byte aligned
#define PYML_DYNAMIC_SMEM(name) unsigned char* name = ::emu::dynamic_smem()
#else
#define PYML_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#endif

namespace pyml {
namespace cuda {
namespace mma {

#ifdef PYML_CUDA_EMU
namespace emu_detail {
inline int lane() { return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32; }
inline float h2f(uint16_t v, bool bf16) {
  if (bf16) return __uint_as_float((uint32_t)v << 16);
  __half_raw r;
  r.x = v;
  return __half2float(__half(r));
}
inline float tf32_bits(uint32_t v) { return __uint_as_float(v & 0xffffe000u); }  // the unit ignores the low 13 bits
struct Frag { uint32_t a[4], b[2]; };
// d += A (16 x K) B (K x 8) with A, B unpacked from every lane's fragments.
template <int K> inline void mma_ref(float (&d)[4], const float (&A)[16][K], const float (&B)[K][8]) {
  const int g = lane() / 4, t = lane() % 4;
  for (int i = 0; i < 4; i++) {
    const int r = g + 8 * (i / 2), c = 2 * t + i % 2;
    float s = d[i];
    for (int k = 0; k < K; k++) s += A[r][k] * B[k][c];
    d[i] = s;
  }
}
}  // namespace emu_detail
#endif

// d += A (16x16) B (16x8); T: __half or __nv_bfloat16; fragments as in the file header.
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, "mma_16816: 16-bit types only");
#ifdef PYML_CUDA_EMU
  using namespace emu_detail;
  Frag all[32];
  ::emu::warp_all(Frag{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}}, all);
  const bool bf = std::is_same_v<T, __nv_bfloat16>;
  float A[16][16], B[16][8];
  for (int s = 0; s < 32; s++) {
    const int g = s / 4, t = s % 4;
    for (int h = 0; h < 2; h++) {
      for (int i = 0; i < 4; i++)
        A[g + 8 * (i % 2)][2 * t + h + 8 * (i / 2)] = h2f((uint16_t)(all[s].a[i] >> (16 * h)), bf);
      for (int i = 0; i < 2; i++) B[2 * t + h + 8 * i][g] = h2f((uint16_t)(all[s].b[i] >> (16 * h)), bf);
    }
  }
  mma_ref<16>(d, A, B);
#else
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#endif
}

// d += A (16x8) B (8x8) in tf32 (operands already rounded by to_tf32); fragments as in the header.
__device__ __forceinline__ void mma_1688_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef PYML_CUDA_EMU
  using namespace emu_detail;
  Frag all[32];
  ::emu::warp_all(Frag{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}}, all);
  float A[16][8], B[8][8];
  for (int s = 0; s < 32; s++) {
    const int g = s / 4, t = s % 4;
    for (int i = 0; i < 4; i++) A[g + 8 * (i % 2)][t + 4 * (i / 2)] = tf32_bits(all[s].a[i]);
    for (int i = 0; i < 2; i++) B[t + 4 * i][g] = tf32_bits(all[s].b[i]);
  }
  mma_ref<8>(d, A, B);
#else
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// x rounded to tf32 (10-bit mantissa, nearest, ties away from zero), as the bits of an fp32.
__device__ __forceinline__ uint32_t to_tf32(float x) {
#ifdef PYML_CUDA_EMU
  uint32_t u = __float_as_uint(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // inf and NaN pass through
  return (u + 0x1000u) & 0xffffe000u;               // magnitude + half an ulp, truncated
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
#endif
}

#ifdef PYML_CUDA_EMU
namespace emu_detail {
// Register j of every lane for N matrices whose row addresses come from lanes 8j..8j+7.
template <int N, bool Trans> inline void ldmatrix_ref(uint32_t* r, const void* p) {
  const unsigned char* all[32];
  ::emu::warp_all(static_cast<const unsigned char*>(p), all);
  const int l = lane();
  for (int j = 0; j < N; j++) {
    if (!Trans) {
      std::memcpy(&r[j], all[8 * j + l / 4] + 4 * (l % 4), 4);
    } else {
      uint16_t lo, hi;
      std::memcpy(&lo, all[8 * j + 2 * (l % 4)] + 2 * (l / 4), 2);
      std::memcpy(&hi, all[8 * j + 2 * (l % 4) + 1] + 2 * (l / 4), 2);
      r[j] = lo | (uint32_t)hi << 16;
    }
  }
}
}  // namespace emu_detail
#else
__device__ __forceinline__ unsigned smem_addr(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }
#endif

// The two 16-bit values (lo, hi), rounded to T (half or bfloat16), as one fragment register, lo in
// the low half (the layout above): C/D accumulators become the A operand of the next product.
template <typename T> __device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  const T a = cuda::convert<T>(lo), b = cuda::convert<T>(hi);
  uint16_t ua, ub;
  memcpy(&ua, &a, 2);
  memcpy(&ub, &b, 2);
  return ua | (uint32_t)ub << 16;
}

// Four 8x8 16-bit matrices; p: this lane's row (16-byte aligned, shared memory), see the header.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
#ifdef PYML_CUDA_EMU
  emu_detail::ldmatrix_ref<4, false>(r, p);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
#endif
}
// As ldmatrix_x4, each matrix transposed (read down its columns).
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
#ifdef PYML_CUDA_EMU
  emu_detail::ldmatrix_ref<4, true>(r, p);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_addr(p)));
#endif
}
// Two matrices (rows from lanes 0..15; the other lanes' addresses are ignored but must be valid).
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* p) {
#ifdef PYML_CUDA_EMU
  emu_detail::ldmatrix_ref<2, false>(r, p);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(smem_addr(p)));
#endif
}
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* p) {
#ifdef PYML_CUDA_EMU
  emu_detail::ldmatrix_ref<2, true>(r, p);
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1]) : "r"(smem_addr(p)));
#endif
}

// 16 bytes global -> shared, asynchronous: the first src_bytes (0..16) come from src, the rest are
// zero (src_bytes 0: no global read; src must still be a valid address). Both 16-byte aligned.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
#ifdef PYML_CUDA_EMU
  ::emu::cp_async(dst, src, src_bytes);
#else
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes)
               : "memory");
#endif
}
// Closes the group of cp.async issued by this thread since the last commit.
__device__ __forceinline__ void cp_async_commit() {
#ifdef PYML_CUDA_EMU
  ::emu::cp_commit();
#else
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
// Waits until at most N of this thread's committed groups are still in flight (then __syncthreads
// makes every thread's copies visible to the block).
template <int N> __device__ __forceinline__ void cp_async_wait() {
#ifdef PYML_CUDA_EMU
  ::emu::cp_wait(N);
#else
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

}  // namespace mma
}  // namespace cuda
}  // namespace pyml
