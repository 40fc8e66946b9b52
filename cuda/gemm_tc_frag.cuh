// The warp-tile core of the mma.sync GEMM (cuda/gemm_tc.cu), shared with the implicit-GEMM
// convolutions (cuda/conv2d_tc.cu): the 128 x 128 block tile of 8 warps (64 x 32 each), the staged
// shared-memory tile layouts ("K-fast" [128][BK + 16 B] and "MN-fast" [BK][128 + 8]), the plain
// matrix tile loader (cp.async, zero-fill), the fragment loads (ldmatrix, .trans, tf32 scalar
// loads) and one stage's mma loop. Moved here unchanged from gemm_tc.cu so both use one copy.
#pragma once
#include <cstring>
#include "mma.cuh"

namespace pyml {
namespace cuda {
namespace tc {

constexpr int kBM = 128, kBN = 128, kStages = 3, kTcThreads = 256;

template <typename T> constexpr int kKI = 32 / sizeof(T);  // K per mma instruction

// One operand's shared tile for one stage. KFast: [128 rows (M or N)][kBK + pad]; else [kBK][128 + 8].
template <typename T, bool KFast> struct Tile {
  static constexpr int kE = 16 / sizeof(T);        // elements per 16-byte chunk
  static constexpr int kBK = 64 / sizeof(T);       // K per stage
  static constexpr int kLd = KFast ? kBK + kE : kBM + 8;
  static constexpr int kElems = (KFast ? kBM : kBK) * kLd;
  static constexpr int kBytes = kElems * (int)sizeof(T);
};

// Copies one operand's tiles into shared memory, kBK of K at a time: rows r0..r0+127 of an
// (R x K) operand whose element (r, k) is at p[r * ld + k] (KFast) or p[k * ld + r]; zero past R
// and K. p and ld keep rows 16-byte aligned. Each thread owns two 16-byte chunks of the tile, whose
// addresses and limits it computes once per tile, so the K loop only adds a step.
template <typename T, bool KFast> struct TileLoader {
  using L = Tile<T, KFast>;
  static constexpr int kChunks = kBM * L::kBK / L::kE / kTcThreads;  // 2
  static constexpr int kPerRow = KFast ? L::kBK / L::kE : kBM / L::kE;  // chunks per shared row
  const T* base;
  const T* src[kChunks];   // the chunk's address at k0 = 0
  int64_t lim[kChunks];    // KFast: elements of K left at k0 = 0 (0 past R); else elements of R left
  int row[kChunks];        // the chunk's shared row (KFast: unused)
  int64_t step;            // address step per K tile

  __device__ __forceinline__ TileLoader(const T* p, int64_t ld, int64_t R, int64_t K, int64_t r0) : base(p) {
    step = KFast ? L::kBK : L::kBK * ld;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int c = threadIdx.x + i * kTcThreads, rr = c / kPerRow, col = c % kPerRow * L::kE;
      const int64_t r = KFast ? r0 + rr : r0 + col;
      row[i] = rr;
      lim[i] = KFast ? (r < R ? K - col : 0) : R - r;
      src[i] = (KFast ? (r < R) : (r < R && rr < K)) ? (KFast ? p + r * ld + col : p + rr * ld + r) : p;
    }
  }
  // Issues the copies of K tile kt into stage tile s.
  __device__ __forceinline__ void load(T* s, int kt, int64_t K) const {
    const int64_t k0 = (int64_t)kt * L::kBK;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int c = threadIdx.x + i * kTcThreads;
      const int64_t left = KFast ? lim[i] - k0 : (k0 + row[i] < K ? lim[i] : 0);
      const int bytes = (int)(std::max<int64_t>(0, std::min<int64_t>(left, L::kE)) * (int64_t)sizeof(T));
      mma::cp_async_16(s + c / kPerRow * L::kLd + c % kPerRow * L::kE, bytes ? src[i] + kt * step : base, bytes);
    }
  }
  // Unaligned rows (odd row lengths, offsets): the same chunks of K tile kt read element by element
  // into registers (zero past R and K), stored to the stage by store() after the next compute.
  __device__ __forceinline__ void fetch(uint4 (&v)[kChunks], int kt, int64_t K) const {
    const int64_t k0 = (int64_t)kt * L::kBK;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int64_t left = KFast ? lim[i] - k0 : (k0 + row[i] < K ? lim[i] : 0);
      T e[L::kE];
#pragma unroll
      for (int x = 0; x < L::kE; x++) e[x] = x < left ? src[i][kt * step + x] : convert<T>(0.f);
      memcpy(&v[i], e, 16);
    }
  }
  __device__ __forceinline__ void store(T* s, const uint4 (&v)[kChunks]) const {
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int c = threadIdx.x + i * kTcThreads;
      *reinterpret_cast<uint4*>(s + c / kPerRow * L::kLd + c % kPerRow * L::kE) = v[i];
    }
  }
};

