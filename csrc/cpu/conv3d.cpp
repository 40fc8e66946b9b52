// 3-D convolution kernels over a GEMM, NCDHW: forward y[n, g] (Kg x OPQ) = w[g] (Kg x CgTRS) @
// col(x[n, g]); grad input dcol = w[g]^T @ dy[n, g], scattered back by col2vol; grad weight
// dw[g] += dy[n, g] @ col^T. The vol2col matrix has one row per (c, t, r, s) filter tap and one
// column per output position (o, p, q); it is built in column chunks of at most kColElems
// elements (never whole), and the GEMMs, threading and float32 AVX-512 panel kernels are those of
// the 2-D im2col path (cpu/conv_gemm.h). Shapes: x (N, C, D, H, W) through p.xs, w (K, C/G, T, R, S),
// y/dy (N, K, O, P, Q), dx (N, C, D, H, W) contiguous.
// FLOPs: 2 * N * K * OPQ * Cg*T*R*S per pass (forward, grad input, grad weight alike).
// Float32 convs that the tap GEMM serves (cpu/conv3d_taps.h: AVX-512, ungrouped, undilated, >= 16
// channels, not 1x1x1) go there and skip the vol2col copy; this path is their reference.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
#include "ops/conv3d.h"
#include "cpu/conv3d_taps.h"
#include "cpu/conv_gemm.h"
#include "core/parallel.h"

