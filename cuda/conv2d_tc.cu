// Grouped 2-D convolution on tensor cores (mma.sync: float16/bfloat16, float32 as TF32; fp32
// accumulation) as implicit GEMMs on the warp-tile core of cuda/gemm_tc_frag.cuh (128 x 128
// tiles, 8 warps of 64 x 32, a 3-stage cp.async ring of 64-byte reduction steps).
// Activations are read in a channels-last, channel-padded layout (N, H, W, G, Cgp), Cgp = C/G
// rounded up to 16 bytes, so each 16-byte chunk of a step is 8 (tf32: 4) channels of one pixel:
// one cp.async, zero-filled at the padding and outside the image. A channels_last x whose C/G is
// already a multiple of the chunk is read as it is; NCHW, odd channel counts and other strides are
// first copied into that layout (one extra pass over x, cheap next to a conv's arithmetic, and it
// keeps one fast gather); weights are always repacked (small). Per group, k = (r, s, c), c fastest:
//   forward  y  (N*P*Q x Kg)      = gather(x)  (N*P*Q x R*S*Cgp) . wf^T,  wf (K, R, S, Cgp)
//   dgrad    dx (N*H*W x Cg)      = gather(dy) (N*H*W x R*S*Kgp) . wd^T,  wd (G, Cg, R, S, Kgp)
//   wgrad    dw (Kg x R*S*Cgp)    = dy^T (Kg x N*P*Q) . gather(x), split over N*P*Q into fp32
//            partials that a second kernel sums in a fixed order (deterministic)
#include "conv2d.h"
#include <climits>
#include "gemm_tc.cuh"
#include "gemm_tc_frag.cuh"

