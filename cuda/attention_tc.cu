// Flash attention on tensor cores (mma.sync m16n8k16, fp32 accumulation) for float16/bfloat16 at
// head dims D = 64 and 128; operands rows (stride-1 last dim) through cp.async into padded shared
// rows [64][D + 8] (ldmatrix reads 8 rows 16 B apart mod 128: no bank conflicts).
// Forward: a block owns 64 query rows of one batch matrix, 4 warps of 16 rows; 64-key K/V tiles
// are double buffered; S = Q K^T and O += P V run on mma with the online softmax in registers (log2
// domain, row max/sum across the lane quad); P goes from the S accumulators into the A fragments
// of P V unchanged (the C and A layouts agree), V through ldmatrix .trans.
// Backward (FlashAttention-2 order): a block owns 64 keys, 4 warps of 16; per 64-query tile it
// recomputes S^T, P^T = exp(S^T - lse), dP^T = V dO^T, dS^T = P^T (dP^T - Drow), keeps dK, dV in
// registers, and adds dS K to an fp32 dQ buffer by atomics (no second pass recomputing S and dP:
// 5 products per tile instead of 7); a last kernel scales and converts dQ.
#include "attention_tc.cuh"
#include <climits>
#include <cstring>
#include "mma.cuh"

namespace pyml {
namespace {

namespace mma = cuda::mma;
using P = SdpaCudaParams;
constexpr int kTile = 64, kThreads = 128;  // rows per tile (queries and keys), 4 warps
constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;
template <int D> constexpr int kLd = D + 8;  // padded shared row, elements
constexpr int kLdS = kTile + 8;               // the dS^T tile's row
// Backward register budget: dK and dV hold D/2 fp32 accumulators per thread each (128 at D = 128),
// so at D = 128 the query steps shrink to 16, dQ goes out 32 columns at a time and the next Q/dO
// tiles are prefetched through one walking pointer (load_tile kWalk): 253-254 registers, no spill
// (it was 255 and 124 bytes). At D = 64 (no pressure) the steps stay 32 queries and 64 columns.
// kBwdUnroll: k steps of the S^T / dP^T products the compiler may overlap (a tuning knob; with
// kQStep 16 and kDqCols 32 any value stays spill-free).
template <int D> constexpr int kQStep = D == 128 ? 16 : 32;
template <int D> constexpr int kDqCols = D == 128 ? 32 : 64;
template <int D> constexpr int kBwdUnroll = D / 16;

__device__ __forceinline__ float ninf() { return -__int_as_float(0x7f800000); }

// dst[r][c] = src[r * rs + c] for r < n, zero for the other rows of the 64 x D tile (cp.async,
// this thread's share; the caller commits). src must be a valid address even when n <= 0.
// kWalk: one source pointer stepped row group by row group (2 registers live instead of one 64-bit
// address per copy: the D = 128 backward's prefetch needs the registers).
template <typename T, int D, bool kWalk = false>
__device__ __forceinline__ void load_tile(T* dst, const T* src, int64_t rs, int64_t n) {
  constexpr int kC = D / 8;  // 16-byte chunks per row
  if constexpr (kWalk) {
    constexpr int kStep = kThreads / kC;  // rows per pass
    const int r0 = threadIdx.x / kC, col = threadIdx.x % kC * 8;
    const T* s = src + r0 * rs + col;
#pragma unroll 1
    for (int r = r0; r < kTile; r += kStep, s += kStep * rs)
      mma::cp_async_16(dst + r * kLd<D> + col, r < n ? s : src, r < n ? 16 : 0);
  } else {
#pragma unroll
    for (int i = 0; i < kTile * kC / kThreads; i++) {
      const int c = threadIdx.x + i * kThreads, r = c / kC, col = c % kC * 8;
      const bool in = r < n;
      mma::cp_async_16(dst + r * kLd<D> + col, in ? src + r * rs + col : src, in ? 16 : 0);
    }
  }
}

// A fragment of k step kk (columns 16 kk..) from the accumulators c of n8 tiles 2 kk and 2 kk + 1
template <typename T, int N>
__device__ __forceinline__ void acc_to_a(uint32_t (&a)[4], const float (&c)[N][4], int kk) {
  a[0] = mma::pack2<T>(c[2 * kk][0], c[2 * kk][1]);
  a[1] = mma::pack2<T>(c[2 * kk][2], c[2 * kk][3]);
  a[2] = mma::pack2<T>(c[2 * kk + 1][0], c[2 * kk + 1][1]);
  a[3] = mma::pack2<T>(c[2 * kk + 1][2], c[2 * kk + 1][3]);
}

// A fragment (rows m0..m0+15, cols k0..k0+15) of a row-major shared tile with row length LD
template <int LD, typename T> __device__ __forceinline__ void frag_a(uint32_t (&a)[4], const T* s, int m0, int k0) {
  const int lane = threadIdx.x % 32;
  mma::ldmatrix_x4(a, s + (m0 + lane % 16) * LD + k0 + lane / 16 * 8);
}
// A fragment of A = X^T where X is a row-major shared tile (rows k, cols m)
template <int LD, typename T> __device__ __forceinline__ void frag_a_t(uint32_t (&a)[4], const T* s, int m0, int k0) {
  const int lane = threadIdx.x % 32, j = lane / 8, r = lane % 8;
  mma::ldmatrix_x4_trans(a, s + (k0 + r + 8 * (j / 2)) * LD + m0 + 8 * (j % 2));
}
// B fragments of two n8 tiles (n0.., n0+8..) at k step k0.. where B = X^T, X row-major (rows n, cols k)
template <int LD, typename T>
__device__ __forceinline__ void frag_b_t(uint32_t (&b0)[2], uint32_t (&b1)[2], const T* s, int n0, int k0) {
  const int lane = threadIdx.x % 32, j = lane / 8, r = lane % 8;
  uint32_t q[4];
  mma::ldmatrix_x4(q, s + (n0 + r + 8 * (j / 2)) * LD + k0 + (j % 2) * 8);
  b0[0] = q[0], b0[1] = q[1], b1[0] = q[2], b1[1] = q[3];
}
// B fragments of two n8 tiles where B = X, X row-major (rows k, cols n)
template <int LD, typename T>
__device__ __forceinline__ void frag_b(uint32_t (&b0)[2], uint32_t (&b1)[2], const T* s, int k0, int n0) {
  const int lane = threadIdx.x % 32, j = lane / 8, r = lane % 8;
  uint32_t q[4];
  mma::ldmatrix_x4_trans(q, s + (k0 + r + 8 * (j % 2)) * LD + n0 + 8 * (j / 2));
  b0[0] = q[0], b0[1] = q[1], b1[0] = q[2], b1[1] = q[3];
}

// c[n8 tile][i] = X (16 rows at m0 of sa) . Y^T (8 N rows of sb), both row-major [.][D] tiles:
// the 16 x 8N product a warp needs for S = Q K^T (and S^T = K Q^T, dP^T = V dO^T).
// kUnroll: how many k steps the compiler may overlap (1 in the D = 128 backward: fewer fragments live).
template <typename T, int D, int N, int kUnroll = D / 16>
__device__ __forceinline__ void rows_dot(float (&c)[N][4], const T* sa, int m0, const T* sb) {
#pragma unroll
  for (int n = 0; n < N; n++) c[n][0] = c[n][1] = c[n][2] = c[n][3] = 0.f;
#pragma unroll kUnroll
  for (int kk = 0; kk < D / 16; kk++) {
    uint32_t a[4];
    frag_a<kLd<D>>(a, sa, m0, kk * 16);
#pragma unroll
    for (int np = 0; np < N / 2; np++) {
      uint32_t b0[2], b1[2];
      frag_b_t<kLd<D>>(b0, b1, sb, np * 16, kk * 16);
      mma::mma_16816<T>(c[2 * np], a, b0);
      mma::mma_16816<T>(c[2 * np + 1], a, b1);
    }
  }
}

// acc (16 x D) += A (16 x 8N, the accumulators c turned to 16 bits) . Y (8N rows of a row-major [.][D] tile)
template <typename T, int D, int N>
__device__ __forceinline__ void acc_times(float (&acc)[D / 8][4], const float (&c)[N][4], const T* sy) {
#pragma unroll
  for (int kk = 0; kk < N / 2; kk++) {
    uint32_t a[4];
    acc_to_a<T>(a, c, kk);
#pragma unroll
    for (int np = 0; np < D / 16; np++) {
      uint32_t b0[2], b1[2];
      frag_b<kLd<D>>(b0, b1, sy, kk * 16, np * 16);
      mma::mma_16816<T>(acc[2 * np], a, b0);
      mma::mma_16816<T>(acc[2 * np + 1], a, b1);
    }
  }
}

// Score x (already times scale log2 e) of query i, key j under the user's mask, causality and the
// bounds (past L or S: -inf; the mask is only read in bounds).
__device__ __forceinline__ float masked(const P& p, const void* mask, int64_t i, int64_t j, float x) {
  if (i >= p.L || j >= p.S || (p.causal && j > i)) return ninf();
  if (p.mask_kind == MaskKind::None) return x;
  const int64_t at = i * p.mask.rs + j * p.mask.cs;
  if (p.mask_kind == MaskKind::Bool) return static_cast<const uint8_t*>(mask)[at] ? x : ninf();
  return x + static_cast<const float*>(mask)[at] * kLog2e;
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// The batch matrix b's operand pointers
struct Ptrs {
  const void *q, *k, *v, *mask, *dout;
};
template <typename T> __device__ __forceinline__ Ptrs ptrs_of(const P& p, int64_t b) {
  int64_t off[5];
  p.bi.offsets(b, off);
  const void* m = p.mask_kind == MaskKind::Bool ? static_cast<const void*>(static_cast<const uint8_t*>(p.mask.data) + off[3])
                                                : static_cast<const void*>(static_cast<const float*>(p.mask.data) + off[3]);
  return {static_cast<const T*>(p.q.data) + off[0], static_cast<const T*>(p.k.data) + off[1],
          static_cast<const T*>(p.v.data) + off[2], m, static_cast<const T*>(p.dout.data) + off[4]};
}

// Online softmax of one 16 x 64 score tile (rows q0 + row0 + g (+8)) against keys k0..: s becomes
// P = exp2(x - m), m and the thread's partial row sums l are updated and o rescaled.
template <int D>
__device__ __forceinline__ void softmax_tile(float (&s)[8][4], float (&m)[2], float (&l)[2], float (&o)[D / 8][4],
                                             const P& p, const void* mask, int64_t i0, int64_t k0, bool edge) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const float sl2 = (float)p.scale * kLog2e;
  float mx[2] = {ninf(), ninf()};
#pragma unroll
  for (int n = 0; n < 8; n++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      float x = s[n][e] * sl2;
      if (edge) x = masked(p, mask, i0 + g + 8 * (e / 2), k0 + n * 8 + 2 * t + e % 2, x);
      s[n][e] = x;
      mx[e / 2] = fmaxf(mx[e / 2], x);
    }
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const float mnew = fmaxf(m[r], quad_max(mx[r]));
    const float muse = mnew == ninf() ? 0.f : mnew;  // nothing seen yet: exp2(-inf - 0) = 0, no NaN
    const float alpha = exp2f(m[r] - muse);
    float sum = 0.f;
#pragma unroll
    for (int n = 0; n < 8; n++) {
      s[n][2 * r] = exp2f(s[n][2 * r] - muse);
      s[n][2 * r + 1] = exp2f(s[n][2 * r + 1] - muse);
      sum += s[n][2 * r] + s[n][2 * r + 1];
    }
    l[r] = l[r] * alpha + sum;
    m[r] = mnew;
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][2 * r] *= alpha, o[n][2 * r + 1] *= alpha;
  }
}