namespace pyml {
namespace {

using namespace conv_gemm;

int64_t taps(const Conv3dParams& p) { return p.T * p.R * p.S; }
int64_t out_cols(const Conv3dParams& p) { return p.O * p.P * p.Q; }

int64_t chunk_cols(const Conv3dParams& p) {
  int64_t rows = std::max<int64_t>(p.C / p.G * taps(p), 1);
  return std::clamp<int64_t>(kColElems / rows / 16 * 16, 16, std::max<int64_t>(out_cols(p), 1));
}

// Where a vol2col row (c, t, r, s) reads: channel c, input offsets of output (0, 0, 0), and the
// range [lo, hi) of output columns q whose input column lies inside the image.
struct Tap {
  int64_t c, doff, hoff, woff, lo, hi;
};
Tap tap_of(const Conv3dParams& p, int64_t row) {
  const int64_t RS = p.R * p.S, TRS = p.T * RS;
  Tap k{row / TRS, row % TRS / RS * p.dd - p.pd, row % RS / p.S * p.dh - p.ph, row % p.S * p.dw - p.pw, 0, 0};
  valid_range(0, p.Q, p.sw, k.woff, p.W, k.lo, k.hi);
  return k;
}

// Calls f(at, o, pp0, pp1, q0, q1) for the output rows overlapping columns [c0, c1), in runs within
// one output depth o: rows pp0 .. pp1-1, columns q0 .. q1-1 of each, starting at column at. Only a
// run of one row at a chunk's ends is partial (q0 > 0 or q1 < Q), so the callers handle whole rows
// in tight loops and the row bookkeeping is paid once per run.
template <typename F>
void for_runs(const Conv3dParams& p, int64_t c0, int64_t c1, const F& f) {
  for (int64_t at = c0; at < c1;) {
    const int64_t rr = at / p.Q, q0 = at % p.Q, o = rr / p.P, pp = rr % p.P;
    if (q0 != 0 || c1 - at < p.Q) {
      const int64_t q1 = std::min(p.Q, q0 + c1 - at);
      f(at, o, pp, pp + 1, q0, q1);
      at += q1 - q0;
    } else {
      const int64_t pend = std::min(p.P, pp + (c1 - at) / p.Q);
      f(at, o, pp, pend, int64_t(0), p.Q);
      at += (pend - pp) * p.Q;
    }
  }
}

// col rows [r0, r1), columns [c0, c1) of the vol2col matrix of x (x at channel 0 of the group,
// strides xs); col has leading dimension c1 - c0. Per run the rows whose input row lies inside
// the volume are found once; each is a zero run, a (strided) copy and a zero run, the others zeros.
template <typename T>
void vol2col_rows(const Conv3dParams& p, const T* x, int64_t r0, int64_t r1, int64_t c0, int64_t c1, T* col) {
  const int64_t ld = c1 - c0, step = p.sw * p.xs[4];
  for (int64_t r = r0; r < r1; r++) {
    const Tap k = tap_of(p, r);
    const T* base = x + k.c * p.xs[1] + k.woff * p.xs[4];
    T* row = col + r * ld - c0;
    for_runs(p, c0, c1, [&](int64_t at, int64_t o, int64_t pp0, int64_t pp1, int64_t q0, int64_t q1) {
      const int64_t n = q1 - q0, d = o * p.sd + k.doff;
      int64_t hlo = pp1, hhi = pp1;  // rows pp whose input row lies inside the volume
      if (d >= 0 && d < p.D) valid_range(pp0, pp1, p.sh, k.hoff, p.H, hlo, hhi);
      const int64_t a = std::clamp(k.lo, q0, q1) - q0, e = std::clamp(k.hi, q0 + a, q1) - q0;  // copied: [a, e)
      T* dst = row + at;
      std::fill(dst, dst + (hlo - pp0) * n, T(0));
      for (int64_t pp = hlo; pp < hhi; pp++) {
        const T* src = base + d * p.xs[2] + (pp * p.sh + k.hoff) * p.xs[3] + q0 * step;
        T* out = dst + (pp - pp0) * n;
        for (int64_t q = 0; q < a; q++) out[q] = T(0);
        if (step == 1) std::memcpy(out + a, src + a, (e - a) * sizeof(T));
        else for (int64_t q = a; q < e; q++) out[q] = src[q * step];
        for (int64_t q = e; q < n; q++) out[q] = T(0);
      }
      std::fill(dst + (hhi - pp0) * n, dst + (pp1 - pp0) * n, T(0));
    });
  }
}

// dx (channel 0 of the group, contiguous (Cg, D, H, W)) += col2vol of the col rows of channels
// [ch0, ch1), columns [c0, c1).
template <typename T>
void col2vol_rows(const Conv3dParams& p, const T* col, int64_t ch0, int64_t ch1, int64_t c0, int64_t c1, T* dx) {
  const int64_t ld = c1 - c0, TRS = taps(p);
  for (int64_t r = ch0 * TRS; r < ch1 * TRS; r++) {
    const Tap k = tap_of(p, r);
    T* base = dx + k.c * p.D * p.H * p.W + k.woff;
    const T* row = col + r * ld - c0;
    for_runs(p, c0, c1, [&](int64_t at, int64_t o, int64_t pp0, int64_t pp1, int64_t q0, int64_t q1) {
      const int64_t d = o * p.sd + k.doff;
      if (d < 0 || d >= p.D) return;
      int64_t hlo, hhi;
      valid_range(pp0, pp1, p.sh, k.hoff, p.H, hlo, hhi);
      const int64_t a = std::clamp(k.lo, q0, q1), e = std::clamp(k.hi, a, q1);
      for (int64_t pp = hlo; pp < hhi; pp++) {
        const T* in = row + at + (pp - pp0) * (q1 - q0) - q0;  // in[q]: column q of row pp
        T* dst = base + (d * p.H + pp * p.sh + k.hoff) * p.W;
        for (int64_t q = a; q < e; q++) dst[q * p.sw] += in[q];
      }
    });
  }
}

template <typename T>
void pack(const Conv3dParams& p, const T* xg, int64_t rows, int64_t c0, int64_t c1, T* col, bool inner) {
  if (!inner) return vol2col_rows(p, xg, 0, rows, c0, c1, col);
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(c1 - c0, 1));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) { vol2col_rows(p, xg, r0, r1, c0, c1, col); });
}

}  // namespace

template <typename T>
void conv3d_forward_cpu(const Conv3dParams& p, const T* x, const T* w, const T* b, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (conv3d_taps::use(p)) return conv3d_taps::forward(p, x, w, b, y);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * taps(p), OPQ = out_cols(p);
  const int64_t chunk = chunk_cols(p), nchunks = (OPQ + chunk - 1) / chunk;
  const FilterGemm<T> fg(w, p.G, Kg, rows, false);
  run_items<T>(p.N * p.G * nchunks, rows * chunk, [&](int64_t it, bool inner, T* col) {
    const int64_t n = it / (p.G * nchunks), g = it / nchunks % p.G, c0 = it % nchunks * chunk;
    const int64_t m = std::min(OPQ, c0 + chunk) - c0;
    T* yg = y + (n * p.K + g * Kg) * OPQ + c0;
    if (rows > 0) {
      pack(p, x + n * p.xs[0] + g * Cg * p.xs[1], rows, c0, c0 + m, col, inner);
      fg.run(g, m, col, m, 1, yg, OPQ);
    }
    for (int64_t k = 0; k < Kg; k++) {
      T* yk = yg + k * OPQ;
      if (rows == 0) std::fill(yk, yk + m, T(0));
      if (b) for (int64_t q = 0; q < m; q++) yk[q] += b[g * Kg + k];
    }
  });
}

