// Batch, layer/RMS and group normalisation on the GPU, forward and backward.
// Layouts (the host entries hand over float32/float64): batch_norm x (N, C, S) and group_norm
// (N*G) rows of (C/G)*S, or both (N, S, C) for a channels_last input (kept so: no layout copies
// around the kernels); layer_norm (M, K) rows. Statistics accumulate in double like
// the CPU kernels, with the same two-pass mean/variance and the same split-mean centring.
// Per-row work is one block per row with shuffle reductions. Per-channel and per-column sums
// (batch_norm statistics, dgamma/dbeta) are written as per-block partial sums in a fixed layout and
// added by a second pass in a fixed order: deterministic, no float atomics.
#include "norm.h"
#include "block_reduce.cuh"

namespace pyml {
namespace {

using cuda::block_reduce;
using cuda::SumOp;

inline Device dev_of(int index) { return Device{Device::CUDA, (int8_t)index}; }
inline Tensor scratch_f64(int64_t n, int index) { return empty({std::max<int64_t>(n, 1)}, DType::Float64, dev_of(index)); }

// threads per block for rows of n elements: a multiple of 32 in [32, 256]
inline int row_threads(int64_t n) { return (int)std::min<int64_t>(cuda::kThreads, std::max<int64_t>(32, (n + 31) / 32 * 32)); }
// blocks for `rows` one-block-per-row items (grid-stride loops cover the rest)
inline unsigned row_blocks(int64_t rows) { return cuda::grid_for(rows, 1, 1); }

// the mean as hi + lo in T, so (x - hi) - lo centres x with T's full precision
template <typename T> struct Centre {
  T hi, lo;
  __device__ explicit Centre(double mu) : hi((T)mu), lo((T)(mu - (double)(T)mu)) {}
};

// Mean and biased variance of x[0..K) by the whole block (two passes in double); every thread gets
// them. rms: mean 0 and the mean square. Every thread of the block must call it.
// x(k) is element k of the row (a strided row: group_norm's channels_last groups).
template <typename X>
__device__ void block_row_stats(X x, int64_t K, bool rms, double* scratch, double& mu, double& var) {
  double s = 0;
  if (rms) {
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) s += x(k) * x(k);
    mu = 0;
    var = block_reduce(s, SumOp{}, scratch) / (double)K;
    return;
  }
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) s += x(k);
  mu = block_reduce(s, SumOp{}, scratch) / (double)K;
  double q = 0;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    double d = x(k) - mu;
    q += d * d;
  }
  var = block_reduce(q, SumOp{}, scratch) / (double)K;
}

// a contiguous row as block_row_stats reads it
template <typename T> struct RowAt {
  const T* x;
  __device__ double operator()(int64_t k) const { return (double)x[k]; }
};

// ------------------------------------------------------------------------------ layer_norm
// x, y: (M, K); w, b: (K,) or null; mean, rstd: (M,). One block per row.
template <typename T>
__global__ void ln_forward_kernel(const T* x, T* y, const T* w, const T* b, double* mean, double* rstd, int64_t M,
                                  int64_t K, double eps, bool rms) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T* xr = x + r * K;
    T* yr = y + r * K;
    double mu, var;
    block_row_stats(RowAt<T>{xr}, K, rms, scratch, mu, var);
    double is = 1.0 / sqrt(var + eps);
    if (threadIdx.x == 0) { mean[r] = mu; rstd[r] = is; }
    Centre<T> m(mu);
    T tis = (T)is;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      T v = ((xr[k] - m.hi) - m.lo) * tis;
      yr[k] = v * (w ? w[k] : T(1)) + (b ? b[k] : T(0));
    }
  }
}

