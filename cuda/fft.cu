// Complex FFTs on the GPU, the CPU kernel's algorithm (cpu/fft.cpp): Stockham autosort over the
// radices 4, 2 and the odd primes of n, one launch per stage ping-ponging between the data and a
// scratch tensor, each thread one r-point butterfly of one line; lengths with a prime factor above
// kMaxRadix go through Bluestein's chirp-z form (power-of-two transforms of length M >= 2n - 1).
// data: contiguous (outer, n, inner) (re, im) pairs; a thread's line element j is at
// (o * n + j) * inner + i, so neighbouring threads (i fastest) touch neighbouring pairs.
// Twiddles are evaluated per use from exact integer angles with sincospi in double.
// Real transforms are composed around the complex one: r2c complexifies, transforms and keeps the
// first n/2 + 1 bins; c2r rebuilds the Hermitian spectrum, transforms and keeps the real parts
// (the CPU's half-length trick is not worth its extra kernels until a GPU session measures it).
#include "cuda_common.cuh"
#include "fft.h"
#include "ops/fft.h"

namespace pyml {
namespace {

constexpr int kMaxRadix = 61;

template <typename T> struct Cx { T re, im; };
template <typename T> __device__ inline Cx<T> add(Cx<T> a, Cx<T> b) { return {a.re + b.re, a.im + b.im}; }
template <typename T> __device__ inline Cx<T> sub(Cx<T> a, Cx<T> b) { return {a.re - b.re, a.im - b.im}; }
template <typename T> __device__ inline Cx<T> mul(Cx<T> a, Cx<T> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
// exp(sign * 2 pi i * num / den)
template <typename T> __device__ inline Cx<T> root(int64_t num, int64_t den, int sign) {
  double s, c;
  sincospi(2.0 * (double)(num % den) / (double)den, &s, &c);
  return {(T)c, (T)(sign * s)};
}

struct StageGeom { int64_t n, inner, r, s, m, total; int sign; };

// One Stockham stage over every line: b[q + s(rp + k)] = w_{rm}^{pk} sum_j a[q + s(p + jm)] w_r^{jk}
template <typename T> __global__ void stage_kernel(const Cx<T>* a, Cx<T>* b, StageGeom g) {
  __shared__ Cx<T> roots[kMaxRadix];
  const int r = (int)g.r;
  for (int k = threadIdx.x; k < r; k += blockDim.x) roots[k] = root<T>(k, r, g.sign);
  __syncthreads();
  Cx<T> v[kMaxRadix];
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < g.total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % g.inner, u = t / g.inner, q = u % g.s;
    u /= g.s;
    int64_t p = u % g.m, o = u / g.m;
    const Cx<T>* in = a + o * g.n * g.inner + i;
    Cx<T>* out = b + o * g.n * g.inner + i;
    for (int j = 0; j < r; j++) v[j] = in[(q + g.s * (p + j * g.m)) * g.inner];
    for (int k = 0; k < r; k++) {
      Cx<T> acc = v[0];
      for (int j = 1; j < r; j++) acc = add(acc, mul(v[j], roots[(j * k) % r]));
      if (k) acc = mul(acc, root<T>(p * k, r * g.m, g.sign));
      out[(q + g.s * (r * p + k)) * g.inner] = acc;
    }
  }
}

template <typename T> __global__ void scale_copy_kernel(const Cx<T>* a, Cx<T>* b, int64_t count, T scale) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < count; t += (int64_t)gridDim.x * blockDim.x)
    b[t] = {a[t].re * scale, a[t].im * scale};
}

// Bluestein: A (outer, M, inner) = x * chirp, zero padded past n
template <typename T>
__global__ void chirp_pad_kernel(const Cx<T>* x, Cx<T>* A, int64_t n, int64_t M, int64_t inner, int64_t total, int sign) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, j = (t / inner) % M, o = t / (inner * M);
    A[t] = j < n ? mul(x[(o * n + j) * inner + i], root<T>((j * j) % (2 * n), 2 * n, sign)) : Cx<T>{0, 0};
  }
}