namespace pyml {
namespace cuda {
namespace {

using namespace tc;
enum Mode { kFwd = 0, kDgrad = 1, kWgrad = 2 };

// Everything a kernel needs, by value. "a" is the gathered/row operand, "b" the other one.
template <typename T> struct TcArgs {
  const T* a;          // fwd: xh; dgrad: dyh; wgrad: dyh (all (N, *, *, G, padded channels))
  const T* b;          // fwd: wf; dgrad: wd; wgrad: xh
  void* out;           // fwd: y; dgrad: dx (T, strides os); wgrad: fp32 partials
  const T* bias;       // per output channel (fwd) / dx channel (dgrad); may be null
  int64_t os[4];       // output strides (n, channel, h, w), elements
  int64_t N, M, Nn, Kd, kchunk;  // GEMM per group: M x Nn, reduction Kd; wgrad: Kd per split
  int H, W, P, Q, R, S, sh, sw, ph, pw, dh, dw;
  int G, Cg, Kg, Cgp, Kgp;
};

// The A tile of forward / dgrad (K-fast, [128 rows][BK + pad]): row m is an output pixel (fwd)
// or an input pixel (dgrad), column k = (r, s, c) a tap and channel; each thread owns 2 chunks.
template <typename T, bool Dgrad> struct GatherK {
  using L = Tile<T, true>;
  static constexpr int kChunks = 2, kPerRow = L::kBK / L::kE;
  const T* zero;                 // a valid address for zero-fill copies
  const T* img[kChunks];         // the row's image (group offset added); null past M
  int hb[kChunks], wb[kChunks];  // fwd: oh*sh - ph, ow*sw - pw; dgrad: h + ph, w + pw

  __device__ __forceinline__ GatherK(const TcArgs<T>& a, int g, int64_t m0) : zero(a.a) {
    const int Hr = Dgrad ? a.H : a.P, Wr = Dgrad ? a.W : a.Q;  // the row pixels' plane
    const int64_t plane = Dgrad ? (int64_t)a.P * a.Q * a.G * a.Kgp : (int64_t)a.H * a.W * a.G * a.Cgp;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int64_t m = m0 + (threadIdx.x + i * kTcThreads) / kPerRow;
      const int64_t n = m / ((int64_t)Hr * Wr);
      const int rem = (int)(m - n * Hr * Wr), y = rem / Wr, x = rem - y * Wr;
      img[i] = m < a.M ? a.a + n * plane + (int64_t)g * (Dgrad ? a.Kgp : a.Cgp) : nullptr;
      hb[i] = Dgrad ? y + a.ph : y * a.sh - a.ph;
      wb[i] = Dgrad ? x + a.pw : x * a.sw - a.pw;
    }
  }
  // Issues the copies of reduction step kt into stage tile s.
  __device__ __forceinline__ void load(T* s, int kt, const TcArgs<T>& a) const {
    const int csp = Dgrad ? a.Kgp : a.Cgp, pix = a.G * csp;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int c = threadIdx.x + i * kTcThreads, col = c % kPerRow * L::kE;
      const int k = kt * L::kBK + col;
      const T* src = zero;
      int bytes = 0;
      if (img[i] && k < a.Kd) {
        const int rs = k / csp, ch = k - rs * csp, r = rs / a.S, sx = rs - r * a.S;
        int ih, iw;
        bool ok;
        if (!Dgrad) {
          ih = hb[i] + r * a.dh, iw = wb[i] + sx * a.dw;
          ok = ih >= 0 && ih < a.H && iw >= 0 && iw < a.W;
        } else {  // the output pixel whose window puts tap (r, s) on this input pixel, if any
          const int th = hb[i] - r * a.dh, tw = wb[i] - sx * a.dw;
          ih = th / a.sh, iw = tw / a.sw;
          ok = th >= 0 && tw >= 0 && ih * a.sh == th && iw * a.sw == tw && ih < a.P && iw < a.Q;
        }
        if (ok) src = img[i] + ((int64_t)ih * (Dgrad ? a.Q : a.W) + iw) * pix + ch, bytes = 16;
      }
      mma::cp_async_16(s + c / kPerRow * L::kLd + col, src, bytes);
    }
  }
};

// The B tile of wgrad (MN-fast, [BK rows][128 + pad]): row k is an output pixel (img, p, q),
// column n = (r, s, c); the element is x at the input pixel tap (r, s) of that output reads.
template <typename T> struct GatherMN {
  using L = Tile<T, false>;
  static constexpr int kChunks = 2, kPerRow = kBN / L::kE;
  const T* zero;
  const T* base[kChunks];          // xh + group and channel offset; null past Nn
  int roff[kChunks], soff[kChunks];  // r*dh - ph, s*dw - pw

  __device__ __forceinline__ GatherMN(const TcArgs<T>& a, int g, int64_t n0) : zero(a.b) {
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int64_t n = n0 + (threadIdx.x + i * kTcThreads) % kPerRow * L::kE;
      const int rs = (int)(n / a.Cgp), ch = (int)(n - (int64_t)rs * a.Cgp), r = rs / a.S;
      base[i] = n < a.Nn ? a.b + (int64_t)g * a.Cgp + ch : nullptr;
      roff[i] = r * a.dh - a.ph;
      soff[i] = (rs - r * a.S) * a.dw - a.pw;
    }
  }
  __device__ __forceinline__ void load(T* s, int kt, const TcArgs<T>& a) const {
    const int64_t PQ = (int64_t)a.P * a.Q;
#pragma unroll
    for (int i = 0; i < kChunks; i++) {
      const int c = threadIdx.x + i * kTcThreads, row = c / kPerRow;
      const int64_t k = (int64_t)kt * L::kBK + row;
      const T* src = zero;
      int bytes = 0;
      if (base[i] && k < a.Kd) {
        const int64_t n = k / PQ;
        const int pq = (int)(k - n * PQ), p = pq / a.Q, q = pq - p * a.Q;
        const int ih = p * a.sh + roff[i], iw = q * a.sw + soff[i];
        if (ih >= 0 && ih < a.H && iw >= 0 && iw < a.W)
          src = base[i] + ((n * a.H + ih) * a.W + iw) * a.G * a.Cgp, bytes = 16;
      }
      mma::cp_async_16(s + row * L::kLd + c % kPerRow * L::kE, src, bytes);
    }
  }
};

// Adapts the plain-matrix TileLoader to the loaders' load(s, kt, args) call.
template <typename T, bool KFast> struct MatLoader {
  TileLoader<T, KFast> t;
  int64_t K;
  __device__ __forceinline__ void load(T* s, int kt, const TcArgs<T>&) const { t.load(s, kt, K); }
};