// dx = rstd * (dy*w - mean(dy*w) - xhat * mean(dy*w*xhat)); rms drops the mean(dy*w) term.
// dy, x, dx: (M, K); w: (K,) or null; mean, rstd: (M,). One block per row.
template <typename T>
__global__ void ln_backward_dx_kernel(const T* dy, const T* x, const T* w, const double* mean, const double* rstd,
                                      T* dx, int64_t M, int64_t K, bool rms) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T *xr = x + r * K, *g = dy + r * K;
    double mu = mean[r], is = rstd[r], a = 0, bs = 0;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
      double gh = (double)g[k] * (w ? (double)w[k] : 1.0);
      a += gh;
      bs += gh * ((double)xr[k] - mu);
    }
    a = block_reduce(a, SumOp{}, scratch);
    bs = block_reduce(bs, SumOp{}, scratch);
    T ca = (T)(rms ? 0.0 : a / (double)K), cb = (T)(bs * is / (double)K * is), tis = (T)is;
    Centre<T> m(mu);
    T* d = dx + r * K;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
      d[k] = tis * (g[k] * (w ? w[k] : T(1)) - ca - ((xr[k] - m.hi) - m.lo) * cb);
  }
}

// Partial dgamma/dbeta: chunk ch = blockIdx.y owns rows [ch*rpc, (ch+1)*rpc); each thread one column k.
// pw[ch*K + k] = sum dy*xhat, pb[ch*K + k] = sum dy over the chunk's rows (either may be null).
template <typename T>
__global__ void ln_param_partials_kernel(const T* dy, const T* x, const double* mean, const double* rstd, int64_t M,
                                         int64_t K, int64_t rpc, double* pw, double* pb) {
  int64_t ch = blockIdx.y, r0 = ch * rpc, r1 = r0 + rpc < M ? r0 + rpc : M;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < K; k += (int64_t)gridDim.x * blockDim.x) {
    double aw = 0, ab = 0;
    for (int64_t r = r0; r < r1; r++) {
      double g = (double)dy[r * K + k];
      aw += g * ((double)x[r * K + k] - mean[r]) * rstd[r];
      ab += g;
    }
    if (pw) pw[ch * K + k] = aw;
    if (pb) pb[ch * K + k] = ab;
  }
}

// dw[k] = sum over chunks of pw[c*K + k] (in chunk order), db likewise; either may be null.
template <typename T>
__global__ void sum_partials_kernel(const double* pw, const double* pb, int64_t nch, int64_t K, T* dw, T* db) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < K; k += (int64_t)gridDim.x * blockDim.x) {
    double sw = 0, sb = 0;
    for (int64_t c = 0; c < nch; c++) {
      if (dw) sw += pw[c * K + k];
      if (db) sb += pb[c * K + k];
    }
    if (dw) dw[k] = (T)sw;
    if (db) db[k] = (T)sb;
  }
}

template <typename T> void ln_forward(const RowNormParams& p, int index) {
  cudaStream_t s = cuda::stream(index);
  ln_forward_kernel<T><<<row_blocks(p.M), row_threads(p.K), 0, s>>>(
      (const T*)p.x, (T*)p.y, (const T*)p.w, (const T*)p.b, p.mean, p.rstd, p.M, p.K, p.eps, p.rms);
  PYML_CUDA_LAUNCH_CHECK(p.rms ? "rms_norm" : "layer_norm");
}

