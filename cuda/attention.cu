// Scaled dot-product attention on CUDA, flash style: no L x S matrix is ever stored.
// Tiles are 32 queries x 32 keys; a block of 256 threads gives each query row 8 threads, thread
// (row = t / 8, l8 = t % 8) owning keys l8 + 8 jj of a tile and output columns l8 + 8 x of each
// 32-column chunk. Operand tiles pass through shared memory 32 x 32 at a time (embedding chunks
// for the scores, column chunks for the products), so every head dim works and a block covers
// up to 128 output columns (more columns: more blocks, scores recomputed per column chunk).
// Forward: a block owns (matrix b, query tile, column chunk); per key tile it computes scores,
// applies scale/mask/causal, and runs the online softmax in registers (row max and sum shared
// by shuffles among the row's 8 threads), then O += P V; it saves lse = m + log(l).
// Backward (FlashAttention-2): D = rowsum(dO * O); P = exp(S - lse) and dS = P (dP - D) are
// recomputed per tile; one kernel owns key tiles and accumulates dK, dV over the queries, another
// owns query tiles and accumulates dQ over the keys, so every gradient element has one writer
// (no atomics, no zero-fill, deterministic). float16/bfloat16/float32 accumulate in float32.
// float16/bfloat16 at head dims 64 and 128 run the tensor-core kernels of cuda/attention_tc.cu instead
// (the forward without a mask on Hopper: cuda/attention_wgmma.cu).
#include "attention.h"
#include "attention_tc.cuh"
#include "attention_wgmma.cuh"
#include <climits>
#include "block_reduce.cuh"