// Reduction steps [kt0, kt1) of one 128 x 128 tile through the kStages-deep cp.async ring.
template <typename T, bool AK, bool BK, typename LA, typename LB>
__device__ __forceinline__ void conv_mainloop(float (&acc)[4][4][4], T* As, T* Bs, const LA& la, const LB& lb,
                                              int kt0, int kt1, const TcArgs<T>& a) {
  constexpr int ea = Tile<T, AK>::kElems, eb = Tile<T, BK>::kElems;
  const int warp = threadIdx.x / 32, wm = warp / 4, wn = warp % 4;
#pragma unroll
  for (int i = 0; i < kStages - 1; i++) {
    if (kt0 + i < kt1) {
      la.load(As + i * ea, kt0 + i, a);
      lb.load(Bs + i * eb, kt0 + i, a);
    }
    mma::cp_async_commit();  // empty groups keep the count uniform
  }
  for (int kt = kt0; kt < kt1; kt++) {
    mma::cp_async_wait<kStages - 2>();  // this thread's copies of step kt have landed
    __syncthreads();                    // everyone's have, and step kt - 1's stage is free again
    const int nxt = kt + kStages - 1, sn = (nxt - kt0) % kStages, st = (kt - kt0) % kStages;
    if (nxt < kt1) {
      la.load(As + sn * ea, nxt, a);
      lb.load(Bs + sn * eb, nxt, a);
    }
    mma::cp_async_commit();
    compute_stage<T, AK, BK>(acc, As + st * ea, Bs + st * eb, wm, wn);
  }
  mma::cp_async_wait<0>();
  __syncthreads();  // the stages are reused by the next group
}

// Forward / dgrad epilogue: row m = pixel (n, y, x) of the output plane (Hr, Wr), column = channel
// g*Nn + col; adds the bias, rounds to T, stores through a.os.
template <typename T>
__device__ __forceinline__ void store_rows(const float (&acc)[4][4][4], const TcArgs<T>& a, int g, int64_t m0,
                                           int64_t n0, int Hr, int Wr) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  T* out = static_cast<T*>(a.out);
#pragma unroll
  for (int mi = 0; mi < 4; mi++)
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int64_t m = m0 + warp / 4 * 64 + mi * 16 + lane / 4 + 8 * h;
      if (m >= a.M) continue;
      const int64_t n = m / ((int64_t)Hr * Wr);
      const int rem = (int)(m - n * Hr * Wr), y = rem / Wr;
      const int64_t row = n * a.os[0] + y * a.os[2] + (rem - y * Wr) * a.os[3];
#pragma unroll
      for (int ni = 0; ni < 4; ni++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
          const int64_t col = n0 + warp % 4 * 32 + ni * 8 + 2 * (lane % 4) + j;
          if (col >= a.Nn) continue;
          const int64_t ch = g * a.Nn + col;
          float v = acc[mi][ni][2 * h + j];
          if (a.bias) v += convert<float>(a.bias[ch]);
          out[row + ch * a.os[1]] = convert<T>(v);
        }
    }
}

// wgrad epilogue: partial (split, g*Kg + m, n) of the fp32 buffer (splits, K, Nn).
template <typename T>
__device__ __forceinline__ void store_partial(const float (&acc)[4][4][4], const TcArgs<T>& a, int g, int64_t m0,
                                              int64_t n0) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* out = static_cast<float*>(a.out) + ((int64_t)blockIdx.z * a.G * a.Kg + (int64_t)g * a.Kg) * a.Nn;
#pragma unroll
  for (int mi = 0; mi < 4; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int i = 0; i < 4; i++) {
        const int64_t m = m0 + warp / 4 * 64 + mi * 16 + lane / 4 + 8 * (i / 2);
        const int64_t n = n0 + warp % 4 * 32 + ni * 8 + 2 * (lane % 4) + i % 2;
        if (m < a.M && n < a.Nn) out[m * a.Nn + n] = acc[mi][ni][i];
      }
}

