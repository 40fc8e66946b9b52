// Random kernels on the device, on the Philox4x32-10 helpers of cpu/philox.h (compiled for both
// sides), with the CPU's layout: Philox block b of a request makes elements [b*per, (b+1)*per),
// one thread per block. Same (seed, offset) -> the same numbers as the CPU kernels:
//   bit for bit: uniform_ (every float dtype), random_, bernoulli (scalar and tensor p, so dropout
//     masks), multinomial with replacement (the row's cdf is summed serially in the CPU's order);
//   to a few ulps: normal_ and exponential_ (CUDA's log/sin/cos differ from the host libm in the
//     last bit now and then), multinomial without replacement (same keys log(u)/w up to that last
//     bit; the order of two keys within an ulp of each other may differ).
// Adds and multiplies of the final affine maps are explicitly rounded (no FMA contraction) so the
// arithmetic is the CPU's. randperm has no kernel here: its Fisher-Yates is serial (ops/random.cpp).
#include "random.h"
#include "elementwise_launch.cuh"
#include "block_reduce.cuh"

namespace pyml {
namespace {

using ull = unsigned long long;
constexpr double kTwoPi = 6.283185307179586476925286766559;

inline Device dev_of(int index) { return Device{Device::CUDA, (int8_t)index}; }

template <typename T> constexpr int mantissa_digits() {
  if constexpr (std::is_same_v<T, __half>) return 11;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return 8;
  else return 24;
}

#define PYML_BLOCK_LOOP(nblocks) \
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < (nblocks); b += (int64_t)gridDim.x * blockDim.x)

// ---------------------------------------------------------------------------- continuous
// One word per element (float32/float16/bfloat16): out = T(from + u * width), u with T's digits.
template <typename T> __global__ void uniform32_kernel(T* out, int64_t n, PhiloxState s, float from, float w) {
  PYML_BLOCK_LOOP((n + 3) / 4) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 4 && b * 4 + k < n; k++)
      out[b * 4 + k] = cuda::convert<T>(__fadd_rn(from, __fmul_rn(u32_to_unit(r.w[k], mantissa_digits<T>()), w)));
  }
}

// Two 64-bit words per block (float64): out = from + u * width, u with 53 bits.
__global__ void uniform64_kernel(double* out, int64_t n, PhiloxState s, double from, double w) {
  PYML_BLOCK_LOOP((n + 1) / 2) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 2 && b * 2 + k < n; k++) out[b * 2 + k] = __dadd_rn(from, __dmul_rn(u64_to_unit(words64(r, k)), w));
  }
}

// Box-Muller on (radius, angle) word pairs, in float like the CPU's box_muller4.
template <typename T> __global__ void normal32_kernel(T* out, int64_t n, PhiloxState s, float mean, float sd) {
  PYML_BLOCK_LOOP((n + 3) / 4) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 4; k += 2) {
      float rad = sqrtf(__fmul_rn(-2.0f, logf(__fmul_rn(__fadd_rn((float)r.w[k], 1.0f), 0x1.0p-32f))));
      float th = __fmul_rn((float)kTwoPi, u32_to_unit(r.w[k + 1], 24));
      float z[2] = {__fmul_rn(rad, cosf(th)), __fmul_rn(rad, sinf(th))};
      for (int j = 0; j < 2 && b * 4 + k + j < n; j++) out[b * 4 + k + j] = cuda::convert<T>(__fadd_rn(mean, __fmul_rn(sd, z[j])));
    }
  }
}

__global__ void normal64_kernel(double* out, int64_t n, PhiloxState s, double mean, double sd) {
  PYML_BLOCK_LOOP((n + 1) / 2) {
    Philox4 r = philox_block(s, (uint64_t)b);
    double u0 = __dmul_rn((double)((words64(r, 0) >> 11) + 1), 0x1.0p-53);  // (0, 1]: log stays finite
    double rad = sqrt(__dmul_rn(-2.0, log(u0))), th = __dmul_rn(kTwoPi, u64_to_unit(words64(r, 1)));
    double k = __dmul_rn(sd, rad);
    out[b * 2] = __dadd_rn(mean, __dmul_rn(k, cos(th)));
    if (b * 2 + 1 < n) out[b * 2 + 1] = __dadd_rn(mean, __dmul_rn(k, sin(th)));
  }
}

// -log(u) / lambd with u in (0, 1], computed in double for every dtype like the CPU
template <typename T> __global__ void exponential32_kernel(T* out, int64_t n, PhiloxState s, double lambd) {
  PYML_BLOCK_LOOP((n + 3) / 4) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 4 && b * 4 + k < n; k++)
      out[b * 4 + k] = cuda::convert<T>((float)(-log(__dmul_rn(__dadd_rn((double)r.w[k], 1.0), 0x1.0p-32)) / lambd));
  }
}