namespace pyml {
namespace {

constexpr int kB = 32;        // query and key tile, and the shared-memory chunk width
constexpr int kCols = 128;    // output columns per block
constexpr int kThr = 256;
using P = SdpaCudaParams;

template <typename Acc> __device__ inline Acc dexp(Acc v) { return exp(v); }
template <typename Acc> __device__ inline Acc dlog(Acc v) { return log(v); }
template <typename Acc> __device__ inline Acc ninf() { return -std::numeric_limits<Acc>::infinity(); }

// The operands of one batch matrix.
template <typename T, typename Acc> struct Mat {
  const T *q, *k, *v, *dout;
  const void* mask;
  const Acc *lse, *D;
};

template <typename T, typename Acc> __device__ Mat<T, Acc> mat_of(const P& p, int64_t b, const Acc* D) {
  int64_t off[5];
  p.bi.offsets(b, off);
  Mat<T, Acc> m;
  m.q = static_cast<const T*>(p.q.data) + off[0];
  m.k = static_cast<const T*>(p.k.data) + off[1];
  m.v = static_cast<const T*>(p.v.data) + off[2];
  m.dout = static_cast<const T*>(p.dout.data) + off[4];
  m.mask = p.mask_kind == MaskKind::Bool ? static_cast<const void*>(static_cast<const uint8_t*>(p.mask.data) + off[3])
                                         : static_cast<const void*>(static_cast<const Acc*>(p.mask.data) + off[3]);
  m.lse = static_cast<const Acc*>(p.lse) + b * p.L;
  m.D = D ? D + b * p.L : nullptr;
  return m;
}

// dst[r][c] = src[r * rs + c * cs] for r < nr, c < nc, else 0 (a 32 x 32 tile; consecutive
// threads take consecutive c, the contiguous dim of every operand in the usual layouts)
template <typename T, typename Acc>
__device__ inline void stage(Acc (*dst)[kB + 1], const T* src, int64_t rs, int64_t cs, int64_t nr, int64_t nc) {
#pragma unroll
  for (int x = 0; x < kB * kB / kThr; x++) {
    int r = threadIdx.x / kB + x * (kThr / kB), c = threadIdx.x % kB;
    dst[r][c] = (r < nr && c < nc) ? cuda::convert<Acc>(src[r * rs + c * cs]) : Acc(0);
  }
}

// s[jj] += sum over e < D of A[row][e] * B[l8 + 8 jj][e]: A (na rows), B (nb rows) tiles with
// strides (rows, cols). Every thread calls it (it synchronises).
template <typename T, typename Acc>
__device__ void tile_dot(const T* A, int64_t ars, int64_t acs, int64_t na, const T* B, int64_t brs, int64_t bcs,
                         int64_t nb, int64_t D, Acc (&s)[4], Acc (*sA)[kB + 1], Acc (*sB)[kB + 1]) {
  const int row = threadIdx.x / 8, l8 = threadIdx.x % 8;
  for (int64_t e0 = 0; e0 < D; e0 += kB) {
    stage(sA, A + e0 * acs, ars, acs, na, D - e0);
    stage(sB, B + e0 * bcs, brs, bcs, nb, D - e0);
    __syncthreads();
#pragma unroll 8
    for (int e = 0; e < kB; e++) {
      Acc a = sA[row][e];
#pragma unroll
      for (int jj = 0; jj < 4; jj++) s[jj] += a * sB[l8 + 8 * jj][e];
    }
    __syncthreads();
  }
}

// Scores of query i against keys k0 + l8 + 8 jj: scale, then the mask (bool false or causal
// j > i: -inf; additive: added), like the CPU kernel; -inf past L or S.
template <typename Acc>
__device__ inline void fixup(const P& p, const void* mask, int64_t i, int64_t k0, Acc (&s)[4]) {
  const int l8 = threadIdx.x % 8;
#pragma unroll
  for (int jj = 0; jj < 4; jj++) {
    const int64_t j = k0 + l8 + 8 * jj;
    if (i >= p.L || j >= p.S) { s[jj] = ninf<Acc>(); continue; }
    s[jj] *= Acc(p.scale);
    const int64_t at = i * p.mask.rs + j * p.mask.cs;
    if (p.mask_kind == MaskKind::Bool && !static_cast<const uint8_t*>(mask)[at]) s[jj] = ninf<Acc>();
    if (p.mask_kind == MaskKind::Additive) s[jj] += static_cast<const Acc*>(mask)[at];
    if (p.causal && j > i) s[jj] = ninf<Acc>();
  }
}

// max / sum over the 8 threads of a query row (lanes 8r .. 8r+7 of one warp)
template <typename Acc> __device__ inline Acc row_max(Acc v) {
#pragma unroll
  for (int o = 4; o > 0; o >>= 1) { Acc w = __shfl_xor_sync(0xffffffffu, v, o); v = v < w ? w : v; }
  return v;
}
template <typename Acc> __device__ inline Acc row_sum(Acc v) {
#pragma unroll
  for (int o = 4; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One block per (matrix b, query tile, column chunk); out (nb, L, Ev), lse (nb, L).
template <typename T, typename Acc> __global__ void __launch_bounds__(kThr) sdpa_fwd_kernel(P p) {
  __shared__ Acc sA[kB][kB + 1], sB[kB][kB + 1], sP[kB][kB + 1];
  const int row = threadIdx.x / 8, l8 = threadIdx.x % 8;
  const int64_t nqt = (p.L + kB - 1) / kB, nch = max((p.Ev + kCols - 1) / kCols, (int64_t)1);
  const int64_t work = p.bi.count * nqt * nch;
  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {  // uniform per block
    const int64_t ch = w % nch, q0 = w / nch % nqt * kB, b = w / (nch * nqt), i = q0 + row;
    const Mat<T, Acc> M = mat_of<T, Acc>(p, b, nullptr);
    Acc m = ninf<Acc>(), l = Acc(0), acc[16];
#pragma unroll
    for (int x = 0; x < 16; x++) acc[x] = Acc(0);
    const int64_t kend = p.causal ? min(p.S, q0 + kB) : p.S;  // later keys are masked for every row
    for (int64_t k0 = 0; k0 < kend; k0 += kB) {
      Acc s[4] = {Acc(0), Acc(0), Acc(0), Acc(0)};
      const int64_t nk = min((int64_t)kB, p.S - k0);
      tile_dot(M.q + q0 * p.q.rs, p.q.rs, p.q.cs, p.L - q0, M.k + k0 * p.k.rs, p.k.rs, p.k.cs, nk, p.E, s, sA, sB);
      fixup(p, M.mask, i, k0, s);
      const Acc mx = row_max(max(max(s[0], s[1]), max(s[2], s[3]))), mnew = m < mx ? mx : m;
      // mnew = -inf: nothing takes part so far, the tile adds nothing (and exp(-inf + inf) is NaN)
      const bool live = mnew != ninf<Acc>();
      Acc pr[4] = {Acc(0), Acc(0), Acc(0), Acc(0)};
      if (live)
#pragma unroll
        for (int jj = 0; jj < 4; jj++) pr[jj] = dexp(s[jj] - mnew);
      const Acc sum = row_sum(pr[0] + pr[1] + pr[2] + pr[3]);  // every lane: rows of a warp may differ in live
      if (live) {
        const Acc alpha = dexp(m - mnew);  // m = -inf: 0
        l = l * alpha + sum;
        m = mnew;
#pragma unroll
        for (int x = 0; x < 16; x++) acc[x] *= alpha;
      }
#pragma unroll
      for (int jj = 0; jj < 4; jj++) sP[row][l8 + 8 * jj] = pr[jj];
#pragma unroll
      for (int vc = 0; vc < kCols / kB; vc++) {
        const int64_t c0 = ch * kCols + vc * kB;
        if (c0 >= p.Ev) break;  // uniform: same c0 for the whole block
        stage(sB, M.v + k0 * p.v.rs + c0 * p.v.cs, p.v.rs, p.v.cs, nk, p.Ev - c0);
        __syncthreads();  // also publishes sP
#pragma unroll 8
        for (int j = 0; j < kB; j++) {
          const Acc pj = sP[row][j];
#pragma unroll
          for (int x = 0; x < 4; x++) acc[vc * 4 + x] += pj * sB[j][l8 + 8 * x];
        }
        __syncthreads();
      }
    }
    if (i < p.L) {
      const Acc inv = l > Acc(0) ? Acc(1) / l : Acc(0);
      T* out = static_cast<T*>(p.out) + (b * p.L + i) * p.Ev;
#pragma unroll
      for (int x = 0; x < 16; x++) {
        const int64_t c = ch * kCols + x / 4 * kB + l8 + 8 * (x % 4);
        if (c < p.Ev) out[c] = cuda::convert<T>(acc[x] * inv);
      }
      if (ch == 0 && l8 == 0)
        static_cast<Acc*>(p.lse)[b * p.L + i] = l > Acc(0) ? m + dlog(l) : -ninf<Acc>();
    }
  }
}

// D[b*L + i] = sum over c of dO[i][c] * O[i][c]: a warp per row
template <typename T, typename Acc> __global__ void sdpa_rowdot_kernel(P p, Acc* D) {
  const int lane = threadIdx.x % 32, wpb = blockDim.x / 32;
  const int64_t rows = p.bi.count * p.L;
  for (int64_t r = (int64_t)blockIdx.x * wpb + threadIdx.x / 32; r < rows; r += (int64_t)gridDim.x * wpb) {
    int64_t off[5];
    p.bi.offsets(r / p.L, off);
    const T* dO = static_cast<const T*>(p.dout.data) + off[4] + r % p.L * p.dout.rs;
    const T* o = static_cast<const T*>(p.out) + r * p.Ev;
    Acc s = Acc(0);
    for (int64_t c = lane; c < p.Ev; c += 32) s += cuda::convert<Acc>(dO[c * p.dout.cs]) * cuda::convert<Acc>(o[c]);
    s = cuda::warp_reduce(s, cuda::SumOp{});
    if (lane == 0) D[r] = s;
  }
}

// P = exp(S - lse) and dS = P * (dO V^T - D) for query row q0 + row, keys k0 + l8 + 8 jj
template <typename T, typename Acc>
__device__ void probs_and_ds(const P& p, const Mat<T, Acc>& M, int64_t q0, int64_t k0, Acc (&pr)[4], Acc (&ds)[4],
                             Acc (*sA)[kB + 1], Acc (*sB)[kB + 1]) {
  const int64_t i = q0 + threadIdx.x / 8, nq = p.L - q0, nk = p.S - k0;
  Acc s[4] = {Acc(0), Acc(0), Acc(0), Acc(0)}, dp[4] = {Acc(0), Acc(0), Acc(0), Acc(0)};
  tile_dot(M.q + q0 * p.q.rs, p.q.rs, p.q.cs, nq, M.k + k0 * p.k.rs, p.k.rs, p.k.cs, nk, p.E, s, sA, sB);
  tile_dot(M.dout + q0 * p.dout.rs, p.dout.rs, p.dout.cs, nq, M.v + k0 * p.v.rs, p.v.rs, p.v.cs, nk, p.Ev, dp, sA,
           sB);
  fixup(p, M.mask, i, k0, s);
  const Acc lse = i < p.L ? M.lse[i] : -ninf<Acc>(), Di = i < p.L ? M.D[i] : Acc(0);
#pragma unroll
  for (int jj = 0; jj < 4; jj++) {
    pr[jj] = dexp(s[jj] - lse);  // masked (-inf) and rows with no key (lse = +inf) give 0
    ds[jj] = pr[jj] * (dp[jj] - Di);
  }
}

// acc[vc*4 + x] += sum over r of W[r][col] * src[r][c0 + vc*32 + l8 + 8x], W a 32 x 32 shared tile
// indexed by (r, own): W[r][row] when transposed (dK, dV), else W[row][r] (dQ)
template <typename T, typename Acc, bool kTransposed>
__device__ inline void accumulate(Acc (&acc)[16], Acc (*W)[kB + 1], const T* src, int64_t rs, int64_t cs, int64_t nr,
                                  int64_t c0, int64_t ncols, Acc (*sA)[kB + 1]) {
  const int row = threadIdx.x / 8, l8 = threadIdx.x % 8;
#pragma unroll
  for (int vc = 0; vc < kCols / kB; vc++) {
    const int64_t c = c0 + vc * kB;
    if (c >= ncols) break;  // uniform
    stage(sA, src + c * cs, rs, cs, nr, ncols - c);
    __syncthreads();
#pragma unroll 8
    for (int r = 0; r < kB; r++) {
      const Acc wr = kTransposed ? W[r][row] : W[row][r];
#pragma unroll
      for (int x = 0; x < 4; x++) acc[vc * 4 + x] += wr * sA[r][l8 + 8 * x];
    }
    __syncthreads();
  }
}

// acc (a 32-row x 128-column register block, rows r0 + row) -> dst (rows < nrows, cols < ncols), times k
template <typename T, typename Acc>
__device__ inline void write_block(T* dst, const Acc (&acc)[16], int64_t r, int64_t nrows, int64_t c0, int64_t ncols,
                                   Acc k) {
  if (r >= nrows) return;
  const int l8 = threadIdx.x % 8;
#pragma unroll
  for (int x = 0; x < 16; x++) {
    const int64_t c = c0 + x / 4 * kB + l8 + 8 * (x % 4);
    if (c < ncols) dst[r * ncols + c] = cuda::convert<T>(acc[x] * k);
  }
}

// One block per (matrix b, key tile, column chunk): dV = P^T dO, dK = scale dS^T Q over all queries.
template <typename T, typename Acc> __global__ void __launch_bounds__(kThr) sdpa_dkv_kernel(P p, const Acc* D) {
  __shared__ Acc sA[kB][kB + 1], sB[kB][kB + 1], sP[kB][kB + 1], sS[kB][kB + 1];
  const int row = threadIdx.x / 8, l8 = threadIdx.x % 8;
  const int64_t nkt = (p.S + kB - 1) / kB, nch = max((max(p.E, p.Ev) + kCols - 1) / kCols, (int64_t)1);
  const int64_t work = p.bi.count * nkt * nch;
  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t c0 = w % nch * kCols, k0 = w / nch % nkt * kB, b = w / (nch * nkt);
    const Mat<T, Acc> M = mat_of<T, Acc>(p, b, D);
    Acc dk[16], dv[16];
#pragma unroll
    for (int x = 0; x < 16; x++) dk[x] = dv[x] = Acc(0);
    for (int64_t q0 = p.causal ? k0 : 0; q0 < p.L; q0 += kB) {  // causal: earlier queries see none of these keys
      Acc pr[4], ds[4];
      probs_and_ds(p, M, q0, k0, pr, ds, sA, sB);
#pragma unroll
      for (int jj = 0; jj < 4; jj++) { sP[row][l8 + 8 * jj] = pr[jj]; sS[row][l8 + 8 * jj] = ds[jj]; }
      __syncthreads();
      if (p.dv) accumulate<T, Acc, true>(dv, sP, M.dout + q0 * p.dout.rs, p.dout.rs, p.dout.cs, p.L - q0, c0, p.Ev, sA);
      if (p.dk) accumulate<T, Acc, true>(dk, sS, M.q + q0 * p.q.rs, p.q.rs, p.q.cs, p.L - q0, c0, p.E, sA);
      __syncthreads();  // sP, sS are rewritten next step even when no column chunk ran
    }
    if (p.dv) write_block(static_cast<T*>(p.dv) + b * p.S * p.Ev, dv, k0 + row, p.S, c0, p.Ev, Acc(1));
    if (p.dk) write_block(static_cast<T*>(p.dk) + b * p.S * p.E, dk, k0 + row, p.S, c0, p.E, Acc(p.scale));
  }
}

// One block per (matrix b, query tile, column chunk): dQ = scale dS K over all keys.
template <typename T, typename Acc> __global__ void __launch_bounds__(kThr) sdpa_dq_kernel(P p, const Acc* D) {
  __shared__ Acc sA[kB][kB + 1], sB[kB][kB + 1], sS[kB][kB + 1];
  const int row = threadIdx.x / 8, l8 = threadIdx.x % 8;
  const int64_t nqt = (p.L + kB - 1) / kB, nch = max((p.E + kCols - 1) / kCols, (int64_t)1);
  const int64_t work = p.bi.count * nqt * nch;
  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t c0 = w % nch * kCols, q0 = w / nch % nqt * kB, b = w / (nch * nqt);
    const Mat<T, Acc> M = mat_of<T, Acc>(p, b, D);
    Acc dq[16];
#pragma unroll
    for (int x = 0; x < 16; x++) dq[x] = Acc(0);
    const int64_t kend = p.causal ? min(p.S, q0 + kB) : p.S;
    for (int64_t k0 = 0; k0 < kend; k0 += kB) {
      Acc pr[4], ds[4];
      probs_and_ds(p, M, q0, k0, pr, ds, sA, sB);
#pragma unroll
      for (int jj = 0; jj < 4; jj++) sS[row][l8 + 8 * jj] = ds[jj];
      __syncthreads();
      accumulate<T, Acc, false>(dq, sS, M.k + k0 * p.k.rs, p.k.rs, p.k.cs, p.S - k0, c0, p.E, sA);
      __syncthreads();
    }
    write_block(static_cast<T*>(p.dq) + b * p.L * p.E, dq, q0 + row, p.L, c0, p.E, Acc(p.scale));
  }
}

unsigned blocks(int64_t work) { return (unsigned)std::min<int64_t>(work, INT_MAX); }

template <typename T, typename Acc> void forward(const P& p, cudaStream_t s) {
  const int64_t nch = std::max<int64_t>((p.Ev + kCols - 1) / kCols, 1);
  const int64_t work = p.bi.count * ((p.L + kB - 1) / kB) * nch;
  if (work == 0) return;
  sdpa_fwd_kernel<T, Acc><<<blocks(work), kThr, 0, s>>>(p);
  PYML_CUDA_LAUNCH_CHECK("scaled_dot_product_attention");
}

template <typename T, typename Acc> void backward(const P& p, int index, cudaStream_t s) {
  const char* op = "scaled_dot_product_attention backward";
  const int64_t nb = p.bi.count;
  if (nb == 0) return;
  Tensor D = empty({std::max<int64_t>(nb * p.L, 1)}, sizeof(Acc) == 8 ? DType::Float64 : DType::Float32,
                   Device{Device::CUDA, (int8_t)index});
  const Acc* Dp = D.ptr<Acc>();
  if (nb * p.L > 0) {
    sdpa_rowdot_kernel<T, Acc><<<cuda::grid_for(nb * p.L, 1, kThr / 32), kThr, 0, s>>>(p, D.ptr<Acc>());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  const int64_t kv_work = nb * ((p.S + kB - 1) / kB) * std::max<int64_t>((std::max(p.E, p.Ev) + kCols - 1) / kCols, 1);
  if ((p.dk || p.dv) && kv_work > 0) {
    sdpa_dkv_kernel<T, Acc><<<blocks(kv_work), kThr, 0, s>>>(p, Dp);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  const int64_t q_work = nb * ((p.L + kB - 1) / kB) * std::max<int64_t>((p.E + kCols - 1) / kCols, 1);
  if (p.dq && q_work > 0) {
    sdpa_dq_kernel<T, Acc><<<blocks(q_work), kThr, 0, s>>>(p, Dp);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
}

// f(T{}, Acc{}) for the supported dtypes
template <typename F> void dispatch(DType t, F f) {
  switch (t) {
    case DType::Float16: return f(__half{}, float{});
    case DType::BFloat16: return f(__nv_bfloat16{}, float{});
    case DType::Float32: return f(float{}, float{});
    case DType::Float64: return f(double{}, double{});
    default: throw_dtype_error("scaled_dot_product_attention", t);
  }
}

}  // namespace

void sdpa_forward_cuda(const SdpaCudaParams& p, DType t, int index) {
  cuda::DeviceGuard guard(index);
#if defined(PYML_WGMMA) || defined(PYML_CUDA_EMU)  // built for sm_90a: TMA + wgmma on Hopper, no mask
  if (sdpa_forward_wgmma(p, t, cuda::stream(index))) return;
#endif
  if (sdpa_forward_tc(p, t, cuda::stream(index))) return;  // float16/bfloat16 at head dims 64, 128
  dispatch(t, [&](auto tt, auto at) { forward<decltype(tt), decltype(at)>(p, cuda::stream(index)); });
}

void sdpa_backward_cuda(const SdpaCudaParams& p, DType t, int index) {
  cuda::DeviceGuard guard(index);
  if (sdpa_backward_tc(p, t, index, cuda::stream(index))) return;
  dispatch(t, [&](auto tt, auto at) { backward<decltype(tt), decltype(at)>(p, index, cuda::stream(index)); });
}

}  // namespace pyml
