// Channels_last (NHWC) pooling forward: max (with or without indices), avg, adaptive avg/max, in
// float16/bfloat16 (compared and summed in float, like the CPU) and float32/float64.
// x: (N, H, W, C) in memory (xs_c == 1), every 16-byte vector of V = 16 / sizeof(T) channels
// aligned; y, idx: (N, C, P, Q) contiguous, or with p.cl (N, P, Q, C) (torch's channels_last result).
// A block owns a tile of 32 consecutive output pixels (flat oh*Q + ow of one image) x 32 channels
// (adaptive pooling to < 8 pixels: 1 pixel x 256 vectors). Each thread loads V channels of one
// pixel per window tap (16-byte loads; a warp reads 32 / V pixels x 32 channels, each pixel's a
// contiguous 32 sizeof(T)-byte run), keeps one result per channel lane (max: its own argmax) and
// parks it in shared memory; the block then writes the tile transposed, so each channel's 32
// pixels go out as one contiguous row of y. A channels_last y (p.cl) needs no transpose: each
// thread stores its V results as one 16-byte vector where it loaded them.
#include "pool.h"
#include "pool_common.cuh"

namespace pyml {
namespace pool {
namespace {

constexpr int kPix = 32, kCh = 32, kThr = 256;  // tile: output pixels x channels; threads per block

// The V = 16 / sizeof(T) values at p (16-byte aligned) by one 16-byte load: a struct of __half
// members would be copied member by member.
template <typename T> __device__ inline uint4 load16(const T* p) { return *reinterpret_cast<const uint4*>(p); }
template <typename T> __device__ inline T lane_of(const uint4& v, int j) { return reinterpret_cast<const T*>(&v)[j]; }

// This thread's V channels (from c) of output pixel (oh, ow): out[] and, for the max modes, the
// flat h*W + w position of each lane's max (NaN wins, ties keep the first, as on the CPU).
template <typename T, NhwcMode kM, int V, typename A = AccT<T>>
__device__ inline void pixel(const PoolParams& p, const T* __restrict__ xn, int64_t oh, int64_t ow, A (&out)[V],
                             int64_t (&bi)[V]) {
  constexpr bool kMax = kM == NhwcMode::Max || kM == NhwcMode::MaxIdx || kM == NhwcMode::AdaptMax;
  constexpr bool kAdapt = kM == NhwcMode::AdaptAvg || kM == NhwcMode::AdaptMax;
  int64_t h0, h1, w0, w1, dh = 1, dw = 1;
  Win wh{}, ww{};
  if constexpr (kAdapt) {
    h0 = adapt_lo(oh, p.H, p.P), h1 = adapt_hi(oh, p.H, p.P), w0 = adapt_lo(ow, p.W, p.Q), w1 = adapt_hi(ow, p.W, p.Q);
  } else if constexpr (kMax) {
    const MaxWin m = max_win(p, oh, ow);
    h0 = m.h0, h1 = m.h1, w0 = m.w0, w1 = m.w1, dh = p.dh, dw = p.dw;
  } else {
    wh = avg_win(oh, p.sh, p.ph, p.R, p.H), ww = avg_win(ow, p.sw, p.pw, p.S, p.W);
    h0 = wh.lo, h1 = wh.hi, w0 = ww.lo, w1 = ww.hi;
  }
#pragma unroll
  for (int j = 0; j < V; j++) out[j] = kMax ? lowest<A>() : A(0), bi[j] = h0 * p.W + w0;
  for (int64_t h = h0; h < h1; h += dh)
    for (int64_t w = w0; w < w1; w += dw) {
      const uint4 v = load16(xn + h * p.xs_h + w * p.xs_w);
#pragma unroll
      for (int j = 0; j < V; j++) {
        const A e = cuda::convert<A>(lane_of<T>(v, j));
        if constexpr (!kMax) out[j] += e;
        else if (e > out[j] || is_nan(e)) out[j] = e, bi[j] = h * p.W + w;
      }
    }
  if constexpr (kM == NhwcMode::Avg) {
    const bool empty = wh.lo >= wh.hi || ww.lo >= ww.hi;
    const A div = A(empty ? 1 : avg_divisor(p, wh, ww));
#pragma unroll
    for (int j = 0; j < V; j++) out[j] = empty ? A(0) : out[j] / div;
  } else if constexpr (kM == NhwcMode::AdaptAvg) {
#pragma unroll
    for (int j = 0; j < V; j++) out[j] /= A((h1 - h0) * (w1 - w0));
  }
}

// V results (and indices) to V consecutive channels of a channels_last y: one 16-byte store (y is
// 16-byte aligned: C % V == 0 and the allocator aligns every block)
template <typename T, bool kIdx, int V, typename A>
__device__ inline void store_row(const A (&out)[V], const int64_t (&bi)[V], T* y, int64_t* idx) {
  alignas(16) T v[V];
#pragma unroll
  for (int j = 0; j < V; j++) v[j] = cuda::convert<T>(out[j]);
  *reinterpret_cast<uint4*>(y) = *reinterpret_cast<const uint4*>(v);
  if constexpr (kIdx)
#pragma unroll
    for (int j = 0; j < V; j++) idx[j] = bi[j];
}

// Tile shape: 32 pixels x 32 channels, or for outputs of a few pixels (global pooling) 1 pixel x
// 256 vectors of channels, so that a block still has 256 threads loading.
template <typename T, bool kWide> struct Tile {
  static constexpr int V = 16 / sizeof(T), kP = kWide ? 1 : kPix, kC = kWide ? kThr * V : kCh;
  static constexpr int kLanes = kC / V, kRows = kThr / kLanes;  // threads per pixel; pixels per pass
};

// x: (N, H, W, C) channels_last through p's strides; y, idx: (N*C, P*Q), or (N*P*Q, C) with p.cl; idx only
// written by the modes with indices. Grid-stride over (n, pixel tile, channel tile) tiles. fq
// divides by Q when P*Q < 2^31 (q32).
template <typename T, NhwcMode kM, bool kWide>
__global__ void nhwc_kernel(PoolParams p, const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ idx,
                            int64_t tiles, FastDiv fq, bool q32) {
  using S = Tile<T, kWide>;
  constexpr int V = S::V, kP = S::kP, kC = S::kC;
  constexpr bool kIdx = kM == NhwcMode::MaxIdx || kM == NhwcMode::AdaptMax;
  __shared__ T sy[kC][kP + 1];
  __shared__ int64_t si[kIdx ? kC : 1][kP + 1];
  const int64_t PQ = p.P * p.Q, ptiles = (PQ + kP - 1) / kP, ctiles = (p.C + kC - 1) / kC;
  const int lane = threadIdx.x % S::kLanes;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {  // uniform per block
    const int64_t ct = tile % ctiles, pt = tile / ctiles % ptiles, n = tile / ctiles / ptiles;
    const int64_t c = ct * kC + lane * V;  // this thread's first channel; C % V == 0
    for (int r = threadIdx.x / S::kLanes; r < kP; r += S::kRows) {
      const int64_t pq = pt * kP + r;
      if (pq >= PQ || c >= p.C) continue;
      const int64_t oh = q32 ? fq.div(pq) : pq / p.Q;
      AccT<T> out[V];
      int64_t bi[V];
      pixel<T, kM, V>(p, x + n * p.xs_n + c, oh, pq - oh * p.Q, out, bi);
      if (p.cl) {
        store_row<T, kIdx, V>(out, bi, y + (n * PQ + pq) * p.C + c, idx ? idx + (n * PQ + pq) * p.C + c : nullptr);
        continue;
      }
#pragma unroll
      for (int j = 0; j < V; j++) {
        sy[lane * V + j][r] = cuda::convert<T>(out[j]);
        if constexpr (kIdx) si[lane * V + j][r] = bi[j];
      }
    }
    if (p.cl) continue;  // uniform per launch: every thread skips the transpose and its barriers
    __syncthreads();
    for (int e = threadIdx.x; e < kC * kP; e += kThr) {  // consecutive threads: consecutive pixels
      const int ch = e / kP, r = e % kP;
      const int64_t cc = ct * kC + ch, pq = pt * kP + r;
      if (cc >= p.C || pq >= PQ) continue;
      const int64_t at = (n * p.C + cc) * PQ + pq;
      y[at] = sy[ch][r];
      if constexpr (kIdx) idx[at] = si[ch][r];
    }
    __syncthreads();  // the next tile overwrites sy
  }
}

template <typename T, NhwcMode kM, bool kWide>
void launch(const PoolParams& p, const void* x, void* y, int64_t* idx, int index) {
  using S = Tile<T, kWide>;
  const int64_t N = p.planes / p.C, PQ = p.P * p.Q;
  const int64_t tiles = N * ((PQ + S::kP - 1) / S::kP) * ((p.C + S::kC - 1) / S::kC);
  if (tiles == 0) return;
  const unsigned grid = (unsigned)std::min<int64_t>(tiles, 65535LL * 16);
  const bool q32 = PQ < ((int64_t)1 << 31);
  nhwc_kernel<T, kM, kWide><<<grid, kThr, 0, cuda::stream(index)>>>(p, static_cast<const T*>(x), static_cast<T*>(y),
                                                                    idx, tiles, FastDiv(q32 ? p.Q : 1), q32);
  PYML_CUDA_LAUNCH_CHECK("pooling (channels_last)");
}

// x's channel vectors are whole and 16-byte aligned at every (n, h, w)
bool aligned(const PoolParams& p, const void* x, int V) {
  return p.xs_c == 1 && p.C % V == 0 && p.C >= 16 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
         p.xs_n % V == 0 && p.xs_h % V == 0 && p.xs_w % V == 0;
}

template <typename T> void run(const PoolParams& p, const void* x, void* y, int64_t* idx, NhwcMode m, int index) {
  switch (m) {
    case NhwcMode::Max: return launch<T, NhwcMode::Max, false>(p, x, y, idx, index);
    case NhwcMode::MaxIdx: return launch<T, NhwcMode::MaxIdx, false>(p, x, y, idx, index);
    case NhwcMode::Avg: return launch<T, NhwcMode::Avg, false>(p, x, y, idx, index);
    default: break;
  }
  const bool wide = p.P * p.Q < 8;  // adaptive pooling to a few pixels (global pooling: 1)
  if (m == NhwcMode::AdaptAvg) {
    if (wide) launch<T, NhwcMode::AdaptAvg, true>(p, x, y, idx, index);
    else launch<T, NhwcMode::AdaptAvg, false>(p, x, y, idx, index);
  } else {
    if (wide) launch<T, NhwcMode::AdaptMax, true>(p, x, y, idx, index);
    else launch<T, NhwcMode::AdaptMax, false>(p, x, y, idx, index);
  }
}

}  // namespace

bool nhwc_forward(const PoolParams& p, const void* x, void* y, int64_t* idx, DType t, NhwcMode m, int index) {
  if ((t == DType::Float16 || t == DType::BFloat16) && aligned(p, x, 8)) {
    if (t == DType::Float16) run<__half>(p, x, y, idx, m, index);
    else run<__nv_bfloat16>(p, x, y, idx, m, index);
    return true;
  }
  if (t == DType::Float32 && aligned(p, x, 4)) return run<float>(p, x, y, idx, m, index), true;
  if (t == DType::Float64 && aligned(p, x, 2)) return run<double>(p, x, y, idx, m, index), true;
  return false;
}

}  // namespace pool
}  // namespace pyml