// O / l and lse for this warp's 16 rows (i0 + g, i0 + g + 8); out: (nb, L, D) contiguous, lse (nb, L)
template <typename T, int D>
__device__ __forceinline__ void fwd_epilogue(const P& p, int64_t b, int64_t i0, const float (&o)[D / 8][4],
                                             const float (&m)[2], const float (&l)[2]) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const float lt = quad_sum(l[r]);
    const int64_t i = i0 + g + 8 * r;
    if (i >= p.L) continue;
    const float inv = lt > 0.f ? 1.f / lt : 0.f;
    uint32_t* out = reinterpret_cast<uint32_t*>(static_cast<T*>(p.out) + (b * p.L + i) * D);
#pragma unroll
    for (int n = 0; n < D / 8; n++) out[n * 4 + t] = mma::pack2<T>(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
    if (t == 0) static_cast<float*>(p.lse)[b * p.L + i] = lt > 0.f ? m[r] * kLn2 + logf(lt) : -ninf();
  }
}

// One block per (matrix b, 64-query tile), heaviest (last, under causal) tiles first.
// q: (L, D), k, v: (S, D) rows at their rs, stride-1 columns; shared: Q, 2 x K, 2 x V tiles.
template <typename T, int D> __global__ void __launch_bounds__(kThreads) fa_fwd_kernel(P p) {
  PYML_DYNAMIC_SMEM(smem);
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kTile * kLd<D>;
  T* sV = sK + 2 * kTile * kLd<D>;
  const int warp = threadIdx.x / 32;
  const int64_t nb = p.bi.count, nqt = (p.L + kTile - 1) / kTile;
  for (int64_t w = blockIdx.x; w < nb * nqt; w += gridDim.x) {  // uniform per block
    const int64_t q0 = (nqt - 1 - w / nb) * kTile, b = w % nb;
    const Ptrs M = ptrs_of<T>(p, b);
    const T *Q = static_cast<const T*>(M.q), *K = static_cast<const T*>(M.k), *V = static_cast<const T*>(M.v);
    const int64_t kend = p.causal ? min(p.S, q0 + kTile) : p.S, nkt = (kend + kTile - 1) / kTile;
    load_tile<T, D>(sQ, Q + q0 * p.q.rs, p.q.rs, p.L - q0);
    load_tile<T, D>(sK, K, p.k.rs, p.S);
    load_tile<T, D>(sV, V, p.v.rs, p.S);
    mma::cp_async_commit();
    float o[D / 8][4] = {}, m[2] = {ninf(), ninf()}, l[2] = {0.f, 0.f}, s[8][4];
    for (int64_t kt = 0; kt < nkt; kt++) {
      const int st = kt & 1;
      const int64_t k0 = kt * kTile;
      if (kt + 1 < nkt) {  // the next tile streams in behind this one's products
        load_tile<T, D>(sK + (st ^ 1) * kTile * kLd<D>, K + (k0 + kTile) * p.k.rs, p.k.rs, p.S - k0 - kTile);
        load_tile<T, D>(sV + (st ^ 1) * kTile * kLd<D>, V + (k0 + kTile) * p.v.rs, p.v.rs, p.S - k0 - kTile);
      }
      mma::cp_async_commit();
      mma::cp_async_wait<1>();
      __syncthreads();
      rows_dot<T, D, 8>(s, sQ, warp * 16, sK + st * kTile * kLd<D>);
      const bool edge = p.mask_kind != MaskKind::None || k0 + kTile > p.S || (p.causal && k0 + kTile > q0 + 1);
      softmax_tile<D>(s, m, l, o, p, M.mask, q0 + warp * 16, k0, edge);
      acc_times<T, D, 8>(o, s, sV + st * kTile * kLd<D>);
      __syncthreads();  // stage st is refilled next step
    }
    mma::cp_async_wait<0>();
    __syncthreads();
    fwd_epilogue<T, D>(p, b, q0 + warp * 16, o, m, l);
  }
}

