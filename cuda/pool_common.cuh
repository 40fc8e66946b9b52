// Window arithmetic shared by the pooling kernels of cuda/pool.cu (NCHW walks, gathers, index
// ops) and cuda/pool_nhwc.cu (channels_last tiles), so both compute exactly the CPU's windows:
// max windows start at their first valid tap, avg windows clip to the image, adaptive windows
// are [o*in/n, ceil((o+1)*in/n)).
#pragma once
#include <algorithm>
#include <limits>
#include <type_traits>
#include "cuda_common.cuh"

namespace pyml {
namespace pool {

#define PYML_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

template <typename T> __device__ inline T lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T> __device__ inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}
// Half types compare and sum in float (exactly what the CPU does after its float32 conversion):
// AccT for max and adaptive sums, SumT for avg sums (int64 for the integer types).
template <typename T> using AccT = std::conditional_t<cuda::is_half_v<T>, float, T>;
template <typename T> using SumT = std::conditional_t<std::is_integral_v<T>, int64_t, AccT<T>>;
template <typename A, typename T> __device__ inline A load_as(const T* p) { return cuda::convert<A>(*p); }

// first tap of a dilated window starting at lo that lies at or after 0
__device__ inline int64_t first_tap(int64_t lo, int64_t d) { return lo >= 0 ? lo : lo + (-lo + d - 1) / d * d; }

// Max window of output (oh, ow): taps h0, h0 + dh, .. < h1 (same along w), already clipped.
struct MaxWin { int64_t h0, h1, w0, w1; };
__device__ inline MaxWin max_win(const PoolParams& p, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
  return MaxWin{first_tap(h0, p.dh), min(h0 + (p.R - 1) * p.dh + 1, p.H), first_tap(w0, p.dw),
                min(w0 + (p.S - 1) * p.dw + 1, p.W)};
}

// Avg window [lo, hi) of output o along one dim and its padded size (before clipping to the image).
struct Win { int64_t lo, hi, padded; };
__device__ inline Win avg_win(int64_t o, int64_t s, int64_t pad, int64_t k, int64_t in) {
  int64_t lo = o * s - pad, hi = min(lo + k, in + pad);
  return Win{max(lo, (int64_t)0), min(hi, in), hi - lo};
}
__device__ inline int64_t avg_divisor(const PoolParams& p, const Win& h, const Win& w) {
  if (p.divisor) return p.divisor;
  if (p.count_include_pad) return h.padded * w.padded;
  return (h.hi - h.lo) * (w.hi - w.lo);
}

// adaptive windows: output o of n over an input of size in covers [o*in/n, ceil((o+1)*in/n))
__device__ inline int64_t adapt_lo(int64_t o, int64_t in, int64_t n) { return o * in / n; }
__device__ inline int64_t adapt_hi(int64_t o, int64_t in, int64_t n) { return ((o + 1) * in + n - 1) / n; }

// n / d for 0 <= n < 2^31 by a multiply-high, an add and a shift, d fixed per launch so that its
// multiplier is found once on the host: a 64-bit division is a long routine on the GPU and would
// cost more than the bytes a pooling output moves. With 2^s the smallest power >= d and
// m = floor(2^32 (2^s - d) / d) + 1, n / d = (mulhi(n, m) + n) >> s for every n < 2^31.
struct FastDiv {
  uint32_t d = 1, m = 1, s = 0;
  FastDiv() = default;
  explicit FastDiv(int64_t dv) : d(dv > 0 ? (uint32_t)dv : 1u) {
    while ((1ull << s) < d) s++;
    m = (uint32_t)(((1ull << 32) * ((1ull << s) - d)) / d + 1);
  }
  __device__ int64_t div(int64_t n) const { return (int64_t)((__umulhi((uint32_t)n, m) + (uint32_t)n) >> s); }
};
// Plain 64-bit division, for launches whose numerators reach 2^31.
struct SlowDiv {
  int64_t d = 1;
  SlowDiv() = default;
  explicit SlowDiv(int64_t dv) : d(dv > 0 ? dv : 1) {}
  __device__ int64_t div(int64_t n) const { return n / d; }
};
// The divisors of one launch (by value in the kernel parameters).
template <typename D> struct Divs { D P, Q, C, H, W, HW, sh, sw; };
template <typename D> Divs<D> make_divs(const PoolParams& p) {
  return Divs<D>{D(p.P), D(p.Q), D(p.C), D(p.H), D(p.W), D(p.H * p.W), D(p.sh), D(p.sw)};
}
// Every numerator of the NCHW kernels (output and input positions, covering and adaptive windows)
// is < 2^31.
inline bool fits32(const PoolParams& p) {
  const int64_t lim = (int64_t)1 << 30;
  return p.planes < lim && p.P * p.Q < lim && p.H * p.W < lim && p.planes * std::max(p.P * p.Q, p.H * p.W) < lim &&
         p.H + p.ph + p.sh < lim && p.W + p.pw + p.sw < lim && (p.P + 1) * (p.H + 1) < lim &&
         (p.Q + 1) * (p.W + 1) < lim;
}
// adapt_lo / adapt_hi with the division by n (P or Q) through a launch divisor
template <typename D> __device__ inline int64_t adapt_lo_div(int64_t o, int64_t in, const D& n) { return n.div(o * in); }
template <typename D> __device__ inline int64_t adapt_hi_div(int64_t o, int64_t in, const D& n) {
  return n.div((o + 1) * in + (int64_t)n.d - 1);
}

// outputs o of a dim (stride s, pad, window extent k, n outputs) whose window [o*s - pad, o*s - pad + k)
// holds i: o in [lo, hi] (empty when lo > hi)
template <typename D>
__device__ inline void covering(int64_t i, const D& s, int64_t pad, int64_t k, int64_t n, int64_t& lo, int64_t& hi) {
  int64_t a = i + pad - k + 1;  // o*s >= a
  lo = a <= 0 ? 0 : s.div(a + (int64_t)s.d - 1);
  hi = min(s.div(i + pad), n - 1);  // inclusive
}

// f(T{}) for float32/float64, for the integer types too when kInts, for float16/bfloat16 when
// kHalves (all but the index ops, for which the host converts halves to float32)
template <bool kInts, bool kHalves = false, typename F> void dispatch(DType t, const char* op, F f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: break;
  }
  if constexpr (kHalves) {
    if (t == DType::Float16) return f(__half{});
    if (t == DType::BFloat16) return f(__nv_bfloat16{});
  }
  if constexpr (kInts) {
    switch (t) {
      case DType::UInt8: return f(uint8_t{});
      case DType::Int8: return f(int8_t{});
      case DType::Int16: return f(int16_t{});
      case DType::Int32: return f(int32_t{});
      case DType::Int64: return f(int64_t{});
      default: break;
    }
  }
  throw_dtype_error(op, t);
}

// Launches kernel over total work items on the op's stream; nothing when total is 0 (returns).
#define PYML_POOL_LAUNCH(kernel, total, op, ...)                                          \
  do {                                                                                      \
    if ((total) == 0) return;                                                               \
    kernel<<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(__VA_ARGS__); \
    PYML_CUDA_LAUNCH_CHECK(op);                                                             \
  } while (0)

// What a channels_last tile computes (cuda/pool_nhwc.cu).
enum class NhwcMode { Max, MaxIdx, Avg, AdaptAvg, AdaptMax };
// Runs the channels_last tile kernel when x qualifies (float16/bfloat16/float32/float64, xs_c == 1,
// 16-byte aligned vectors of channels); false, launching nothing, otherwise.
bool nhwc_forward(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t, NhwcMode m, int index);

}  // namespace pool
}  // namespace pyml