// the convolution kernel before its transform: conj(chirp_j) / M at j and M - j
template <typename T> __global__ void conj_chirp_kernel(Cx<T>* K, int64_t n, int64_t M, int sign) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < M; j += (int64_t)gridDim.x * blockDim.x) {
    int64_t d = j < n ? j : (M - j < n ? M - j : -1);
    Cx<T> c = d >= 0 ? root<T>((d * d) % (2 * n), 2 * n, -sign) : Cx<T>{0, 0};
    K[j] = {c.re / (T)M, c.im / (T)M};
  }
}

template <typename T> __global__ void mul_kernel(Cx<T>* A, const Cx<T>* K, int64_t M, int64_t inner, int64_t total) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x)
    A[t] = mul(A[t], K[(t / inner) % M]);
}

template <typename T>
__global__ void unchirp_kernel(const Cx<T>* A, Cx<T>* x, int64_t n, int64_t M, int64_t inner, int64_t total,
                               int sign, T scale) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, k = (t / inner) % n, o = t / (inner * n);
    Cx<T> y = mul(A[(o * M + k) * inner + i], root<T>((k * k) % (2 * n), 2 * n, sign));
    x[t] = {y.re * scale, y.im * scale};
  }
}

Tensor scratch(DType real, int64_t pairs, int index) {
  return empty({std::max<int64_t>(pairs, 1), 2}, real, Device{Device::CUDA, (int8_t)index});
}

// Stockham stages on (outer, n, inner) `data`, scaled into `data`; tmp holds as many pairs.
template <typename T>
void stockham(Cx<T>* data, Cx<T>* tmp, int64_t outer, int64_t n, int64_t inner, int sign, double scale, int index) {
  cudaStream_t st = cuda::stream(index);
  Cx<T>* a = data;
  Cx<T>* b = tmp;
  int64_t s = 1, rest = n, count = outer * n * inner;
  for (int64_t r : fft_radices(n)) {
    StageGeom g{n, inner, r, s, rest / r, count / r, sign};
    stage_kernel<T><<<cuda::grid_for(g.total), cuda::kThreads, 0, st>>>(a, b, g);
    PYML_CUDA_LAUNCH_CHECK("fft");
    std::swap(a, b);
    s *= r;
    rest /= r;
  }
  if (a == data && scale == 1.0) return;
  scale_copy_kernel<T><<<cuda::grid_for(count), cuda::kThreads, 0, st>>>(a, data, count, (T)scale);
  PYML_CUDA_LAUNCH_CHECK("fft");
}

template <typename T>
void bluestein(Cx<T>* data, int64_t outer, int64_t n, int64_t inner, int sign, double scale, DType real, int index) {
  cudaStream_t st = cuda::stream(index);
  int64_t M = 1;
  while (M < 2 * n - 1) M *= 2;
  int64_t total = outer * M * inner;
  Tensor At = scratch(real, total, index), Bt = scratch(real, total, index), Kt = scratch(real, M, index);
  Cx<T>* A = At.ptr<Cx<T>>();
  Cx<T>* B = Bt.ptr<Cx<T>>();
  Cx<T>* K = Kt.ptr<Cx<T>>();
  conj_chirp_kernel<T><<<cuda::grid_for(M), cuda::kThreads, 0, st>>>(K, n, M, sign);
  PYML_CUDA_LAUNCH_CHECK("fft");
  stockham<T>(K, B, 1, M, 1, -1, 1.0, index);
  chirp_pad_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, st>>>(data, A, n, M, inner, total, sign);
  PYML_CUDA_LAUNCH_CHECK("fft");
  stockham<T>(A, B, outer, M, inner, -1, 1.0, index);
  mul_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, st>>>(A, K, M, inner, total);
  PYML_CUDA_LAUNCH_CHECK("fft");
  stockham<T>(A, B, outer, M, inner, 1, 1.0, index);
  int64_t count = outer * n * inner;
  unchirp_kernel<T><<<cuda::grid_for(count), cuda::kThreads, 0, st>>>(A, data, n, M, inner, count, sign, (T)scale);
  PYML_CUDA_LAUNCH_CHECK("fft");
}

template <typename T>
void fft_lines(void* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale, DType real,
               int index) {
  int sign = inverse ? 1 : -1;
  std::vector<int64_t> f = fft_radices(n);
  if (!f.empty() && f.back() > kMaxRadix) return bluestein<T>((Cx<T>*)data, outer, n, inner, sign, scale, real, index);
  Tensor tmp = scratch(real, outer * n * inner, index);
  stockham<T>((Cx<T>*)data, tmp.ptr<Cx<T>>(), outer, n, inner, sign, scale, index);
}