__global__ void exponential64_kernel(double* out, int64_t n, PhiloxState s, double lambd) {
  PYML_BLOCK_LOOP((n + 1) / 2) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 2 && b * 2 + k < n; k++)
      out[b * 2 + k] = -log(__dmul_rn((double)((words64(r, k) >> 11) + 1), 0x1.0p-53)) / lambd;
  }
}

// ---------------------------------------------------------------------------- discrete
// low + x * range / 2^64 (the 128-bit product's high word); range 0 stands for 2^64
__device__ inline uint64_t scale64(uint64_t x, uint64_t range) { return range == 0 ? x : __umul64hi(x, range); }

__global__ void randint_kernel(int64_t* out, int64_t n, PhiloxState s, int64_t low, uint64_t range) {
  PYML_BLOCK_LOOP((n + 1) / 2) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 2 && b * 2 + k < n; k++) out[b * 2 + k] = (int64_t)((uint64_t)low + scale64(words64(r, k), range));
  }
}

__global__ void bernoulli_kernel(bool* out, const double* p, double ps, int64_t n, PhiloxState s) {
  PYML_BLOCK_LOOP((n + 1) / 2) {
    Philox4 r = philox_block(s, (uint64_t)b);
    for (int k = 0; k < 2 && b * 2 + k < n; k++) out[b * 2 + k] = u64_to_unit(words64(r, k)) < (p ? p[b * 2 + k] : ps);
  }
}

__global__ void first_outside_kernel(const double* v, int64_t n, double lo, double hi, ull* first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    if (!(v[i] >= lo && v[i] <= hi)) atomicMin(first, (ull)i);
}

// ---------------------------------------------------------------------------- multinomial
// One block per row: the first bad category and the row sum. code = r*(K+1) + k for a bad weight
// k, r*(K+1) + K for a bad sum (the CPU checks the weights of a row before its sum).
__global__ void multinomial_check_kernel(const double* w, int64_t rows, int64_t K, double* sums, ull* code) {
  __shared__ double dscratch[32];
  __shared__ long long iscratch[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double s = 0;
    long long bad = K;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      double v = w[r * K + k];
      if (!(isfinite(v) && v >= 0.0) && k < bad) bad = k;
      s += v;
    }
    s = cuda::block_reduce(s, cuda::SumOp{}, dscratch);
    bad = cuda::block_reduce(bad, cuda::MinOp{}, iscratch);
    if (threadIdx.x == 0) {
      sums[r] = s;
      if (bad < K || !(s > 0.0 && isfinite(s))) atomicMin(code, (ull)(r * (K + 1) + bad));
    }
  }
}

// With replacement, step 1 (one thread per row): cdf = running sums in the CPU's order; last = the
// last category with a positive weight (a draw never lands past it).
__global__ void multinomial_cdf_kernel(const double* w, int64_t rows, int64_t K, double* cdf, int64_t* last) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    double s = 0;
    int64_t l = 0;
    for (int64_t k = 0; k < K; k++) {
      double v = w[r * K + k];
      s += v;
      cdf[r * K + k] = s;
      if (v != 0) l = k;
    }
    last[r] = l;
  }
}

// 64-bit draw j of row r: the row owns blocks [r*bpr, (r+1)*bpr), two draws per block
__device__ inline uint64_t row_draw(PhiloxState s, int64_t r, uint64_t bpr, int64_t j) {
  return words64(philox_block(s, (uint64_t)r * bpr + (uint64_t)(j / 2)), (int)(j % 2));
}

// Step 2 (one thread per sample): the first category whose cdf exceeds u * total.
__global__ void multinomial_replace_kernel(int64_t* out, const double* cdf, const int64_t* last, int64_t rows,
                                           int64_t K, int64_t ns, PhiloxState s, uint64_t bpr) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < rows * ns; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = e / ns, j = e - r * ns;
    const double* c = cdf + r * K;
    double x = u64_to_unit(row_draw(s, r, bpr, j)) * c[K - 1];
    int64_t lo = 0, hi = K;
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (c[mid] <= x) lo = mid + 1; else hi = mid;
    }
    out[e] = lo < last[r] ? lo : last[r];
  }
}

struct Key { double key, u; int64_t idx; };
// a sorts before b: larger key, then larger u, then smaller index (the CPU's partial_sort order)
__device__ inline bool before(const Key& a, const Key& b) {
  return a.key > b.key || (a.key == b.key && (a.u > b.u || (a.u == b.u && a.idx < b.idx)));
}