// Drow[r] = sum over c of dO[r][c] O[r][c] (a warp per row r of the nb * L), and dq_acc row r = 0.
template <typename T, int D> __global__ void fa_bwd_pre_kernel(P p, float* Drow, float* dq_acc) {
  const int lane = threadIdx.x % 32, wpb = blockDim.x / 32;
  const int64_t rows = p.bi.count * p.L;
  for (int64_t r = (int64_t)blockIdx.x * wpb + threadIdx.x / 32; r < rows; r += (int64_t)gridDim.x * wpb) {
    int64_t off[5];
    p.bi.offsets(r / p.L, off);
    const T* dO = static_cast<const T*>(p.dout.data) + off[4] + r % p.L * p.dout.rs;
    const T* o = static_cast<const T*>(p.out) + r * D;
    float s = 0.f;
#pragma unroll
    for (int c = lane; c < D; c += 32) {
      s += cuda::convert<float>(dO[c]) * cuda::convert<float>(o[c]);
      if (dq_acc) dq_acc[r * D + c] = 0.f;
    }
#pragma unroll
    for (int x = 1; x < 32; x <<= 1) s += __shfl_xor_sync(0xffffffffu, s, x);
    if (lane == 0) Drow[r] = s;
  }
}

// dq[i] = scale * dq_acc[i] in T over n elements
template <typename T> __global__ void fa_dq_out_kernel(T* dq, const float* acc, int64_t n, float scale) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dq[i] = cuda::convert<T>(acc[i] * scale);
}