template <typename T> void ln_backward(const RowNormParams& p, const T* dy, T* dx, T* dw, T* db, int index) {
  const char* op = p.rms ? "rms_norm_backward" : "layer_norm_backward";
  cudaStream_t s = cuda::stream(index);
  if (dx) {
    ln_backward_dx_kernel<T><<<row_blocks(p.M), row_threads(p.K), 0, s>>>(dy, (const T*)p.x, (const T*)p.w, p.mean,
                                                                           p.rstd, dx, p.M, p.K, p.rms);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  if (!dw && !db) return;
  // chunks of rows: a function of M only, so the summation order is fixed
  int64_t nch = std::min<int64_t>(128, (p.M + 15) / 16), rpc = (p.M + nch - 1) / nch;
  nch = (p.M + rpc - 1) / rpc;
  Tensor pw = scratch_f64(dw ? nch * p.K : 0, index), pb = scratch_f64(db ? nch * p.K : 0, index);
  int threads = row_threads(p.K);
  dim3 grid((unsigned)std::min<int64_t>((p.K + threads - 1) / threads, 65535), (unsigned)nch);
  ln_param_partials_kernel<T><<<grid, threads, 0, s>>>(dy, (const T*)p.x, p.mean, p.rstd, p.M, p.K, rpc,
                                                       dw ? pw.ptr<double>() : nullptr, db ? pb.ptr<double>() : nullptr);
  PYML_CUDA_LAUNCH_CHECK(op);
  sum_partials_kernel<T><<<cuda::grid_for(p.K), cuda::kThreads, 0, s>>>(pw.ptr<double>(), pb.ptr<double>(), nch, p.K,
                                                                        dw, db);
  PYML_CUDA_LAUNCH_CHECK(op);
}

// ------------------------------------------------------------------------------ batch_norm
// Per-channel affine coefficients: out = k1 * dy + k2 * ((x - hi) - lo) + k3.
template <typename T> struct Coef { T hi, lo, k1, k2, k3; };

enum BnMode : int { kSum = 0, kSqDev = 1, kGrad = 2 };

// x, dy: (N, C, S). Block (ch, c) sums over chunk ch of channel c's L = N*S elements (j = n*S + s):
// kSum: x; kSqDev: (x - mean[c])^2; kGrad: dy and dy*(x - mean[c]). part[(c*nch + ch)*2 + {0, 1}].
template <typename T>
__global__ void bn_partials_kernel(const T* x, const T* dy, const double* mean, int64_t N, int64_t C, int64_t S,
                                   int64_t nch, int mode, double* part) {
  __shared__ double scratch[32];
  int64_t L = N * S;
  for (int64_t c = blockIdx.y; c < C; c += gridDim.y) {
    int64_t ch = blockIdx.x, j0 = ch * L / nch, j1 = (ch + 1) * L / nch;
    double mu = mode == kSum ? 0.0 : mean[c], s1 = 0, s2 = 0;
    for (int64_t j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
      int64_t i = (j / S * C + c) * S + j % S;
      double v = (double)x[i] - mu;
      if (mode == kSum) {
        s1 += v;
      } else if (mode == kSqDev) {
        s1 += v * v;
      } else {
        double g = (double)dy[i];
        s1 += g;
        s2 += g * v;
      }
    }
    s1 = block_reduce(s1, SumOp{}, scratch);
    s2 = block_reduce(s2, SumOp{}, scratch);
    if (threadIdx.x == 0) {
      part[(c * nch + ch) * 2] = s1;
      part[(c * nch + ch) * 2 + 1] = s2;
    }
  }
}

// The channels_last sums' last step: each of the 8 warps parks its lane's (a, b) in sums, and warp 0
// adds them in warp order (deterministic) into its own a, b and returns true. A barrier first; the
// caller needs one more before sums is reused.
__device__ inline bool add_warps(double (&sums)[2][8][32], int warp, int lane, double& a, double& b) {
  sums[0][warp][lane] = a;
  sums[1][warp][lane] = b;
  __syncthreads();
  if (warp != 0) return false;
  a = b = 0;
  for (int w = 0; w < 8; w++) a += sums[0][w][lane], b += sums[1][w][lane];
  return true;
}

// The same partial sums for channels_last x, dy: (L, C) rows, L = N*S pixels. Block (ch, cb) sums
// chunk ch of the rows for the 32 channels from cb*32: warp w takes rows j0 + w, j0 + w + 8, ...
// with lane l on channel cb*32 + l, so a warp reads 32 adjacent channels of one pixel (coalesced,
// where a block per channel would read one element per C); the 8 warps' sums are then added in
// warp order (deterministic). 256 threads per block.
template <typename T>
__global__ void bn_partials_cl_kernel(const T* x, const T* dy, const double* mean, int64_t L, int64_t C, int64_t nch,
                                      int mode, double* part) {
  __shared__ double sums[2][8][32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t ch = blockIdx.x, j0 = ch * L / nch, j1 = (ch + 1) * L / nch;
  for (int64_t cb = blockIdx.y; cb * 32 < C; cb += gridDim.y) {  // uniform per block
    const int64_t c = cb * 32 + lane;
    double s1 = 0, s2 = 0;
    if (c < C) {
      const double mu = mode == kSum ? 0.0 : mean[c];
      for (int64_t j = j0 + warp; j < j1; j += 8) {
        const double v = (double)x[j * C + c] - mu;
        if (mode == kSum) {
          s1 += v;
        } else if (mode == kSqDev) {
          s1 += v * v;
        } else {
          const double g = (double)dy[j * C + c];
          s1 += g;
          s2 += g * v;
        }
      }
    }
    if (add_warps(sums, warp, lane, s1, s2) && c < C) {
      part[(c * nch + ch) * 2] = s1;
      part[(c * nch + ch) * 2 + 1] = s2;
    }
    __syncthreads();  // the next channel block overwrites sums
  }
}

// One thread per channel adds its chunks in order. kSum: mean = sum / L. kSqDev: var, invstd.
__global__ void bn_stats_kernel(const double* part, int64_t nch, int64_t C, double L, double eps, int mode,
                                double* mean, double* var, double* invstd) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double s = 0;
    for (int64_t ch = 0; ch < nch; ch++) s += part[(c * nch + ch) * 2];
    if (mode == kSum) {
      mean[c] = s / L;
    } else {
      var[c] = s / L;
      invstd[c] = 1.0 / sqrt(s / L + eps);
    }
  }
}