// Without replacement (Efraimidis-Spirakis): keys log(u)/w (zero weights -inf), sorted by a bitonic
// sort of P = 2^k >= K keys in this block's scratch slot; the first ns indices are the sample.
// One block per row; every thread runs the same stage loop (no divergent __syncthreads).
__global__ void multinomial_noreplace_kernel(int64_t* out, const double* w, int64_t rows, int64_t K, int64_t ns,
                                             int64_t P, PhiloxState s, uint64_t bpr, Key* scratch) {
  Key* a = scratch + blockIdx.x * P;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    for (int64_t k = threadIdx.x; k < P; k += blockDim.x) {
      if (k < K) {
        double u = (double)((row_draw(s, r, bpr, k) >> 11) + 1) * 0x1.0p-53, wk = w[r * K + k];
        a[k] = Key{wk > 0 ? log(u) / wk : -INFINITY, u, k};
      } else {
        a[k] = Key{-INFINITY, -1.0, k};  // padding sorts after every real key
      }
    }
    __syncthreads();
    for (int64_t size = 2; size <= P; size *= 2) {
      for (int64_t stride = size / 2; stride > 0; stride /= 2) {
        for (int64_t i = threadIdx.x; i < P / 2; i += blockDim.x) {
          int64_t lo = 2 * stride * (i / stride) + i % stride, hi = lo + stride;
          bool up = (lo & size) == 0;
          if (up ? before(a[hi], a[lo]) : before(a[lo], a[hi])) { Key t = a[lo]; a[lo] = a[hi]; a[hi] = t; }
        }
        __syncthreads();
      }
    }
    for (int64_t j = threadIdx.x; j < ns; j += blockDim.x) out[r * ns + j] = a[j].idx;
    __syncthreads();  // the slot is rewritten for the next row
  }
}

template <typename T> struct NormalCombine {
  __device__ T operator()(T m, T sd, T z) const {
    if constexpr (std::is_same_v<T, float>) return __fadd_rn(m, __fmul_rn(sd, z));
    else if constexpr (std::is_same_v<T, double>) return __dadd_rn(m, __dmul_rn(sd, z));
    else {  // half types: the product is rounded to T before the add, as two CPU ops do
      T prod = cuda::convert<T>(__fmul_rn((float)sd, (float)z));
      return cuda::convert<T>(__fadd_rn((float)m, (float)prod));
    }
  }
};

}  // namespace