__device__ __forceinline__ uint32_t tf32_of(uint32_t bits) { return mma::to_tf32(__uint_as_float(bits)); }

// Fragments of the warp's 64 x kKI slice of A (rows wm*64.., k step ks) from stage tile s.
template <typename T, bool AK> __device__ __forceinline__ void load_a(uint32_t (&a)[4][4], const T* s, int ks, int wm) {
  using L = Tile<T, AK>;
  const int lane = threadIdx.x % 32, j = lane / 8, r = lane % 8, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int mi = 0; mi < 4; mi++) {
    const int m = wm * 64 + mi * 16;
    if constexpr (AK) {
      mma::ldmatrix_x4(a[mi], s + (m + lane % 16) * L::kLd + ks * kKI<T> + (lane / 16) * L::kE);
    } else if constexpr (sizeof(T) == 2) {
      mma::ldmatrix_x4_trans(a[mi], s + (ks * 16 + r + 8 * (j / 2)) * L::kLd + m + 8 * (j % 2));
    } else {
#pragma unroll
      for (int i = 0; i < 4; i++) a[mi][i] = __float_as_uint(s[(ks * 8 + t + 4 * (i / 2)) * L::kLd + m + g + 8 * (i % 2)]);
    }
    if constexpr (sizeof(T) == 4)
#pragma unroll
      for (int i = 0; i < 4; i++) a[mi][i] = tf32_of(a[mi][i]);
  }
}

// Fragments of the warp's kKI x 32 slice of B (cols wn*32.., k step ks), two n8 tiles per ldmatrix.
template <typename T, bool BK> __device__ __forceinline__ void load_b(uint32_t (&b)[4][2], const T* s, int ks, int wn) {
  using L = Tile<T, BK>;
  const int lane = threadIdx.x % 32, j = lane / 8, r = lane % 8, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int np = 0; np < 2; np++) {
    const int n = wn * 32 + np * 16;
    uint32_t q[4];  // (n lo, k lo), (n lo, k hi), (n hi, k lo), (n hi, k hi)
    if constexpr (BK) {
      mma::ldmatrix_x4(q, s + (n + r + 8 * (j / 2)) * L::kLd + ks * kKI<T> + (j % 2) * L::kE);
    } else if constexpr (sizeof(T) == 2) {
      mma::ldmatrix_x4_trans(q, s + (ks * 16 + r + 8 * (j % 2)) * L::kLd + n + 8 * (j / 2));
    } else {
#pragma unroll
      for (int i = 0; i < 4; i++) q[i] = __float_as_uint(s[(ks * 8 + t + 4 * (i % 2)) * L::kLd + n + 8 * (i / 2) + g]);
    }
#pragma unroll
    for (int i = 0; i < 4; i++) b[2 * np + i / 2][i % 2] = sizeof(T) == 4 ? tf32_of(q[i]) : q[i];
  }
}

// acc += the stage's A slice (128 x kBK) @ B slice (kBK x 128) for this warp's 64 x 32 part.
template <typename T, bool AK, bool BK>
__device__ __forceinline__ void compute_stage(float (&acc)[4][4][4], const T* As, const T* Bs, int wm, int wn) {
#pragma unroll
  for (int ks = 0; ks < 2; ks++) {
    uint32_t a[4][4], b[4][2];
    load_a<T, AK>(a, As, ks, wm);
    load_b<T, BK>(b, Bs, ks, wn);
#pragma unroll
    for (int mi = 0; mi < 4; mi++)
#pragma unroll
      for (int ni = 0; ni < 4; ni++) {
        if constexpr (sizeof(T) == 2) mma::mma_16816<T>(acc[mi][ni], a[mi], b[ni]);
        else mma::mma_1688_tf32(acc[mi][ni], a[mi], b[ni]);
      }
  }
}

// Tile t of the grid -> (tm, tn), walking 8 tile-rows at a time so neighbouring blocks share
// A rows and B columns in L2.
__device__ __forceinline__ void tile_coords(int64_t t, int64_t tiles_m, int64_t tiles_n, int64_t& tm, int64_t& tn) {
  const int64_t per_group = 8 * tiles_n, first = t / per_group * 8, rows = std::min<int64_t>(8, tiles_m - first);
  tm = first + t % per_group % rows;
  tn = t % per_group / rows;
}

}  // namespace tc
}  // namespace cuda
}  // namespace pyml