// forward coefficients: y = ((x - mean) * (invstd * w)) + b
template <typename T>
__global__ void bn_forward_coef_kernel(const double* mean, const double* invstd, const T* w, const T* b, int64_t C,
                                       Coef<T>* cf) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    Centre<T> m(mean[c]);
    cf[c] = Coef<T>{m.hi, m.lo, T(0), (T)(invstd[c] * (w ? (double)w[c] : 1.0)), b ? b[c] : T(0)};
  }
}

// backward: dw, db from the kGrad partials; dx = g*dy + k2*(x - mean) + k3 (k2 = k3 = 0 in eval)
template <typename T>
__global__ void bn_backward_coef_kernel(const double* part, int64_t nch, const double* mean, const double* invstd,
                                        const T* w, int64_t C, double M, bool training, T* dw, T* db, Coef<T>* cf) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double sdy = 0, sdyx = 0;
    for (int64_t ch = 0; ch < nch; ch++) {
      sdy += part[(c * nch + ch) * 2];
      sdyx += part[(c * nch + ch) * 2 + 1];
    }
    double is = invstd[c], g = (w ? (double)w[c] : 1.0) * is;
    if (dw) dw[c] = (T)(sdyx * is);
    if (db) db[c] = (T)sdy;
    Centre<T> m(mean[c]);
    cf[c] = Coef<T>{m.hi, m.lo, (T)g, (T)(training ? -g * is * is * sdyx / M : 0.0),
                    (T)(training ? -g * sdy / M : 0.0)};
  }
}

// out[i] = k1*dy[i] + k2*((x[i] - hi) - lo) + k3 with channel c = (i / S) % C, or i % C for a
// channels_last (cl) layout; dy null: no k1 term.
template <typename T>
__global__ void bn_apply_kernel(const T* x, const T* dy, const Coef<T>* cf, int64_t n, int64_t C, int64_t S, bool cl,
                                T* out) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    Coef<T> k = cf[cl ? i % C : (i / S) % C];
    T t = k.k2 * ((x[i] - k.hi) - k.lo);
    if (dy) t = k.k1 * dy[i] + t;
    out[i] = t + k.k3;
  }
}

// chunks per channel: a function of the sizes only (fixed summation order). Channels_last blocks
// cover 32 channels, so they take shorter chunks (2048 rows: 256 per warp) to fill the GPU.
inline int64_t bn_chunks(const BatchNormParams& p) {
  const int64_t L = p.N * p.S, rows = p.cl ? 2048 : 8192;
  return std::max<int64_t>(1, std::min<int64_t>(256, (L + rows - 1) / rows));
}