// lse (log2 units; +inf past L, so P = 0 there) and Drow of queries q0.. into sL, sD (plain stores)
__device__ __forceinline__ void load_rows(float* sL, float* sD, const P& p, int64_t b, int64_t q0, const float* Drow) {
  const int r = threadIdx.x;
  if (r < kTile) {
    const int64_t i = q0 + r;
    const bool in = i < p.L;
    sL[r] = in ? static_cast<const float*>(p.lse)[b * p.L + i] * kLog2e : -ninf();
    sD[r] = in ? Drow[b * p.L + i] : 0.f;
  }
}

// dq rows q0 + 16 warp.. (< L) += dS (16 queries x 64 keys, from the shared dS^T) . K (64 x D),
// kDqCols columns at a time (kDqCols / 2 accumulators live), by fp32 atomics: other key tiles add
// to the same rows.
template <typename T, int D>
__device__ __forceinline__ void dq_tile(float* dq, const P& p, const T* sdS, const T* sK, int64_t q0) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  constexpr int kN = kDqCols<D> / 8;  // n8 tiles per column group
#pragma unroll
  for (int c = 0; c < D / kDqCols<D>; c++) {
    float acc[kN][4] = {};
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
      uint32_t a[4];
      frag_a_t<kLdS>(a, sdS, warp * 16, kk * 16);
#pragma unroll
      for (int np = 0; np < kN / 2; np++) {
        uint32_t b0[2], b1[2];
        frag_b<kLd<D>>(b0, b1, sK, kk * 16, c * kDqCols<D> + np * 16);
        mma::mma_16816<T>(acc[2 * np], a, b0);
        mma::mma_16816<T>(acc[2 * np + 1], a, b1);
      }
    }