// Grid: x = 128 x 128 tiles of one group's GEMM, y = groups (strided), z = wgrad's splits.
template <typename T, int Md>
__global__ void __launch_bounds__(kTcThreads, 1) conv_tc_kernel(TcArgs<T> a) {
  PYML_DYNAMIC_SMEM(smem);
  constexpr bool KF = Md != kWgrad;  // both operands K-fast (fwd, dgrad) or both MN-fast (wgrad)
  T* As = reinterpret_cast<T*>(smem);
  T* Bs = As + kStages * Tile<T, KF>::kElems;
  constexpr int BK = Tile<T, KF>::kBK;
  int64_t tm, tn;
  tile_coords(blockIdx.x, (a.M + kBM - 1) / kBM, (a.Nn + kBN - 1) / kBN, tm, tn);
  const int64_t m0 = tm * kBM, n0 = tn * kBN, k0 = blockIdx.z * a.kchunk, k1 = std::min<int64_t>(a.Kd, k0 + a.kchunk);
  const int kt0 = (int)(k0 / BK), kt1 = (int)((k1 + BK - 1) / BK);
  for (int g = blockIdx.y; g < a.G; g += gridDim.y) {
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 64; i++) (&acc[0][0][0])[i] = 0.f;
    if constexpr (Md == kWgrad) {
      const MatLoader<T, false> la{TileLoader<T, false>(a.a + (int64_t)g * a.Kgp, (int64_t)a.G * a.Kgp, a.Kgp, a.Kd, m0),
                                   a.Kd};
      conv_mainloop<T, false, false>(acc, As, Bs, la, GatherMN<T>(a, g, n0), kt0, kt1, a);
      store_partial<T>(acc, a, g, m0, n0);
    } else {
      const int64_t ld = (int64_t)a.R * a.S * (Md == kFwd ? a.Cgp : a.Kgp);
      const MatLoader<T, true> lb{TileLoader<T, true>(a.b + g * a.Nn * ld, ld, a.Nn, a.Kd, n0), a.Kd};
      conv_mainloop<T, true, true>(acc, As, Bs, GatherK<T, Md == kDgrad>(a, g, m0), lb, kt0, kt1, a);
      store_rows<T>(acc, a, g, m0, n0, Md == kFwd ? a.P : a.H, Md == kFwd ? a.Q : a.W);
    }
  }
}

// dst (d0, d1, d2, d3, d4) contiguous = src at sum(i_j * s_j), zero where i4 >= lim4 (channel padding)
struct Pack5 {
  int64_t d[5], s[5], lim4;
};
template <typename T> __global__ void pack5_kernel(const T* src, T* dst, Pack5 p, int64_t total) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i, off = 0, i4 = r % p.d[4];
    off += i4 * p.s[4], r /= p.d[4];
#pragma unroll
    for (int j = 3; j >= 0; j--) off += r % p.d[j] * p.s[j], r /= p.d[j];
    dst[i] = i4 < p.lim4 ? src[off] : T(0.f);
  }
}

// dw (K, Cg, R, S) = sum over splits of part (splits, K, R*S*Cgp), in split order, rounded to T
template <typename T>
__global__ void wgrad_finish_kernel(const float* part, T* dw, int64_t K, int Cg, int RS, int Cgp, int64_t splits) {
  const int64_t total = K * Cg * RS, nn = (int64_t)RS * Cgp;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int rs = (int)(i % RS), c = (int)(i / RS % Cg);
    const int64_t k = i / ((int64_t)RS * Cg), at = k * nn + (int64_t)rs * Cgp + c;
    float v = 0.f;
    for (int64_t s = 0; s < splits; s++) v += part[s * K * nn + at];
    dw[i] = convert<T>(v);
  }
}

template <typename T> DType dtype_of() {
  return std::is_same_v<T, float> ? DType::Float32 : std::is_same_v<T, __half> ? DType::Float16 : DType::BFloat16;
}

template <typename T> Tensor scratch(int64_t n, int index) {
  return empty({n}, dtype_of<T>(), Device{Device::CUDA, (int8_t)index});
}

template <typename T> void pack(const T* src, T* dst, const Pack5& p, int index, const char* op) {
  const int64_t total = p.d[0] * p.d[1] * p.d[2] * p.d[3] * p.d[4];
  if (total == 0) return;
  pack5_kernel<T><<<grid_for(total), kThreads, 0, stream(index)>>>(src, dst, p, total);
  PYML_CUDA_LAUNCH_CHECK(op);
}