template <typename T> void bn_partials(const BatchNormParams& p, const T* dy, int mode, double* part, int64_t nch,
                                       int index, const char* op) {
  if (p.cl) {
    dim3 grid((unsigned)nch, (unsigned)std::min<int64_t>((p.C + 31) / 32, 65535));
    bn_partials_cl_kernel<T><<<grid, 256, 0, cuda::stream(index)>>>((const T*)p.x, dy, p.mean, p.N * p.S, p.C, nch,
                                                                    mode, part);
  } else {
    dim3 grid((unsigned)nch, (unsigned)std::min<int64_t>(p.C, 65535));
    bn_partials_kernel<T><<<grid, row_threads(p.N * p.S / nch + 1), 0, cuda::stream(index)>>>(
        (const T*)p.x, dy, p.mean, p.N, p.C, p.S, nch, mode, part);
  }
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T> void bn_forward(const BatchNormParams& p, int index) {
  const char* op = "batch_norm";
  cudaStream_t s = cuda::stream(index);
  unsigned cgrid = cuda::grid_for(p.C);
  if (p.training) {
    int64_t nch = bn_chunks(p);
    Tensor part = scratch_f64(p.C * nch * 2, index);
    double L = (double)(p.N * p.S);
    bn_partials<T>(p, nullptr, kSum, part.ptr<double>(), nch, index, op);
    bn_stats_kernel<<<cgrid, cuda::kThreads, 0, s>>>(part.ptr<double>(), nch, p.C, L, p.eps, kSum, p.mean, p.var,
                                                     p.invstd);
    PYML_CUDA_LAUNCH_CHECK(op);
    bn_partials<T>(p, nullptr, kSqDev, part.ptr<double>(), nch, index, op);
    bn_stats_kernel<<<cgrid, cuda::kThreads, 0, s>>>(part.ptr<double>(), nch, p.C, L, p.eps, kSqDev, p.mean, p.var,
                                                     p.invstd);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  Tensor cf = empty({p.C * (int64_t)sizeof(Coef<T>)}, DType::UInt8, dev_of(index));
  bn_forward_coef_kernel<T><<<cgrid, cuda::kThreads, 0, s>>>(p.mean, p.invstd, (const T*)p.w, (const T*)p.b, p.C,
                                                             cf.ptr<Coef<T>>());
  PYML_CUDA_LAUNCH_CHECK(op);
  int64_t n = p.N * p.C * p.S;
  if (n == 0) return;
  bn_apply_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>((const T*)p.x, nullptr, cf.ptr<Coef<T>>(), n, p.C,
                                                                  p.S, p.cl, (T*)p.y);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T> void bn_backward(const BatchNormParams& p, const T* dy, T* dx, T* dw, T* db, int index) {
  const char* op = "batch_norm_backward";
  cudaStream_t s = cuda::stream(index);
  int64_t nch = bn_chunks(p);
  Tensor part = scratch_f64(p.C * nch * 2, index);
  bn_partials<T>(p, dy, kGrad, part.ptr<double>(), nch, index, op);
  Tensor cf = empty({p.C * (int64_t)sizeof(Coef<T>)}, DType::UInt8, dev_of(index));
  bn_backward_coef_kernel<T><<<cuda::grid_for(p.C), cuda::kThreads, 0, s>>>(
      part.ptr<double>(), nch, p.mean, p.invstd, (const T*)p.w, p.C, (double)(p.N * p.S), p.training, dw, db,
      cf.ptr<Coef<T>>());
  PYML_CUDA_LAUNCH_CHECK(op);
  if (!dx) return;
  int64_t n = p.N * p.C * p.S;
  bn_apply_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>((const T*)p.x, dy, cf.ptr<Coef<T>>(), n, p.C, p.S,
                                                                  p.cl, dx);
  PYML_CUDA_LAUNCH_CHECK(op);
}

__global__ void bn_invstd_kernel(const double* var, double eps, double* invstd, int64_t C) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x)
    invstd[c] = 1.0 / sqrt(var[c] + eps);
}

__global__ void bn_running_kernel(double* running, const double* stat, double momentum, double factor, int64_t C) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x)
    running[c] = (1 - momentum) * running[c] + momentum * factor * stat[c];
}