#pragma unroll
    for (int n = 0; n < kN; n++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int64_t i = q0 + warp * 16 + g + 8 * (e / 2);
        if (i < p.L) atomicAdd(dq + i * D + c * kDqCols<D> + n * 8 + 2 * t + e % 2, acc[n][e]);
      }
  }
}

// One (64-key, 64-query) step of the backward for this warp's 16 keys k0 + 16 warp..: P^T and dS^T
// recomputed, dv += P^T dO, dk += dS^T Q (unscaled), dq += dS K. Every thread calls it (barrier).
// The queries go in steps of kQStep (32, or 16 at D = 128) so that S^T and dP^T hold 2 kQStep / 4
// registers, not 64, beside dK, dV.
template <typename T, int D>
__device__ __forceinline__ void bwd_tile(float (&dk)[D / 8][4], float (&dv)[D / 8][4], const P& p, const void* mask,
                                         const T* sK, const T* sV, const T* sQ, const T* sdO, T* sdS, const float* sL,
                                         const float* sD, float* dq, int64_t k0, int64_t q0) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const float sl2 = (float)p.scale * kLog2e;
  const bool edge = p.mask_kind != MaskKind::None || q0 + kTile > p.L || k0 + kTile > p.S ||
                    (p.causal && k0 + kTile > q0 + 1);
