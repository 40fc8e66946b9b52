// CPU emulation of the CUDA device side for testing kernels without a GPU: every thread of a
// block is a fiber (ucontext) in one OS thread; __syncthreads and warp shuffles are cooperative
// barriers checked for divergence; blocks run one after another; grids are clamped small so the
// kernels' grid-stride loops are exercised.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <utility>
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#undef __grid_constant__
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
using std::max;
using std::min;

extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

namespace emu {
enum WarpOp { kXor, kIdx, kUp, kDown, kBallot };
int sync(int pred, int mode);  // mode 0 plain, 1 count, 2 and, 3 or
void warp(void* v, int size, WarpOp op, int arg, int width, unsigned mask);
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
// smem: the launch's dynamic shared memory in bytes (over 48 KiB only after cudaFuncSetAttribute
// raised the kernel's limit, as on a GPU).
void run_grid(dim3 grid, dim3 block, size_t smem, const void* kernel, const std::function<void()>& body);
template <typename... P> struct Launcher {
  void (*k)(P...);
  dim3 g, b;
  size_t smem;
  template <typename... A> void operator()(A&&... a) {
    std::tuple<P...> args(std::forward<A>(a)...);
    run_grid(g, b, smem, (const void*)k, [&] {
      std::tuple<P...> mine = args;  // each thread owns its copy of the parameters
      std::apply(k, mine);
    });
  }
};
template <typename... P> Launcher<P...> launch(void (*k)(P...), dim3 g, dim3 b, size_t smem = 0, cudaStream_t = 0) {
  return Launcher<P...>{k, g, b, smem};
}
unsigned char* dynamic_smem();  // this block's dynamic shared memory (garbage at block start; 1024-byte aligned)
int linear_tid();
// Yields to the other threads of the block from a wait loop (mbarrier try_wait): the thread runs
// again in the scheduler's next round.
void spin();
int next_parity();  // 0, 1, 0, ... per thread of the block
// Warp-wide exchange for emulating warp-collective PTX (mma, ldmatrix): every lane of the calling
// warp passes `mine` and gets all 32 lanes' values; all lanes must call it (one rendezvous).
template <typename T> void warp_all(const T& mine, T (&all)[32]) {
  static T slot[2][32][32];  // [parity][warp][lane]: alternating slots make one rendezvous enough
  const int tid = linear_tid(), w = tid / 32, l = tid % 32, par = next_parity();
  slot[par][w][l] = mine;
  char dummy = 0;
  warp(&dummy, 1, kIdx, 0, 32, ~0u);  // every lane has written its slot
  for (int i = 0; i < 32; i++) all[i] = slot[par][w][i];
}
// cp.async: the copy lands at the wait that retires its group; until then dst holds garbage.
void cp_async(void* dst, const void* src, int src_bytes);
void cp_commit();
void cp_wait(int pending);
template <typename T> inline T warp_op(T v, WarpOp op, int arg, int width, unsigned mask) {
  static_assert(sizeof(T) <= 8, "shfl");
  T r = v;
  warp(&r, sizeof(T), op, arg, width, mask);
  return r;
}
}  // namespace emu

inline void __syncthreads() { emu::sync(0, 0); }
inline int __syncthreads_count(int p) { return emu::sync(p != 0, 1); }
inline int __syncthreads_and(int p) { return emu::sync(p != 0, 2); }
inline int __syncthreads_or(int p) { return emu::sync(p != 0, 3); }
inline void __syncwarp(unsigned = 0xffffffffu) {}
inline void __threadfence() {}
inline void __threadfence_block() {}
template <typename T> inline T __shfl_xor_sync(unsigned m, T v, int o, int w = 32) { return emu::warp_op(v, emu::kXor, o, w, m); }
template <typename T> inline T __shfl_sync(unsigned m, T v, int src, int w = 32) { return emu::warp_op(v, emu::kIdx, src, w, m); }
template <typename T> inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) { return emu::warp_op(v, emu::kUp, (int)d, w, m); }
template <typename T> inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) { return emu::warp_op(v, emu::kDown, (int)d, w, m); }
inline unsigned __ballot_sync(unsigned m, int p) { unsigned v = p != 0; emu::warp(&v, 4, emu::kBallot, 0, 32, m); return v; }
inline int __all_sync(unsigned m, int p) { return __ballot_sync(m, p) == m; }
inline int __any_sync(unsigned m, int p) { return __ballot_sync(m, p) != 0; }
template <typename T> inline T atomicAdd(T* p, T v) { T o = *p; *p = o + v; return o; }
template <typename T> inline T atomicSub(T* p, T v) { T o = *p; *p = o - v; return o; }
template <typename T> inline T atomicMin(T* p, T v) { T o = *p; if (v < o) *p = v; return o; }
template <typename T> inline T atomicMax(T* p, T v) { T o = *p; if (v > o) *p = v; return o; }
template <typename T> inline T atomicExch(T* p, T v) { T o = *p; *p = v; return o; }
template <typename T> inline T atomicCAS(T* p, T c, T v) { T o = *p; if (o == c) *p = v; return o; }
template <typename T> inline T atomicOr(T* p, T v) { T o = *p; *p = o | v; return o; }
template <typename T> inline T atomicAnd(T* p, T v) { T o = *p; *p = o & v; return o; }
template <typename T> inline T __ldg(const T* p) { return *p; }
using std::fabs;
using std::abs;
using std::exp;
using std::log;
using std::sqrt;
using std::pow;
using std::floor;
using std::ceil;
using std::fmin;
using std::fmax;
using std::tanh;
using std::log1p;
using std::expm1;
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
inline double __dsub_rn(double a, double b) { volatile double r = a - b; return r; }
inline double __ddiv_rn(double a, double b) { volatile double r = a / b; return r; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __expf(float a) { return std::exp(a); }
inline float __logf(float a) { return std::log(a); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
inline void sincospi(double a, double* s, double* c) { *s = std::sin(M_PI * a); *c = std::cos(M_PI * a); }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline int __float_as_int(float f) { int u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline long long __double_as_longlong(double d) { long long u; std::memcpy(&u, &d, 8); return u; }
inline double __longlong_as_double(long long u) { double d; std::memcpy(&d, &u, 8); return d; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline int __clz(int v) { return v ? __builtin_clz((unsigned)v) : 32; }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) { return (unsigned long long)(((unsigned __int128)a * b) >> 64); }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