// ------------------------------------------------------------------------------ group_norm
// Row r = n*G + g, element k: NCHW rows are contiguous, (C/G)*S elements with channel c0 + k / S;
// channels_last (cl) rows are the group's CG adjacent channels of each of the S pixels, C apart:
// element k = s*CG + j at s*C + j from the row's start, channel c0 + j.
struct GnRow {
  int64_t C, G, CG, S, K;
  bool cl;
  __device__ int64_t start(int64_t r) const { return cl ? (r / G) * S * C + (r % G) * CG : r * K; }
  __device__ int64_t at(int64_t k) const { return cl ? (k / CG) * C + k % CG : k; }
  __device__ int64_t channel(int64_t r, int64_t k) const { return (r % G) * CG + (cl ? k % CG : k / S); }
};

template <typename T> struct GnRowAt {
  const T* x;
  GnRow g;
  __device__ double operator()(int64_t k) const { return (double)x[g.at(k)]; }
};

// x, y: (N*G, K) rows as GnRow lays them out; w, b: (C,) or null; mean, rstd, var: (N*G,). One block per row.
template <typename T>
__global__ void gn_forward_kernel(const T* x, T* y, const T* w, const T* b, double* mean, double* rstd, double* var,
                                  int64_t M, GnRow g, double eps) {
  __shared__ double scratch[32];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T* xr = x + g.start(r);
    double mu, v;
    block_row_stats(GnRowAt<T>{xr, g}, g.K, false, scratch, mu, v);
    double is = 1.0 / sqrt(v + eps);
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = is;
      if (var) var[r] = v;
    }
    Centre<T> m(mu);
    T* yr = y + g.start(r);
    for (int64_t k = threadIdx.x; k < g.K; k += blockDim.x) {
      const int64_t c = g.channel(r, k), a = g.at(k);
      T scale = (T)(is * (w ? (double)w[c] : 1.0));
      yr[a] = ((xr[a] - m.hi) - m.lo) * scale + (b ? b[c] : T(0));
    }
  }
}

// Per (n, c) plane of S elements (plane index q = n*C + c, row n*G + c/CG): sdy = sum dy,
// sdyx = sum dy*(x - mean). One block per plane.
template <typename T>
__global__ void gn_plane_sums_kernel(const T* dy, const T* x, const double* mean, int64_t P, int64_t C, int64_t G,
                                     int64_t CG, int64_t S, double* sdy, double* sdyx) {
  __shared__ double scratch[32];
  for (int64_t q = blockIdx.x; q < P; q += gridDim.x) {
    double mu = mean[(q / C) * G + (q % C) / CG], a = 0, bs = 0;
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      double g = (double)dy[q * S + s];
      a += g;
      bs += g * ((double)x[q * S + s] - mu);
    }
    a = block_reduce(a, SumOp{}, scratch);
    bs = block_reduce(bs, SumOp{}, scratch);
    if (threadIdx.x == 0) { sdy[q] = a; sdyx[q] = bs; }
  }
}

