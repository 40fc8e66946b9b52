// CUDA scans along one dim of any strides: cumsum, cumprod, cummax/cummin (with indices) and
// logcumsumexp. Lines are the slices along the dim; outputs have the input's shape.
// Two kernels, both correct for any strides:
//  - lines kernel: G threads per line (a power of 2, up to a block), each holding kItems
//    consecutive elements of a chunk of G * kItems; a thread scans its items, the G thread totals
//    are scanned in shared memory (Hillis-Steele), and a carry crosses chunks, so lines of any
//    length work. Used when the dim is innermost in memory or there are few lines.
//  - sequential kernel: one thread per line walking the dim; neighbouring threads are neighbouring
//    lines, so loads are coalesced when the dim is not innermost and lines are many.
// Accumulators as the CPU path: int64 (the host casts integer sums to int64), double for
// float32/float64, float for half types; cummax/cummin take ties and NaN at the newest position.
#include "reduce_common.cuh"

namespace pyml {
namespace {

using cuda::convert;
using cuda::is_nan;

template <typename T> struct ScanAccT { using type = T; };  // int64
template <> struct ScanAccT<float> { using type = double; };
template <> struct ScanAccT<double> { using type = double; };
template <> struct ScanAccT<__half> { using type = float; };
template <> struct ScanAccT<__nv_bfloat16> { using type = float; };

// cumsum (mul = false) / cumprod (mul = true)
template <typename T> struct SumProdScan {
  using A = typename ScanAccT<T>::type;
  bool mul;
  __device__ A identity() const { return A(mul ? 1 : 0); }
  __device__ A make(T x, int64_t) const { return convert<A>(convert<cuda::acc_t<T>>(x)); }
  __device__ A combine(A a, A b) const { return mul ? a * b : a + b; }
  __device__ void write(T* y, int64_t*, A a) const { *y = convert<T>(a); }
};

// log(exp(a) + exp(b)) as the CPU's log_add_exp: NaN propagates; equal infinities stay
template <typename A> __device__ inline A log_add_exp(A a, A b) {
  if (is_nan(a) || is_nan(b)) return a + b;
  A lo = a < b ? a : b, hi = a < b ? b : a;
  if (lo != hi || isfinite(lo)) return hi + log1p(exp(lo - hi));
  return a;
}

template <typename T> struct LogSumExpScan {
  using A = typename ScanAccT<T>::type;
  __device__ A identity() const { return -cuda::highest<A>(); }
  __device__ A make(T x, int64_t) const { return convert<A>(x); }
  __device__ A combine(A a, A b) const { return log_add_exp(a, b); }
  __device__ void write(T* y, int64_t*, A a) const { *y = convert<T>(a); }
};

// cummax / cummin: (value, index); the later element wins ties and a NaN wins over any number,
// which makes the combine associative (the CPU's sequential rule). i < 0 marks the identity.
template <typename T> struct ExtScan {
  using U = cuda::acc_t<T>;
  struct A { U v; int64_t i; };
  bool is_max;
  __device__ A identity() const { return {U(0), -1}; }
  __device__ A make(T x, int64_t r) const { return {convert<U>(x), r}; }
  __device__ A combine(A a, A b) const {
    if (b.i < 0) return a;
    if (a.i < 0) return b;
    bool take = is_nan(b.v) || (is_max ? b.v >= a.v : b.v <= a.v);
    return take ? b : a;
  }
  __device__ void write(T* y, int64_t* yi, A a) const { *y = convert<T>(a.v); *yi = a.i; }
};

constexpr int kItems = 4;

struct LineShape {
  cuda::Geom lines;  // line index -> (input offset, output offset)
  int64_t nlines, n, sin, sout;
};

// x, y, yi (indices, may be null): lines of L; G threads per line, kThreads / G lines per block
template <class Op, typename T>
__global__ void scan_lines_kernel(const T* x, T* y, int64_t* yi, LineShape L, int G, Op op) {
  using A = typename Op::A;
  A* sm = cuda::scratch<A>();
  const int t = threadIdx.x, lane = t % G, per = cuda::kThreads / G;
  const int64_t nblk = (L.nlines + per - 1) / per;
  for (int64_t b = blockIdx.x; b < nblk; b += gridDim.x) {
    int64_t line = b * per + t / G, ia = 0, ob = 0;
    bool valid = line < L.nlines;
    if (valid) L.lines.offsets(line, ia, ob);
    A carry = op.identity();
    for (int64_t c0 = 0; c0 < L.n; c0 += (int64_t)G * kItems) {
      A v[kItems], run = op.identity();
      int64_t p0 = c0 + (int64_t)lane * kItems;
#pragma unroll
      for (int k = 0; k < kItems; k++) {
        if (valid && p0 + k < L.n) run = op.combine(run, op.make(x[ia + (p0 + k) * L.sin], p0 + k));
        v[k] = run;
      }
      __syncthreads();  // the previous chunk's scratch reads are done
      sm[t] = run;
      __syncthreads();
      for (int off = 1; off < G; off <<= 1) {  // inclusive scan of the thread totals of each line
        A s = lane >= off ? op.combine(sm[t - off], sm[t]) : sm[t];
        __syncthreads();
        sm[t] = s;
        __syncthreads();
      }
      A pre = op.combine(carry, lane > 0 ? sm[t - 1] : op.identity());
#pragma unroll
      for (int k = 0; k < kItems; k++) {
        int64_t pos = p0 + k;
        if (valid && pos < L.n) op.write(y + ob + pos * L.sout, yi ? yi + ob + pos * L.sout : nullptr, op.combine(pre, v[k]));
      }
      carry = op.combine(carry, sm[t - lane + G - 1]);
    }
  }
}

// one thread per line, walking the dim
template <class Op, typename T>
__global__ void scan_seq_kernel(const T* x, T* y, int64_t* yi, LineShape L, Op op) {
  for (int64_t line = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; line < L.nlines;
       line += (int64_t)gridDim.x * blockDim.x) {
    int64_t ia, ob;
    L.lines.offsets(line, ia, ob);
    typename Op::A acc = op.identity();
    for (int64_t r = 0; r < L.n; r++) {
      acc = op.combine(acc, op.make(x[ia + r * L.sin], r));
      op.write(y + ob + r * L.sout, yi ? yi + ob + r * L.sout : nullptr, acc);
    }
  }
}

template <class Op, typename T> void launch(const LineParams& p, const Op& op, const char* name, int index) {
  LineShape L{cuda::make_geom(p.lines, name), p.lines.numel(), p.n, p.sin, p.sout};
  if (L.nlines == 0 || L.n == 0) return;
  const T* x = reinterpret_cast<const T*>(p.in);
  T* y = reinterpret_cast<T*>(p.out);
  cudaStream_t st = cuda::stream(index);
  // the dim is not innermost and lines are plenty: a thread per line reads coalesced
  bool seq = !p.lines.size.empty() && cuda::abs64(p.lines.sa[0]) < cuda::abs64(p.sin) && L.nlines >= 2048;
  if (seq) {
    scan_seq_kernel<Op, T><<<cuda::grid_for(L.nlines), cuda::kThreads, 0, st>>>(x, y, p.idx, L, op);
  } else {
    int G = cuda::pow2_at_least((L.n + kItems - 1) / kItems, cuda::kThreads);
    int64_t per = cuda::kThreads / G;
    scan_lines_kernel<Op, T><<<cuda::blocks_for((L.nlines + per - 1) / per), cuda::kThreads, 0, st>>>(
        x, y, p.idx, L, G, op);
  }
  PYML_CUDA_LAUNCH_CHECK(name);
}

}  // namespace

void scan_cuda(ScanKind kind, const LineParams& p, int index) {
  cuda::DeviceGuard guard(index);
  switch (kind) {
    case ScanKind::CumSum:
    case ScanKind::CumProd: {  // the host casts integer inputs to int64
      bool mul = kind == ScanKind::CumProd;
      const char* name = mul ? "cumprod" : "cumsum";
      if (p.dtype == DType::Int64) return launch<SumProdScan<int64_t>, int64_t>(p, {mul}, name, index);
      PYML_CUDA_DISPATCH_FLOAT(p.dtype, name, [&] { launch<SumProdScan<scalar_t>, scalar_t>(p, {mul}, name, index); });
      return;
    }
    case ScanKind::CumMax:
    case ScanKind::CumMin: {
      bool mx = kind == ScanKind::CumMax;
      const char* name = mx ? "cummax" : "cummin";
      PYML_CUDA_DISPATCH_ALL(p.dtype, name, [&] { launch<ExtScan<scalar_t>, scalar_t>(p, {mx}, name, index); });
      return;
    }
    case ScanKind::LogCumSumExp:
      PYML_CUDA_DISPATCH_FLOAT(p.dtype, "logcumsumexp",
                               [&] { launch<LogSumExpScan<scalar_t>, scalar_t>(p, {}, "logcumsumexp", index); });
      return;
  }
}

}  // namespace pyml