// r2c/c2r helpers over (outer, len, inner) blocks, one thread per output value
template <typename T> __global__ void complexify_kernel(const T* x, Cx<T>* z, int64_t count) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < count; t += (int64_t)gridDim.x * blockDim.x)
    z[t] = {x[t], (T)0};
}

// y (outer, n/2 + 1, inner) = the first bins of z (outer, n, inner)
template <typename T>
__global__ void keep_bins_kernel(const Cx<T>* z, Cx<T>* y, int64_t n, int64_t inner, int64_t total) {
  const int64_t h1 = n / 2 + 1;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, k = (t / inner) % h1, o = t / (inner * h1);
    y[t] = z[(o * n + k) * inner + i];
  }
}

// F (outer, n, inner): X's bins k <= n/2 (imaginary parts of bins 0 and n/2 dropped), conj X_{n-k} above
template <typename T>
__global__ void hermitian_kernel(const Cx<T>* X, Cx<T>* F, int64_t n, int64_t inner, int64_t total) {
  const int64_t h1 = n / 2 + 1;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, k = (t / inner) % n, o = t / (inner * n);
    Cx<T> v = X[(o * h1 + (k < h1 ? k : n - k)) * inner + i];
    if (k == 0 || 2 * k == n) v.im = 0;
    if (k >= h1) v.im = -v.im;
    F[t] = v;
  }
}

template <typename T> __global__ void real_part_kernel(const Cx<T>* F, T* y, int64_t count) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < count; t += (int64_t)gridDim.x * blockDim.x)
    y[t] = F[t].re;
}

template <typename T>
void r2c(const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale, DType real, int index) {
  cudaStream_t st = cuda::stream(index);
  int64_t count = outer * n * inner, total = outer * (n / 2 + 1) * inner;
  Tensor zt = scratch(real, count, index);
  Cx<T>* z = zt.ptr<Cx<T>>();
  complexify_kernel<T><<<cuda::grid_for(count), cuda::kThreads, 0, st>>>((const T*)in, z, count);
  PYML_CUDA_LAUNCH_CHECK("fft_r2c");
  fft_lines<T>(z, outer, n, inner, false, scale, real, index);
  keep_bins_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, st>>>(z, (Cx<T>*)out, n, inner, total);
  PYML_CUDA_LAUNCH_CHECK("fft_r2c");
}

template <typename T>
void c2r(const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale, DType real, int index) {
  cudaStream_t st = cuda::stream(index);
  int64_t count = outer * n * inner;
  Tensor ft = scratch(real, count, index);
  Cx<T>* f = ft.ptr<Cx<T>>();
  hermitian_kernel<T><<<cuda::grid_for(count), cuda::kThreads, 0, st>>>((const Cx<T>*)in, f, n, inner, count);
  PYML_CUDA_LAUNCH_CHECK("fft_c2r");
  fft_lines<T>(f, outer, n, inner, true, scale, real, index);
  real_part_kernel<T><<<cuda::grid_for(count), cuda::kThreads, 0, st>>>(f, (T*)out, count);
  PYML_CUDA_LAUNCH_CHECK("fft_c2r");
}

}  // namespace

void fft_lines_cuda(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale,
                    int index) {
  cuda::DeviceGuard guard(index);
  if (real == DType::Float64) fft_lines<double>(data, outer, n, inner, inverse, scale, real, index);
  else fft_lines<float>(data, outer, n, inner, inverse, scale, real, index);
}

void fft_r2c_cuda(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale,
                  int index) {
  cuda::DeviceGuard guard(index);
  if (real == DType::Float64) r2c<double>(in, out, outer, n, inner, scale, real, index);
  else r2c<float>(in, out, outer, n, inner, scale, real, index);
}

void fft_c2r_cuda(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale,
                  int index) {
  cuda::DeviceGuard guard(index);
  if (real == DType::Float64) c2r<double>(in, out, outer, n, inner, scale, real, index);
  else c2r<float>(in, out, outer, n, inner, scale, real, index);
}

}  // namespace pyml