// The same sums for channels_last dy, x (N, S, C): block (n, cb) owns the 32 channels from cb*32 of
// image n; warp w takes pixels w, w + 8, ... with lane l on channel cb*32 + l (a warp reads 32
// adjacent channels of one pixel: coalesced), then the 8 warps' sums are added in warp order.
template <typename T>
__global__ void gn_plane_sums_cl_kernel(const T* dy, const T* x, const double* mean, int64_t N, int64_t C, int64_t G,
                                        int64_t CG, int64_t S, double* sdy, double* sdyx) {
  __shared__ double sums[2][8][32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t cblocks = (C + 31) / 32;
  for (int64_t blk = blockIdx.x; blk < N * cblocks; blk += gridDim.x) {  // uniform per block
    const int64_t n = blk / cblocks, c = (blk % cblocks) * 32 + lane;
    double a = 0, bs = 0;
    if (c < C) {
      const double mu = mean[n * G + c / CG];
      for (int64_t s = warp; s < S; s += 8) {
        const int64_t i = (n * S + s) * C + c;
        const double g = (double)dy[i];
        a += g;
        bs += g * ((double)x[i] - mu);
      }
    }
    if (add_warps(sums, warp, lane, a, bs) && c < C) {
      sdy[n * C + c] = a;
      sdyx[n * C + c] = bs;
    }
    __syncthreads();  // the next block of channels overwrites sums
  }
}

// Per row r = n*G + g: dx = is*wc*dy + k2*(x - mean) + k3 with k2 = -is^2 * sum_c(wc*sdyx)*is / K and
// k3 = -is * sum_c(wc*sdy) / K over the group's channels (in channel order, like the CPU).
template <typename T>
__global__ void gn_row_coef_kernel(const double* sdy, const double* sdyx, const T* w, const double* rstd, int64_t M,
                                   int64_t C, int64_t G, int64_t CG, int64_t K, double* k2, double* k3) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < M; r += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = r / G, c0 = (r % G) * CG;
    double is = rstd[r], a = 0, bs = 0;
    for (int64_t j = 0; j < CG; j++) {
      int64_t c = c0 + j;
      double wc = w ? (double)w[c] : 1.0;
      a += wc * sdy[n * C + c];
      bs += wc * sdyx[n * C + c] * is;
    }
    k2[r] = -is * is * bs / (double)K;
    k3[r] = -is * a / (double)K;
  }
}

// dx over all N*C*S elements in memory order: row r = i / K, channel c = (i / S) % C, or for
// channels_last (cl) c = i % C, r = (i / (S*C)) * G + c / CG
template <typename T>
__global__ void gn_dx_kernel(const T* dy, const T* x, const T* w, const double* mean, const double* rstd,
                             const double* k2, const double* k3, int64_t n, GnRow g, T* dx) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = g.cl ? i % g.C : (i / g.S) % g.C, r = g.cl ? i / (g.S * g.C) * g.G + c / g.CG : i / g.K;
    double is = rstd[r];
    Centre<T> m(mean[r]);
    T k1 = (T)(is * (w ? (double)w[c] : 1.0));
    dx[i] = k1 * dy[i] + (T)k2[r] * ((x[i] - m.hi) - m.lo) + (T)k3[r];
  }
}

// dw[c] = sum_n sdyx[n, c] * rstd[n, g(c)], db[c] = sum_n sdy[n, c]; one thread per channel, n in order
template <typename T>
__global__ void gn_params_kernel(const double* sdy, const double* sdyx, const double* rstd, int64_t N, int64_t C,
                                 int64_t G, int64_t CG, T* dw, T* db) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double sw = 0, sb = 0;
    for (int64_t n = 0; n < N; n++) {
      sw += sdyx[n * C + c] * rstd[n * G + c / CG];
      sb += sdy[n * C + c];
    }
    if (dw) dw[c] = (T)sw;
    if (db) db[c] = (T)sb;
  }
}

inline GnRow gn_row(const RowNormParams& p) { return GnRow{p.C, p.G, p.C / p.G, p.S, p.K, p.cl}; }

template <typename T> void gn_forward(const RowNormParams& p, int index) {
  gn_forward_kernel<T><<<row_blocks(p.M), row_threads(p.K), 0, cuda::stream(index)>>>(
      (const T*)p.x, (T*)p.y, (const T*)p.w, (const T*)p.b, p.mean, p.rstd, p.var, p.M, gn_row(p), p.eps);
  PYML_CUDA_LAUNCH_CHECK("group_norm");
}