void uniform_cuda(void* out, DType t, int64_t n, PhiloxState s, double from, double to, int index) {
  if (n == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  if (t == DType::Float64) {
    uniform64_kernel<<<cuda::grid_for((n + 1) / 2), cuda::kThreads, 0, st>>>((double*)out, n, s, from, to - from);
  } else {
    PYML_CUDA_DISPATCH_FLOAT(t, "uniform_", [&] {
      if constexpr (!std::is_same_v<scalar_t, double>)
        uniform32_kernel<scalar_t><<<cuda::grid_for((n + 3) / 4), cuda::kThreads, 0, st>>>(
            (scalar_t*)out, n, s, (float)from, (float)(to - from));
    });
  }
  PYML_CUDA_LAUNCH_CHECK("uniform_");
}

void normal_cuda(void* out, DType t, int64_t n, PhiloxState s, double mean, double std, int index) {
  if (n == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  if (t == DType::Float64) {
    normal64_kernel<<<cuda::grid_for((n + 1) / 2), cuda::kThreads, 0, st>>>((double*)out, n, s, mean, std);
  } else {
    PYML_CUDA_DISPATCH_FLOAT(t, "normal_", [&] {
      if constexpr (!std::is_same_v<scalar_t, double>)
        normal32_kernel<scalar_t><<<cuda::grid_for((n + 3) / 4), cuda::kThreads, 0, st>>>((scalar_t*)out, n, s,
                                                                                      (float)mean, (float)std);
    });
  }
  PYML_CUDA_LAUNCH_CHECK("normal_");
}

void exponential_cuda(void* out, DType t, int64_t n, PhiloxState s, double lambd, int index) {
  if (n == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  if (t == DType::Float64) {
    exponential64_kernel<<<cuda::grid_for((n + 1) / 2), cuda::kThreads, 0, st>>>((double*)out, n, s, lambd);
  } else {
    PYML_CUDA_DISPATCH_FLOAT(t, "exponential_", [&] {
      if constexpr (!std::is_same_v<scalar_t, double>)
        exponential32_kernel<scalar_t><<<cuda::grid_for((n + 3) / 4), cuda::kThreads, 0, st>>>((scalar_t*)out, n, s, lambd);
    });
  }
  PYML_CUDA_LAUNCH_CHECK("exponential_");
}

void randint_cuda(int64_t* out, int64_t n, PhiloxState s, int64_t low, uint64_t range, int index) {
  if (n == 0) return;
  cuda::DeviceGuard guard(index);
  randint_kernel<<<cuda::grid_for((n + 1) / 2), cuda::kThreads, 0, cuda::stream(index)>>>(out, n, s, low, range);
  PYML_CUDA_LAUNCH_CHECK("random_");
}

void bernoulli_cuda(bool* out, const double* p, double p_scalar, int64_t n, PhiloxState s, int index) {
  if (n == 0) return;
  cuda::DeviceGuard guard(index);
  bernoulli_kernel<<<cuda::grid_for((n + 1) / 2), cuda::kThreads, 0, cuda::stream(index)>>>(out, p, p_scalar, n, s);
  PYML_CUDA_LAUNCH_CHECK("bernoulli_");
}

void normal_combine_cuda(const ElemIter& it, DType t, int index) {
  PYML_CUDA_DISPATCH_FLOAT(t, "normal", [&] {
    cuda::launch_elementwise<scalar_t, scalar_t, scalar_t, scalar_t>(it, index, "normal", NormalCombine<scalar_t>{});
  });
}

int64_t first_outside_cuda(const double* v, int64_t n, double lo, double hi, int index) {
  if (n == 0) return -1;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  Tensor first = empty({1}, DType::Int64, dev_of(index));
  PYML_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, 8, st), "random check");
  first_outside_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(v, n, lo, hi, (ull*)first.data());
  PYML_CUDA_LAUNCH_CHECK("random check");
  ull pos = ~0ull;
  cuda_memcpy(&pos, first.data(), sizeof(pos), CopyKind::DeviceToHost, index);
  return pos == ~0ull ? -1 : (int64_t)pos;
}

int64_t multinomial_check_cuda(const double* w, int64_t rows, int64_t K, int64_t* category, double* value, int index) {
  if (rows == 0) return -1;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  Tensor code = empty({1}, DType::Int64, dev_of(index)), sums = empty({rows}, DType::Float64, dev_of(index));
  PYML_CUDA_CHECK(cudaMemsetAsync(code.data(), 0xff, 8, st), "multinomial");
  int threads = (int)std::min<int64_t>(cuda::kThreads, std::max<int64_t>(32, (K + 31) / 32 * 32));
  multinomial_check_kernel<<<cuda::grid_for(rows, 1, 1), threads, 0, st>>>(w, rows, K, sums.ptr<double>(),
                                                                           (ull*)code.data());
  PYML_CUDA_LAUNCH_CHECK("multinomial");
  ull c = ~0ull;
  cuda_memcpy(&c, code.data(), sizeof(c), CopyKind::DeviceToHost, index);
  if (c == ~0ull) return -1;
  int64_t r = (int64_t)(c / (ull)(K + 1)), k = (int64_t)(c % (ull)(K + 1));
  *category = k < K ? k : -1;
  cuda_memcpy(value, k < K ? w + r * K + k : sums.ptr<double>() + r, sizeof(double), CopyKind::DeviceToHost, index);
  return r;
}

void multinomial_cuda(int64_t* out, const double* w, int64_t rows, int64_t K, int64_t ns, bool replacement,
                      PhiloxState s, int index) {
  if (rows == 0 || ns == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  uint64_t bpr = (uint64_t)multinomial_blocks_per_row(K, ns, replacement);
  if (replacement) {
    Tensor cdf = empty({rows * K}, DType::Float64, dev_of(index)), last = empty({rows}, DType::Int64, dev_of(index));
    multinomial_cdf_kernel<<<cuda::grid_for(rows), cuda::kThreads, 0, st>>>(w, rows, K, cdf.ptr<double>(),
                                                                           last.ptr<int64_t>());
    PYML_CUDA_LAUNCH_CHECK("multinomial");
    multinomial_replace_kernel<<<cuda::grid_for(rows * ns), cuda::kThreads, 0, st>>>(
        out, cdf.ptr<double>(), last.ptr<int64_t>(), rows, K, ns, s, bpr);
    PYML_CUDA_LAUNCH_CHECK("multinomial");
    return;
  }
  int64_t P = 1;
  while (P < K) P *= 2;
  // one scratch slot of P keys per block, at most ~64 MiB in all
  int64_t slots = std::max<int64_t>(1, std::min<int64_t>({rows, (int64_t)(64 << 20) / (P * (int64_t)sizeof(Key)),
                                                         65535LL * 8}));
  Tensor scratch = empty({slots * P * (int64_t)sizeof(Key)}, DType::UInt8, dev_of(index));
  multinomial_noreplace_kernel<<<(unsigned)slots, cuda::kThreads, 0, st>>>(out, w, rows, K, ns, P, s, bpr,
                                                                           (Key*)scratch.data());
  PYML_CUDA_LAUNCH_CHECK("multinomial");
}

}  // namespace pyml
