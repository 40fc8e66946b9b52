// CUDA softmax / log_softmax along one dim of any strides (float16/bfloat16/float32/float64) and
// the backward of either along the last dim (float32/float64). Per line, as the CPU kernel:
// m = max(x) (NaN propagates), s = sum exp(x - m), then y = exp(x - m) / s or (x - m) - log(s);
// math in float for float32 and the half types, double for float64.
// Forward: G threads per line (a power of 2 up to a block) with group reductions in shared
// memory when the dim is innermost or lines are few; else one thread per line walking the dim
// (neighbouring threads are neighbouring lines, so loads are coalesced). Three passes re-read x
// rather than keep a line of unbounded length on chip.
// Backward (rows contiguous): dx = y * (g - sum(g * y)) or g - exp(y) * sum(g), the sum in double.
#include "reduce_common.cuh"

namespace pyml {
namespace {

using cuda::convert;

struct LineShape {
  cuda::Geom lines;  // line index -> (input offset, output offset)
  int64_t nlines, n, sin, sout;
};

template <typename U> __device__ inline U max_nan(U a, U v) { return (v > a || v != v) ? v : a; }
template <typename U> __device__ inline U exp_(U v) {
  if constexpr (std::is_same_v<U, float>) return expf(v); else return exp(v);
}
template <typename U> __device__ inline U log_(U v) {
  if constexpr (std::is_same_v<U, float>) return logf(v); else return log(v);
}

// x, y: lines of L; G threads per line, kThreads / G lines per block
template <typename T>
__global__ void softmax_lines_kernel(const T* x, T* y, LineShape L, int G, bool log) {
  using U = cuda::acc_t<T>;
  const int t = threadIdx.x, lane = t % G, per = cuda::kThreads / G;
  const int64_t nblk = (L.nlines + per - 1) / per;
  for (int64_t b = blockIdx.x; b < nblk; b += gridDim.x) {
    int64_t line = b * per + t / G, ia = 0, ob = 0;
    bool valid = line < L.nlines;
    if (valid) L.lines.offsets(line, ia, ob);
    int64_t n = valid ? L.n : 0;  // invalid lanes loop zero times but join every reduction
    U m = -cuda::highest<U>();
    for (int64_t i = lane; i < n; i += G) m = max_nan(m, convert<U>(x[ia + i * L.sin]));
    m = cuda::group_reduce(m, G, [](U a, U v) { return max_nan(a, v); });
    U s = 0;
    for (int64_t i = lane; i < n; i += G) s += exp_(convert<U>(x[ia + i * L.sin]) - m);
    s = cuda::group_reduce(s, G, [](U a, U v) { return a + v; });
    U k = log ? log_(s) : U(1) / s;
    for (int64_t i = lane; i < n; i += G) {
      U d = convert<U>(x[ia + i * L.sin]) - m;
      y[ob + i * L.sout] = convert<T>(log ? d - k : exp_(d) * k);
    }
  }
}

// one thread per line, walking the dim three times
template <typename T>
__global__ void softmax_seq_kernel(const T* x, T* y, LineShape L, bool log) {
  using U = cuda::acc_t<T>;
  for (int64_t line = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; line < L.nlines;
       line += (int64_t)gridDim.x * blockDim.x) {
    int64_t ia, ob;
    L.lines.offsets(line, ia, ob);
    U m = -cuda::highest<U>(), s = 0;
    for (int64_t i = 0; i < L.n; i++) m = max_nan(m, convert<U>(x[ia + i * L.sin]));
    for (int64_t i = 0; i < L.n; i++) s += exp_(convert<U>(x[ia + i * L.sin]) - m);
    U k = log ? log_(s) : U(1) / s;
    for (int64_t i = 0; i < L.n; i++) {
      U d = convert<U>(x[ia + i * L.sin]) - m;
      y[ob + i * L.sout] = convert<T>(log ? d - k : exp_(d) * k);
    }
  }
}

// g, y, dx: (rows, n) contiguous; G threads per row
template <typename T>
__global__ void softmax_backward_kernel(const T* g, const T* y, T* dx, int64_t rows, int64_t n, int G, bool log) {
  const int t = threadIdx.x, lane = t % G, per = cuda::kThreads / G;
  const int64_t nblk = (rows + per - 1) / per;
  for (int64_t b = blockIdx.x; b < nblk; b += gridDim.x) {
    int64_t row = b * per + t / G, len = row < rows ? n : 0;
    if (row >= rows) row = 0;  // lanes past the last row join the reduction with no elements
    const T *gr = g + row * n, *yr = y + row * n;
    double s = 0;
    for (int64_t i = lane; i < len; i += G) s += log ? double(gr[i]) : double(gr[i]) * double(yr[i]);
    s = cuda::group_reduce(s, G, [](double a, double v) { return a + v; });
    T ts = T(s);  // float32 rows use the sum rounded to float, as the CPU kernel
    for (int64_t i = lane; i < len; i += G)
      dx[row * n + i] = log ? gr[i] - exp_(yr[i]) * ts : yr[i] * (gr[i] - ts);
  }
}

}  // namespace

void softmax_cuda(const LineParams& p, int index) {
  const char* name = p.flag ? "log_softmax" : "softmax";
  LineShape L{cuda::make_geom(p.lines, name), p.lines.numel(), p.n, p.sin, p.sout};
  if (L.nlines == 0 || L.n == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  bool seq = !p.lines.size.empty() && cuda::abs64(p.lines.sa[0]) < cuda::abs64(p.sin) && L.nlines >= 2048;
  int G = cuda::pow2_at_least(L.n, cuda::kThreads);
  int64_t per = cuda::kThreads / G;
  PYML_CUDA_DISPATCH_FLOAT(p.dtype, name, [&] {
    const scalar_t* x = reinterpret_cast<const scalar_t*>(p.in);
    scalar_t* y = reinterpret_cast<scalar_t*>(p.out);
    if (seq) softmax_seq_kernel<scalar_t><<<cuda::grid_for(L.nlines), cuda::kThreads, 0, st>>>(x, y, L, p.flag);
    else softmax_lines_kernel<scalar_t><<<cuda::blocks_for((L.nlines + per - 1) / per), cuda::kThreads, 0, st>>>(
        x, y, L, G, p.flag);
  });
  PYML_CUDA_LAUNCH_CHECK(name);
}

void softmax_backward_cuda(DType dtype, const void* g, const void* y, void* dx, int64_t rows, int64_t n, bool log,
                           int index) {
  const char* name = log ? "log_softmax_backward" : "softmax_backward";
  if (rows == 0 || n == 0) return;
  cuda::DeviceGuard guard(index);
  int G = cuda::pow2_at_least(n, cuda::kThreads);
  int64_t per = cuda::kThreads / G;
  unsigned grid = cuda::blocks_for((rows + per - 1) / per);
  cudaStream_t st = cuda::stream(index);
  if (dtype == DType::Float32) {
    softmax_backward_kernel<float><<<grid, cuda::kThreads, 0, st>>>(
        (const float*)g, (const float*)y, (float*)dx, rows, n, G, log);
  } else if (dtype == DType::Float64) {
    softmax_backward_kernel<double><<<grid, cuda::kThreads, 0, st>>>(
        (const double*)g, (const double*)y, (double*)dx, rows, n, G, log);
  } else {
    throw_dtype_error(name, dtype);
  }
  PYML_CUDA_LAUNCH_CHECK(name);
}

}  // namespace pyml