template <typename T>
void conv3d_backward_input_cpu(const Conv3dParams& p, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (conv3d_taps::use_backward_input(p)) return conv3d_taps::backward_input(p, dy, w, dx);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * taps(p), OPQ = out_cols(p), DHW = p.D * p.H * p.W;
  const int64_t chunk = chunk_cols(p);
  if (rows == 0) return;
  const FilterGemm<T> fg(w, p.G, Kg, rows, true);
  // chunks of one (image, group) scatter into the same dx planes: they run in turn, after the
  // item zeroes its planes (dx comes uninitialised)
  run_items<T>(p.N * p.G, rows * chunk, [&](int64_t it, bool inner, T* col) {
    const int64_t n = it / p.G, g = it % p.G;
    T* dxg = dx + (n * p.C + g * Cg) * DHW;
    std::fill(dxg, dxg + Cg * DHW, T(0));
    if (Kg == 0) return;
    for (int64_t c0 = 0; c0 < OPQ; c0 += chunk) {
      const int64_t c1 = std::min(OPQ, c0 + chunk), m = c1 - c0;
      fg.run(g, m, dy + (n * p.K + g * Kg) * OPQ + c0, OPQ, 1, col, m);
      if (!inner) { col2vol_rows(p, col, 0, Cg, c0, c1, dxg); continue; }
      parallel_for(0, Cg, 1, [&](int64_t a, int64_t e) { col2vol_rows(p, col, a, e, c0, c1, dxg); });
    }
  });
}

template <typename T>
void conv3d_backward_weight_cpu(const Conv3dParams& p, const T* dy, const T* x, T* dw) {
  if constexpr (std::is_same_v<T, float>)
    if (conv3d_taps::use(p)) return conv3d_taps::backward_weight(p, dy, x, dw);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * taps(p), OPQ = out_cols(p);
  const int64_t chunk = chunk_cols(p), nchunks = (OPQ + chunk - 1) / chunk;
  const int64_t items = p.N * nchunks, nt = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), items));
  const GradProduct<T> gp(Kg, rows, nt == get_num_threads());
  const int64_t asize = p.G * gp.group_size(), scratch = rows * chunk + gp.scratch(chunk);
  std::fill(dw, dw + p.K * rows, T(0));
  if (rows == 0 || items == 0) return;
  // one (image, chunk) item covers every group: acc[g] += dy[n, g] @ col^T
  auto item = [&](int64_t it, bool inner, T* col, T* acc) {
    const int64_t n = it / nchunks, c0 = it % nchunks * chunk, m = std::min(OPQ, c0 + chunk) - c0;
    for (int64_t g = 0; g < p.G; g++) {
      pack(p, x + n * p.xs[0] + g * Cg * p.xs[1], rows, c0, c0 + m, col, inner);
      gp.run(dy + (n * p.K + g * Kg) * OPQ + c0, OPQ, m, col, m, 1, acc + g * gp.group_size(), col + rows * chunk);
    }
  };
  gp.finish(per_thread_sums<T>(items, nt, asize, scratch, item).data(), p.G, dw);
}

#define PYML_CONV3D_INST(T)                                                                         \
  template void conv3d_forward_cpu<T>(const Conv3dParams&, const T*, const T*, const T*, T*);       \
  template void conv3d_backward_input_cpu<T>(const Conv3dParams&, const T*, const T*, T*);          \
  template void conv3d_backward_weight_cpu<T>(const Conv3dParams&, const T*, const T*, T*);
PYML_CONV3D_INST(float)
PYML_CONV3D_INST(double)

}  // namespace pyml