// x (strides xs) in the (N, H, W, G, Cgp) layout: x itself when it already is, else a packed copy
template <typename T>
const T* nhwc(const T* x, const int64_t xs[4], int64_t N, int64_t C, int64_t H, int64_t W, int64_t G, int64_t cgp,
              Tensor& hold, int index, const char* op) {
  const int64_t cg = C / G;
  const bool dense = xs[1] == 1 && xs[3] == C && xs[2] == W * C && (xs[0] == H * W * C || N == 1);
  if (dense && cg == cgp && reinterpret_cast<uintptr_t>(x) % 16 == 0) return x;
  hold = scratch<T>(N * H * W * G * cgp, index);
  pack<T>(x, hold.ptr<T>(), Pack5{{N, H, W, G, cgp}, {xs[0], xs[2], xs[3], cg * xs[1], xs[1]}, cg}, index, op);
  return hold.ptr<T>();
}

// Chunk-aligned channel count per group
template <typename T> int64_t padded(int64_t c) {
  const int64_t e = 16 / sizeof(T);
  return (c + e - 1) / e * e;
}

template <typename T> TcArgs<T> make_args(const ConvParams& p, const char* op) {
  for (int64_t v : {p.H, p.W, p.P, p.Q, p.R * p.S * padded<T>(std::max(p.C, p.K)), p.sh * p.P, p.sw * p.Q,
                    p.dh * p.R, p.dw * p.S, p.ph + p.H, p.pw + p.W})
    PYML_CHECK(v < (INT_MAX >> 2), RuntimeError, op, ": sizes beyond the tensor-core kernels' 32-bit indices, got ",
               "input (", p.N, ", ", p.C, ", ", p.H, ", ", p.W, "), weight (", p.K, ", ", p.C / p.G, ", ", p.R, ", ",
               p.S, ")");
  TcArgs<T> a{};
  a.N = p.N;
  a.H = (int)p.H, a.W = (int)p.W, a.P = (int)p.P, a.Q = (int)p.Q, a.R = (int)p.R, a.S = (int)p.S;
  a.sh = (int)p.sh, a.sw = (int)p.sw, a.ph = (int)p.ph, a.pw = (int)p.pw, a.dh = (int)p.dh, a.dw = (int)p.dw;
  a.G = (int)p.G, a.Cg = (int)(p.C / p.G), a.Kg = (int)(p.K / p.G);
  a.Cgp = (int)padded<T>(a.Cg), a.Kgp = (int)padded<T>(a.Kg);
  return a;
}

template <typename T, int Md> void launch(const TcArgs<T>& a, int64_t splits, int index, const char* op) {
  constexpr bool KF = Md != kWgrad;
  constexpr int smem = kStages * 2 * Tile<T, KF>::kBytes;
  void (*kernel)(TcArgs<T>) = conv_tc_kernel<T, Md>;
  static bool raised[64] = {};  // per device: the limit is a property of the kernel on each device
  int dev = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&dev), op);
  if (dev >= 64 || !raised[dev]) {
    PYML_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, smem), op);
    if (dev < 64) raised[dev] = true;
  }
  const int64_t tiles = ((a.M + kBM - 1) / kBM) * ((a.Nn + kBN - 1) / kBN);
  PYML_CHECK(tiles < INT_MAX && (a.Kd + 63) / 16 < INT_MAX, RuntimeError, op, ": ", a.M, " x ", a.Nn,
             " output too large for the tensor-core kernels");
  dim3 grid((unsigned)tiles, (unsigned)std::min(a.G, 65535), (unsigned)splits);
  kernel<<<grid, kTcThreads, smem, stream(index)>>>(a);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T>