#pragma unroll 1
  for (int qh = 0; qh < kTile; qh += kQStep<D>) {
    constexpr int kN = kQStep<D> / 8;  // n8 tiles of queries per step
    const T *sQh = sQ + qh * kLd<D>, *sdOh = sdO + qh * kLd<D>;
    float s[kN][4], dp[kN][4];
    rows_dot<T, D, kN, kBwdUnroll<D>>(s, sK, warp * 16, sQh);  // S^T: (keys, queries)
#pragma unroll
    for (int n = 0; n < kN; n++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int qc = qh + n * 8 + 2 * t + e % 2;
        float x = s[n][e] * sl2;
        if (edge) x = masked(p, mask, q0 + qc, k0 + warp * 16 + g + 8 * (e / 2), x);
        s[n][e] = exp2f(x - sL[qc]);  // masked (-inf) and rows without keys (lse +inf): 0
      }
    acc_times<T, D, kN>(dv, s, sdOh);
    rows_dot<T, D, kN, kBwdUnroll<D>>(dp, sV, warp * 16, sdOh);  // dP^T
#pragma unroll
    for (int n = 0; n < kN; n++)
#pragma unroll
      for (int e = 0; e < 4; e++) s[n][e] *= dp[n][e] - sD[qh + n * 8 + 2 * t + e % 2];
    acc_times<T, D, kN>(dk, s, sQh);
    if (p.dq)
#pragma unroll
      for (int n = 0; n < kN; n++)
#pragma unroll
        for (int r = 0; r < 2; r++)
          *reinterpret_cast<uint32_t*>(sdS + (warp * 16 + g + 8 * r) * kLdS + qh + n * 8 + 2 * t) =
              mma::pack2<T>(s[n][2 * r], s[n][2 * r + 1]);
  }
  if (p.dq) {       // uniform
    __syncthreads();  // dQ needs the other warps' keys
    dq_tile<T, D>(dq, p, sdS, sK, q0);
  }
}

// This warp's 16 rows (k0 + 16 warp + g (+8)) of a (nb, S, D) gradient, times k
template <typename T, int D>
__device__ __forceinline__ void write_rows(void* dst, const P& p, int64_t b, int64_t j0, const float (&acc)[D / 8][4],
                                           float k) {
  const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; r++) {
    const int64_t j = j0 + g + 8 * r;
    if (j >= p.S) continue;
    uint32_t* out = reinterpret_cast<uint32_t*>(static_cast<T*>(dst) + (b * p.S + j) * D);
#pragma unroll
    for (int n = 0; n < D / 8; n++) out[n * 4 + t] = mma::pack2<T>(acc[n][2 * r] * k, acc[n][2 * r + 1] * k);
  }
}

