// Fused cross-entropy on the GPU: log-softmax + NLL (class weights, ignore_index, label smoothing,
// probability targets) forward, and softmax - target backward, one pass set per row.
// input (N, C, S) contiguous, rows r = n*S + s with classes at stride S. Rows are handled by one
// block each when S == 1 and C is large (coalesced along the row, shuffle reductions), else by one
// thread each (consecutive threads = consecutive s, so the strided class loop stays coalesced).
// The same row code serves both through Lanes<kBlock>. Forward sums of the row losses and weights
// are per-block partials added by a one-block second pass in a fixed order (deterministic), which
// also writes the reduced loss and the mean's divisor on the device: no host sync.
#include "loss.h"
#include "block_reduce.cuh"

namespace pyml {
namespace {

using cuda::block_reduce;

// How a row's classes are split: the whole block (kBlock) or a single thread.
template <bool kBlock> struct Lanes {
  __device__ static int64_t lane() { return kBlock ? threadIdx.x : 0; }
  __device__ static int64_t count() { return kBlock ? blockDim.x : 1; }
  __device__ static int64_t first_row() { return kBlock ? blockIdx.x : blockIdx.x * (int64_t)blockDim.x + threadIdx.x; }
  __device__ static int64_t row_step() { return kBlock ? gridDim.x : (int64_t)gridDim.x * blockDim.x; }
  // combine one value per lane (block mode: every thread of the block must call it)
  template <typename Op> __device__ static double reduce(double v, Op op, double* scratch) {
    if constexpr (kBlock) return block_reduce(v, op, scratch);
    else return v;
  }
};

// log-sum-exp of the row xr[c*S]: max in T, sum of exp(x - max) in double (like the CPU kernel)
template <typename T, bool kBlock>
__device__ double row_lse(const T* xr, int64_t C, int64_t S, double* scratch) {
  using L = Lanes<kBlock>;
  double m = -INFINITY;
  for (int64_t c = L::lane(); c < C; c += L::count()) m = cuda::MaxOp{}(m, (double)xr[c * S]);
  m = L::reduce(m, cuda::MaxOp{}, scratch);
  if (isinf(m)) return m;  // all -inf (or a +inf logit): no finite shift exists
  T tm = (T)m;
  double se = 0;
  for (int64_t c = L::lane(); c < C; c += L::count()) se += (double)exp(xr[c * S] - tm);
  return m + log(L::reduce(se, cuda::SumOp{}, scratch));
}

// loss[r], lse[r] per row; part[blockIdx.x*2 + {0, 1}] = the block's sums of losses and weights.
template <typename T, bool kBlock>
__global__ void ce_forward_kernel(CrossEntropyParams p, T* loss, double* part) {
  using L = Lanes<kBlock>;
  __shared__ double scratch[32];
  const T *x = (const T*)p.x, *w = (const T*)p.w, *prob = (const T*)p.prob;
  T* lse_out = (T*)p.lse;
  int64_t C = p.C, S = p.S, R = p.N * S;
  double eps = p.smoothing, eC = eps / (double)C, sl = 0, sw = 0;
  for (int64_t r = L::first_row(); r < R; r += L::row_step()) {  // uniform across the block in block mode
    int64_t n = r / S, s = r % S, base = n * C * S + s;
    const T* xr = x + base;
    if (p.target && p.target[r] == p.ignore_index) {
      if (L::lane() == 0) { loss[r] = T(0); lse_out[r] = T(0); }
      continue;
    }
    double lse = row_lse<T, kBlock>(xr, C, S, scratch), l = 0, wt = 1.0;
    if (p.target) {
      int64_t t = p.target[r];
      wt = w ? (double)w[t] : 1.0;
      l = (1.0 - eps) * wt * (lse - (double)xr[t * S]);
      if (eps > 0) {
        double sm = 0;
        for (int64_t c = L::lane(); c < C; c += L::count()) sm += (w ? (double)w[c] : 1.0) * (lse - (double)xr[c * S]);
        l += eC * L::reduce(sm, cuda::SumOp{}, scratch);
      }
    } else {
      const T* pr = prob + base;
      for (int64_t c = L::lane(); c < C; c += L::count())
        l += (w ? (double)w[c] : 1.0) * ((1.0 - eps) * (double)pr[c * S] + eC) * (lse - (double)xr[c * S]);
      l = L::reduce(l, cuda::SumOp{}, scratch);
    }
    if (L::lane() == 0) {
      loss[r] = (T)l;
      lse_out[r] = (T)lse;
      sl += l;
      sw += wt;
    }
  }
  sl = block_reduce(sl, cuda::SumOp{}, scratch);  // every thread gets here (no syncs inside the loop in thread mode)
  sw = block_reduce(sw, cuda::SumOp{}, scratch);
  if (threadIdx.x == 0) { part[blockIdx.x * 2] = sl; part[blockIdx.x * 2 + 1] = sw; }
}

// One block: totals of the nb partials, then the reduced loss and the mean's divisor.
template <typename T>
__global__ void ce_finish_kernel(const double* part, int64_t nb, int64_t R, bool prob, int64_t reduction, T* reduced,
                                 double* denom) {
  __shared__ double scratch[32];
  double sl = 0, sw = 0;
  for (int64_t b = threadIdx.x; b < nb; b += blockDim.x) { sl += part[b * 2]; sw += part[b * 2 + 1]; }
  sl = block_reduce(sl, cuda::SumOp{}, scratch);
  sw = block_reduce(sw, cuda::SumOp{}, scratch);
  if (threadIdx.x != 0) return;
  double d = prob ? (double)R : sw;
  *denom = d;
  if (reduction == 1) *reduced = (T)(R > 0 ? sl / d : (double)NAN);
  if (reduction == 2) *reduced = (T)sl;
}

// sum of the class weights (one block)
template <typename T> __global__ void ce_wsum_kernel(const T* w, int64_t C, double* out) {
  __shared__ double scratch[32];
  double s = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += (double)w[c];
  s = block_reduce(s, cuda::SumOp{}, scratch);
  if (threadIdx.x == 0) *out = s;
}

// Backward per row. Class indices: dx_c = a*(p_c - [c == t]) + b*(wsum*p_c - w_c) with
// a = g(1-eps)w_t, b = g*eps/C, p = exp(x - lse). Probabilities: dx_c = g*(Q*p_c - w_c*q_c),
// dprob_c = -g(1-eps)w_c(x_c - lse), q = (1-eps)*target + eps/C, Q = sum_c w_c q_c.
template <typename T, bool kBlock>
__global__ void ce_backward_kernel(CrossEntropyParams p, const T* dl, const double* snum, const double* sden,
                                   const double* wsum_p, T* dx, T* dprob) {
  using L = Lanes<kBlock>;
  __shared__ double scratch[32];
  const T *x = (const T*)p.x, *w = (const T*)p.w, *prob = (const T*)p.prob, *lse_in = (const T*)p.lse;
  int64_t C = p.C, S = p.S, R = p.N * S;
  double eps = p.smoothing, eC = eps / (double)C, wsum = wsum_p ? *wsum_p : (double)C;
  double scale = dl ? 0.0 : *snum / (sden ? *sden : 1.0);
  for (int64_t r = L::first_row(); r < R; r += L::row_step()) {
    int64_t n = r / S, s = r % S, base = n * C * S + s;
    const T* xr = x + base;
    T* d = dx ? dx + base : nullptr;
    double g = dl ? (double)dl[r] : scale, lse = (double)lse_in[r];
    if (p.target) {
      int64_t t = p.target[r];
      if (!d) continue;  // class-index targets have no target gradient
      if (t == p.ignore_index) {
        for (int64_t c = L::lane(); c < C; c += L::count()) d[c * S] = T(0);
        continue;
      }
      double a = g * (1.0 - eps) * (w ? (double)w[t] : 1.0), b = g * eC;
      T kp = (T)(a + b * wsum), kw = (T)(-b), tl = (T)lse, ta = (T)a;
      for (int64_t c = L::lane(); c < C; c += L::count()) {
        T v = kp * exp(xr[c * S] - tl) + kw * (w ? w[c] : T(1));
        d[c * S] = c == t ? v - ta : v;
      }
    } else {
      const T* pr = prob + base;
      double Q = 0;
      for (int64_t c = L::lane(); c < C; c += L::count())
        Q += (w ? (double)w[c] : 1.0) * ((1.0 - eps) * (double)pr[c * S] + eC);
      Q = L::reduce(Q, cuda::SumOp{}, scratch);
      for (int64_t c = L::lane(); c < C; c += L::count()) {
        double wc = w ? (double)w[c] : 1.0, xc = (double)xr[c * S];
        if (d) d[c * S] = (T)(g * (Q * exp(xc - lse) - wc * ((1.0 - eps) * (double)pr[c * S] + eC)));
        if (dprob) dprob[base + c * S] = (T)(-g * (1.0 - eps) * wc * (xc - lse));
      }
    }
  }
}

// block mode for contiguous rows wide enough to feed a block
inline bool use_block(const CrossEntropyParams& p) { return p.S == 1 && p.C >= 64; }
inline int block_threads(int64_t C) { return (int)std::min<int64_t>(cuda::kThreads, (C + 31) / 32 * 32); }

template <typename T>
void ce_forward(const CrossEntropyParams& p, T* loss, int64_t reduction, T* reduced, double* denom, int index) {
  const char* op = "cross_entropy";
  cudaStream_t s = cuda::stream(index);
  int64_t R = p.N * p.S;
  bool blk = use_block(p);
  unsigned nb = R == 0 ? 0 : blk ? cuda::grid_for(R, 1, 1) : cuda::grid_for(R);
  Tensor part = empty({std::max<int64_t>(2 * (int64_t)nb, 1)}, DType::Float64, Device{Device::CUDA, (int8_t)index});
  if (nb > 0) {
    if (blk) ce_forward_kernel<T, true><<<nb, block_threads(p.C), 0, s>>>(p, loss, part.ptr<double>());
    else ce_forward_kernel<T, false><<<nb, cuda::kThreads, 0, s>>>(p, loss, part.ptr<double>());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  ce_finish_kernel<T><<<1, cuda::kThreads, 0, s>>>(part.ptr<double>(), nb, R, p.prob != nullptr, reduction, reduced,
                                                   denom);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T>
void ce_backward(const CrossEntropyParams& p, const T* dl, const double* snum, const double* sden, T* dx, T* dprob,
                 int index) {
  const char* op = "cross_entropy_backward";
  cudaStream_t s = cuda::stream(index);
  int64_t R = p.N * p.S;
  Tensor wsum = empty({1}, DType::Float64, Device{Device::CUDA, (int8_t)index});
  bool need_wsum = p.w && p.target && p.smoothing > 0;
  if (need_wsum) {
    ce_wsum_kernel<T><<<1, cuda::kThreads, 0, s>>>((const T*)p.w, p.C, wsum.ptr<double>());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  const double* ws = need_wsum ? wsum.ptr<double>() : nullptr;
  if (use_block(p)) {
    ce_backward_kernel<T, true><<<cuda::grid_for(R, 1, 1), block_threads(p.C), 0, s>>>(p, dl, snum, sden, ws, dx, dprob);
  } else {
    ce_backward_kernel<T, false><<<cuda::grid_for(R), cuda::kThreads, 0, s>>>(p, dl, snum, sden, ws, dx, dprob);
  }
  PYML_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

void cross_entropy_forward_cuda(const CrossEntropyParams& p, void* loss_rows, int64_t reduction, void* reduced,
                                double* denom, int index) {
  cuda::DeviceGuard guard(index);
  if (p.dtype == DType::Float64) ce_forward<double>(p, (double*)loss_rows, reduction, (double*)reduced, denom, index);
  else ce_forward<float>(p, (float*)loss_rows, reduction, (float*)reduced, denom, index);
}

void cross_entropy_backward_cuda(const CrossEntropyParams& p, const void* dl, const double* snum, const double* sden,
                                 void* dx, void* dprob, int index) {
  if (p.N * p.S == 0 || (!dx && !dprob)) return;
  cuda::DeviceGuard guard(index);
  if (p.dtype == DType::Float64)
    ce_backward<double>(p, (const double*)dl, snum, sden, (double*)dx, (double*)dprob, index);
  else
    ce_backward<float>(p, (const float*)dl, snum, sden, (float*)dx, (float*)dprob, index);
}

}  // namespace pyml