void forward(const ConvParams& p, const T* x, const T* w, const T* b, T* y, const int64_t* ys, int index) {
  const char* op = "conv2d";
  TcArgs<T> a = make_args<T>(p, op);
  Tensor xh, wf = scratch<T>(p.K * p.R * p.S * a.Cgp, index);
  a.a = nhwc<T>(x, p.xs, p.N, p.C, p.H, p.W, p.G, a.Cgp, xh, index, op);
  const int64_t RS = p.R * p.S;  // w (K, Cg, R, S) -> wf (K, R, S, Cgp)
  pack<T>(w, wf.ptr<T>(), Pack5{{p.K, p.R, p.S, 1, a.Cgp}, {a.Cg * RS, p.S, 1, 0, RS}, a.Cg}, index, op);
  a.b = wf.ptr<T>(), a.out = y, a.bias = b;
  std::copy(ys, ys + 4, a.os);
  a.M = p.N * p.P * p.Q, a.Nn = a.Kg, a.Kd = RS * a.Cgp, a.kchunk = a.Kd;
  launch<T, kFwd>(a, 1, index, op);
}

template <typename T> void backward_input(const ConvParams& p, const T* dy, const int64_t* ys, const T* w,
                                          const T* bias, T* dx, int index) {
  const char* op = "conv2d backward (input)";
  TcArgs<T> a = make_args<T>(p, op);
  const int64_t RS = p.R * p.S;
  Tensor dyh, wd = scratch<T>(p.C * RS * a.Kgp, index);
  a.a = nhwc<T>(dy, ys, p.N, p.K, p.P, p.Q, p.G, a.Kgp, dyh, index, op);
  // w[(g*Kg + kk), c, r, s] -> wd (G, Cg, R, S, Kgp)
  pack<T>(w, wd.ptr<T>(), Pack5{{p.G, a.Cg, p.R, p.S, a.Kgp}, {a.Kg * a.Cg * RS, RS, p.S, 1, a.Cg * RS}, a.Kg},
          index, op);
  a.b = wd.ptr<T>(), a.out = dx, a.bias = bias;
  const int64_t os[4] = {p.C * p.H * p.W, p.H * p.W, p.W, 1};
  std::copy(os, os + 4, a.os);
  a.M = p.N * p.H * p.W, a.Nn = a.Cg, a.Kd = RS * a.Kgp, a.kchunk = a.Kd;
  launch<T, kDgrad>(a, 1, index, op);
}

// Splits of wgrad's reduction: about 2 waves of 132-SM blocks, at least 16 steps each, partials
// of at most 2^26 floats.
int64_t wgrad_splits(int64_t tiles, int64_t ksteps, int64_t part_per_split) {
  int64_t s = std::min<int64_t>((264 + tiles - 1) / tiles, std::max<int64_t>(ksteps / 16, 1));
  s = std::min<int64_t>(s, std::max<int64_t>((int64_t(1) << 26) / std::max<int64_t>(part_per_split, 1), 1));
  return std::max<int64_t>(1, std::min<int64_t>(s, 65535));
}

template <typename T>
void backward_weight(const ConvParams& p, const T* dy, const int64_t* ys, const T* x, T* dw, int index) {
  const char* op = "conv2d backward (weight)";
  TcArgs<T> a = make_args<T>(p, op);
  const int64_t PQ = p.P * p.Q, RS = p.R * p.S;
  Tensor dyh, xh;
  a.a = nhwc<T>(dy, ys, p.N, p.K, p.P, p.Q, p.G, a.Kgp, dyh, index, op);
  a.b = nhwc<T>(x, p.xs, p.N, p.C, p.H, p.W, p.G, a.Cgp, xh, index, op);
  a.M = a.Kg, a.Nn = RS * a.Cgp, a.Kd = p.N * PQ;
  constexpr int BK = Tile<T, false>::kBK;
  const int64_t ksteps = (a.Kd + BK - 1) / BK, tiles = ((a.M + kBM - 1) / kBM) * ((a.Nn + kBN - 1) / kBN) * p.G;
  int64_t splits = wgrad_splits(tiles, ksteps, p.K * a.Nn);
  a.kchunk = std::max<int64_t>(1, (ksteps + splits - 1) / splits) * BK;
  splits = std::max<int64_t>(1, (a.Kd + a.kchunk - 1) / a.kchunk);  // N*P*Q == 0: one split of zeros
  Tensor part = empty({splits * p.K * a.Nn}, DType::Float32, Device{Device::CUDA, (int8_t)index});
  a.out = part.ptr<float>();
  launch<T, kWgrad>(a, splits, index, op);
  const int64_t total = p.K * a.Cg * RS;
  wgrad_finish_kernel<T><<<grid_for(total), kThreads, 0, stream(index)>>>(part.ptr<float>(), dw, p.K, a.Cg, (int)RS,
                                                                          a.Cgp, splits);
  PYML_CUDA_LAUNCH_CHECK(op);
}