// One block per (matrix b, 64-key tile), the first (most queries under causal) tiles first.
// dk, dv: (nb, S, D) T; dq_acc: (nb, L, D) float, += dS K (unscaled). Shared: K, V, 2 x (Q, dO),
// dS^T, 2 x (lse, Drow).
template <typename T, int D> __global__ void __launch_bounds__(kThreads) fa_bwd_kernel(P p, const float* Drow, float* dq_acc) {
  PYML_DYNAMIC_SMEM(smem);
  constexpr int kE = kTile * kLd<D>;
  T* sK = reinterpret_cast<T*>(smem);
  T *sV = sK + kE, *sQ = sV + kE, *sdO = sQ + 2 * kE, *sdS = sdO + 2 * kE;
  float* sL = reinterpret_cast<float*>(sdS + kTile * kLdS);
  float* sD = sL + 2 * kTile;
  const int warp = threadIdx.x / 32;
  const int64_t nb = p.bi.count, nkt = (p.S + kTile - 1) / kTile;
  for (int64_t w = blockIdx.x; w < nb * nkt; w += gridDim.x) {  // uniform per block
    const int64_t k0 = w / nb * kTile, b = w % nb;
    const Ptrs M = ptrs_of<T>(p, b);
    const T *Q = static_cast<const T*>(M.q), *dO = static_cast<const T*>(M.dout);
    const int64_t qbeg = p.causal ? k0 : 0;  // causal: earlier queries see none of these keys
    const int64_t nqt = p.L > qbeg ? (p.L - qbeg + kTile - 1) / kTile : 0;
    load_tile<T, D>(sK, static_cast<const T*>(M.k) + k0 * p.k.rs, p.k.rs, p.S - k0);
    load_tile<T, D>(sV, static_cast<const T*>(M.v) + k0 * p.v.rs, p.v.rs, p.S - k0);
    if (nqt > 0) {
      load_tile<T, D>(sQ, Q + qbeg * p.q.rs, p.q.rs, p.L - qbeg);
      load_tile<T, D>(sdO, dO + qbeg * p.dout.rs, p.dout.rs, p.L - qbeg);
      load_rows(sL, sD, p, b, qbeg, Drow);
    }
    mma::cp_async_commit();
    float dk[D / 8][4] = {}, dv[D / 8][4] = {};
    for (int64_t qt = 0; qt < nqt; qt++) {
      const int st = qt & 1;
      const int64_t q0 = qbeg + qt * kTile, q1 = q0 + kTile;
      if (qt + 1 < nqt) {  // stage st ^ 1 was last read before the previous step's closing barrier
        load_tile<T, D, D == 128>(sQ + (st ^ 1) * kE, Q + q1 * p.q.rs, p.q.rs, p.L - q1);
        load_tile<T, D, D == 128>(sdO + (st ^ 1) * kE, dO + q1 * p.dout.rs, p.dout.rs, p.L - q1);
        load_rows(sL + (st ^ 1) * kTile, sD + (st ^ 1) * kTile, p, b, q1, Drow);
      }
      mma::cp_async_commit();
      mma::cp_async_wait<1>();
      __syncthreads();
      bwd_tile<T, D>(dk, dv, p, M.mask, sK, sV, sQ + st * kE, sdO + st * kE, sdS, sL + st * kTile, sD + st * kTile,
                     dq_acc ? dq_acc + b * p.L * D : nullptr, k0, q0);
      __syncthreads();
    }
    mma::cp_async_wait<0>();
    __syncthreads();
    if (p.dv) write_rows<T, D>(p.dv, p, b, k0 + warp * 16, dv, 1.f);
    if (p.dk) write_rows<T, D>(p.dk, p, b, k0 + warp * 16, dk, (float)p.scale);
  }
}

unsigned blocks(int64_t work) { return (unsigned)std::min<int64_t>(work, INT_MAX); }

// Raises the kernel's dynamic shared-memory limit once per device (a property of the kernel there).
template <typename T, int D, bool kBwd> void allow_smem(const void* kernel, int bytes, const char* op) {
  static bool done[64] = {};
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), op);
  if (dev < 64 && done[dev]) return;
  PYML_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), op);
  if (dev < 64) done[dev] = true;
}