template <typename T> void gn_backward(const RowNormParams& p, const T* dy, T* dx, T* dw, T* db, int index) {
  const char* op = "group_norm_backward";
  cudaStream_t s = cuda::stream(index);
  int64_t C = p.C, G = p.G, CG = C / G, N = p.M / G, P = N * C;
  Tensor sdy = scratch_f64(P, index), sdyx = scratch_f64(P, index);
  if (p.cl)
    gn_plane_sums_cl_kernel<T><<<row_blocks(N * ((C + 31) / 32)), 256, 0, s>>>(
        dy, (const T*)p.x, p.mean, N, C, G, CG, p.S, sdy.ptr<double>(), sdyx.ptr<double>());
  else
    gn_plane_sums_kernel<T><<<row_blocks(P), row_threads(p.S), 0, s>>>(dy, (const T*)p.x, p.mean, P, C, G, CG, p.S,
                                                                        sdy.ptr<double>(), sdyx.ptr<double>());
  PYML_CUDA_LAUNCH_CHECK(op);
  if (dx) {
    Tensor k2 = scratch_f64(p.M, index), k3 = scratch_f64(p.M, index);
    gn_row_coef_kernel<T><<<cuda::grid_for(p.M), cuda::kThreads, 0, s>>>(
        sdy.ptr<double>(), sdyx.ptr<double>(), (const T*)p.w, p.rstd, p.M, C, G, CG, p.K, k2.ptr<double>(),
        k3.ptr<double>());
    PYML_CUDA_LAUNCH_CHECK(op);
    int64_t n = p.M * p.K;
    gn_dx_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(dy, (const T*)p.x, (const T*)p.w, p.mean, p.rstd,
                                                                 k2.ptr<double>(), k3.ptr<double>(), n, gn_row(p), dx);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  if (dw || db) {
    gn_params_kernel<T><<<cuda::grid_for(C), cuda::kThreads, 0, s>>>(sdy.ptr<double>(), sdyx.ptr<double>(), p.rstd, N,
                                                                     C, G, CG, dw, db);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
}

}  // namespace

#define PYML_NORM_DISPATCH(dtype, ...) \
  if ((dtype) == DType::Float64) { using T = double; __VA_ARGS__; } else { using T = float; __VA_ARGS__; }

void batch_norm_forward_cuda(const BatchNormParams& p, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, bn_forward<T>(p, index))
}

void batch_norm_backward_cuda(const BatchNormParams& p, const void* dy, void* dx, void* dw, void* db, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, bn_backward<T>(p, (const T*)dy, (T*)dx, (T*)dw, (T*)db, index))
}

void batch_norm_invstd_cuda(const double* var, double eps, double* invstd, int64_t C, int index) {
  if (C == 0) return;
  cuda::DeviceGuard guard(index);
  bn_invstd_kernel<<<cuda::grid_for(C), cuda::kThreads, 0, cuda::stream(index)>>>(var, eps, invstd, C);
  PYML_CUDA_LAUNCH_CHECK("batch_norm");
}

void batch_norm_update_running_cuda(double* running, const double* stat, double momentum, double factor, int64_t C,
                                    int index) {
  if (C == 0) return;
  cuda::DeviceGuard guard(index);
  bn_running_kernel<<<cuda::grid_for(C), cuda::kThreads, 0, cuda::stream(index)>>>(running, stat, momentum, factor, C);
  PYML_CUDA_LAUNCH_CHECK("batch_norm");
}

void layer_norm_forward_cuda(const RowNormParams& p, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, ln_forward<T>(p, index))
}

void layer_norm_backward_cuda(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, ln_backward<T>(p, (const T*)dy, (T*)dx, (T*)dw, (T*)db, index))
}

void group_norm_forward_cuda(const RowNormParams& p, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, gn_forward<T>(p, index))
}

void group_norm_backward_cuda(const RowNormParams& p, const void* dy, void* dx, void* dw, void* db, int index) {
  cuda::DeviceGuard guard(index);
  PYML_NORM_DISPATCH(p.dtype, gn_backward<T>(p, (const T*)dy, (T*)dx, (T*)dw, (T*)db, index))
}

}  // namespace pyml