// 1x1, stride 1, no padding, one group, no bias: per image a plain product on the GEMM kernel,
// forward y[n] (K x HW) = w (K x C) @ x[n] (C x HW), dgrad dx[n] (C x HW) = w^T @ dy[n], reading
// x (NCHW or channels_last, pixels dense) and w in place. False where it does not apply.
bool pointwise(const ConvParams& p, const void* in, const int64_t is[4], int64_t cin, int64_t cout, const void* w,
               bool wt, void* out, DType t, int index) {
  const int64_t HW = p.H * p.W;
  if (p.G != 1 || p.R != 1 || p.S != 1 || p.sh != 1 || p.sw != 1 || p.ph != 0 || p.pw != 0 || p.P != p.H ||
      p.Q != p.W || p.N > INT_MAX)
    return false;
  const bool nhwc = is[1] == 1 && is[3] == cin && is[2] == p.W * cin, nchw = is[3] == 1 && is[2] == p.W;
  if (!nhwc && !nchw) return false;
  GemmArgs g{};
  g.M = cout, g.N = HW, g.K = cin, g.alpha = 1, g.beta = 0;
  g.A = w, g.rsa = wt ? 1 : cin, g.csa = wt ? cout : 1;  // w (K, C): A = w, or w^T for dgrad
  g.B = in, g.rsb = is[1], g.csb = nhwc ? cin : 1;
  g.C = out, g.rsc = HW, g.csc = 1;
  BatchIndex<3> bi;
  bi.nd = 1, bi.size[0] = p.N, bi.count = p.N;
  bi.stride[0][0] = 0, bi.stride[1][0] = is[0], bi.stride[2][0] = cout * HW;
  return gemm_tc_cuda(g, bi, t, true, stream(index));
}

// f(T{}) for the tensor-core types: float16, bfloat16, float32 (run as TF32)
template <typename F> void dispatch_tc(DType t, const char* op, F f) {
  if (t == DType::Float16) f(__half{});
  else if (t == DType::BFloat16) f(__nv_bfloat16{});
  else if (t == DType::Float32) f(float{});
  else throw_dtype_error(op, t);
}

}  // namespace

void conv2d_tc_forward(const ConvParams& p, const void* x, const void* w, const void* b, void* y, const int64_t* ys,
                       DType t, int index) {
  if (p.N * p.K * p.P * p.Q == 0) return;
  const bool y_nchw = ys[3] == 1 && ys[2] == p.Q && ys[1] == p.P * p.Q && ys[0] == p.K * p.P * p.Q;
  if (!b && y_nchw && pointwise(p, x, p.xs, p.C, p.K, w, false, y, t, index)) return;
  dispatch_tc(t, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    forward<T>(p, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), static_cast<T*>(y),
               ys, index);
  });
}

void conv2d_tc_backward_input(const ConvParams& p, const void* dy, const int64_t* dys, const void* w,
                              const void* bias, void* dx, DType t, int index) {
  if (p.N * p.C * p.H * p.W == 0) return;
  if (!bias && pointwise(p, dy, dys, p.K, p.C, w, true, dx, t, index)) return;
  dispatch_tc(t, "conv2d backward (input)", [&](auto tag) {
    using T = decltype(tag);
    backward_input<T>(p, static_cast<const T*>(dy), dys, static_cast<const T*>(w), static_cast<const T*>(bias),
                      static_cast<T*>(dx), index);
  });
}

void conv2d_tc_backward_weight(const ConvParams& p, const void* dy, const int64_t* dys, const void* x, void* dw,
                               DType t, int index) {
  if (p.K * p.C / std::max<int64_t>(p.G, 1) * p.R * p.S == 0) return;
  dispatch_tc(t, "conv2d backward (weight)", [&](auto tag) {
    using T = decltype(tag);
    backward_weight<T>(p, static_cast<const T*>(dy), dys, static_cast<const T*>(x), static_cast<T*>(dw), index);
  });
}

}  // namespace cuda
}  // namespace pyml