template <typename T, int D> void forward(const P& p, cudaStream_t s) {
  const char* op = "scaled_dot_product_attention";
  constexpr int smem = 5 * kTile * kLd<D> * (int)sizeof(T);
  allow_smem<T, D, false>(reinterpret_cast<const void*>(fa_fwd_kernel<T, D>), smem, op);
  fa_fwd_kernel<T, D><<<blocks(p.bi.count * ((p.L + kTile - 1) / kTile)), kThreads, smem, s>>>(p);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T, int D> void backward(const P& p, int index, cudaStream_t s) {
  const char* op = "scaled_dot_product_attention backward";
  constexpr int smem = (6 * kTile * kLd<D> + kTile * kLdS) * (int)sizeof(T) + 4 * kTile * (int)sizeof(float);
  const int64_t rows = p.bi.count * p.L;
  const Device dev{Device::CUDA, (int8_t)index};
  Tensor Drow = empty({rows}, DType::Float32, dev), acc;
  if (p.dq) acc = empty({rows * D}, DType::Float32, dev);
  float* accp = p.dq ? acc.ptr<float>() : nullptr;
  fa_bwd_pre_kernel<T, D><<<cuda::grid_for(rows, 1, kThreads / 32), kThreads, 0, s>>>(p, Drow.ptr<float>(), accp);
  PYML_CUDA_LAUNCH_CHECK(op);
  allow_smem<T, D, true>(reinterpret_cast<const void*>(fa_bwd_kernel<T, D>), smem, op);
  fa_bwd_kernel<T, D><<<blocks(p.bi.count * ((p.S + kTile - 1) / kTile)), kThreads, smem, s>>>(p, Drow.ptr<float>(), accp);
  PYML_CUDA_LAUNCH_CHECK(op);
  if (p.dq) {
    fa_dq_out_kernel<T><<<cuda::grid_for(rows * D), cuda::kThreads, 0, s>>>(static_cast<T*>(p.dq), accp, rows * D,
                                                                           (float)p.scale);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
}

// Rows of view v (batch operand k) start 16-byte aligned in every matrix and its columns are stride 1.
bool rows_ok(const P::View& v, const P& p, int k) {
  bool ok = v.cs == 1 && reinterpret_cast<uintptr_t>(v.data) % 16 == 0 && v.rs % 8 == 0;
  for (int d = 0; d < p.bi.nd; d++) ok = ok && p.bi.stride[k][d] % 8 == 0;
  return ok;
}

bool eligible(const P& p, DType t, bool bwd) {
  if ((t != DType::Float16 && t != DType::BFloat16) || p.E != p.Ev || (p.E != 64 && p.E != 128)) return false;
  if (p.L == 0 || p.S == 0 || p.bi.count == 0) return false;
  return rows_ok(p.q, p, 0) && rows_ok(p.k, p, 1) && rows_ok(p.v, p, 2) && (!bwd || rows_ok(p.dout, p, 4));
}

// f(T{}, D) for the eligible dtypes and head dims
template <typename F> void dispatch(const P& p, DType t, F f) {
  if (t == DType::Float16) p.E == 64 ? f(__half{}, std::integral_constant<int, 64>{}) : f(__half{}, std::integral_constant<int, 128>{});
  else p.E == 64 ? f(__nv_bfloat16{}, std::integral_constant<int, 64>{}) : f(__nv_bfloat16{}, std::integral_constant<int, 128>{});
}

}  // namespace

bool sdpa_forward_tc(const SdpaCudaParams& p, DType t, cudaStream_t s) {
  if (!eligible(p, t, false)) return false;
  dispatch(p, t, [&](auto tt, auto d) { forward<decltype(tt), decltype(d)::value>(p, s); });
  return true;
}

bool sdpa_backward_tc(const SdpaCudaParams& p, DType t, int index, cudaStream_t s) {
  if (!eligible(p, t, true)) return false;
  if (!p.dq && !p.dk && !p.dv) return true;
  dispatch(p, t, [&](auto tt, auto d) { backward<decltype(tt), decltype(d)::value>(p, index, s); });
  return true;
}

}  // namespace pyml
