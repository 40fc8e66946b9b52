// Convolution kernels over a GEMM, NCHW: forward y[n, g] (Kg x PQ) = w[g] (Kg x CgRS) @ col(x[n, g]);
// grad input dcol = w[g]^T @ dy[n, g], scattered back by col2im; grad weight dw[g] += dy[n, g] @ col^T.
// col is built in column chunks of at most kColElems elements (never a full im2col buffer); a 1x1,
// stride-1, unpadded conv reads x in place. Float32 3x3 stride-1 convs with enough tiles go to
// Winograd (conv_winograd.cpp), other ungrouped undilated float32 convs with >= 16 channels each way
// (strided, or kernels other than 1x1) to the shift-plane tap GEMM on AVX-512 (conv_phase.cpp);
// the remaining float32 GEMMs use the AVX-512 panel kernel with the filters
// packed once per call (FilterGemm, GradProduct), else the engine GEMM. Threads: independent
// (image, group, chunk) items run one per thread with single-threaded GEMMs; when there are fewer
// items than threads, items run in turn and the GEMM / packing thread inside.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>
#include "ops/conv.h"
#include "cpu/conv_gemm.h"
#include "cpu/conv_phase.h"
#include "cpu/conv_winograd.h"
#include "core/parallel.h"

namespace pyml {
namespace {

using namespace conv_gemm;

bool is_1x1(const ConvParams& p) {
  return p.R == 1 && p.S == 1 && p.sh == 1 && p.sw == 1 && p.ph == 0 && p.pw == 0 && p.P == p.H &&
         p.Q == p.W && p.xs[2] == p.W * p.xs[3];
}

int64_t chunk_cols(const ConvParams& p) {
  if (is_1x1(p)) return std::max<int64_t>(p.P * p.Q, 1);
  int64_t rows = std::max<int64_t>((p.C / p.G) * p.R * p.S, 1);
  return std::clamp<int64_t>(kColElems / rows / 16 * 16, 16, std::max<int64_t>(p.P * p.Q, 1));
}

// col rows [r0, r1) (row = (c*R + i)*S + j), columns [c0, c1) of the im2col matrix of x
// (x points at channel 0 of the group; strides xs). col has leading dimension c1 - c0.
// Per row the valid output-column range and the first output row are found once; then each
// output row of the chunk is a zero run, a (strided) copy and a zero run.
template <typename T>
void im2col_rows(const ConvParams& p, const T* x, int64_t r0, int64_t r1, int64_t c0, int64_t c1, T* col) {
  const int64_t RS = p.R * p.S, ld = c1 - c0, sh = p.xs[2], sw = p.xs[3], step = p.sw * sw;
  for (int64_t r = r0; r < r1; r++) {
    int64_t c = r / RS, i = r % RS / p.S, j = r % p.S;
    const T* base = x + c * p.xs[1];
    int64_t hoff = i * p.dh - p.ph, woff = j * p.dw - p.pw, lo, hi;
    valid_range(0, p.Q, p.sw, woff, p.W, lo, hi);
    T* out = col + r * ld;
    for (int64_t at = c0, pp = c0 / p.Q, q0 = c0 % p.Q; at < c1; pp++, q0 = 0) {
      int64_t n = std::min(p.Q - q0, c1 - at), q1 = q0 + n, h = pp * p.sh + hoff;
      T* o = out - q0;
      if (h < 0 || h >= p.H) {
        std::fill(out, out + n, T(0));
      } else {
        int64_t a = std::clamp(lo, q0, q1), e = std::clamp(hi, a, q1);
        const T* src = base + h * sh + woff * sw;
        for (int64_t q = q0; q < a; q++) o[q] = T(0);
        if (step == 1) std::memcpy(o + a, src + a, (e - a) * sizeof(T));
        else if (step == 2) for (int64_t q = a; q < e; q++) o[q] = src[2 * q];
        else for (int64_t q = a; q < e; q++) o[q] = src[q * step];
        for (int64_t q = e; q < q1; q++) o[q] = T(0);
      }
      out += n;
      at += n;
    }
  }
}

// dx (channel 0 of the group, contiguous (Cg, H, W)) += col2im of col rows of channels [ch0, ch1).
template <typename T>
void col2im_rows(const ConvParams& p, const T* col, int64_t ch0, int64_t ch1, int64_t c0, int64_t c1, T* dx) {
  const int64_t RS = p.R * p.S, ld = c1 - c0, step = p.sw;
  for (int64_t r = ch0 * RS; r < ch1 * RS; r++) {
    int64_t c = r / RS, i = r % RS / p.S, j = r % p.S;
    T* base = dx + c * p.H * p.W;
    int64_t hoff = i * p.dh - p.ph, woff = j * p.dw - p.pw, lo, hi;
    valid_range(0, p.Q, p.sw, woff, p.W, lo, hi);
    const T* in = col + r * ld;
    for (int64_t at = c0, pp = c0 / p.Q, q0 = c0 % p.Q; at < c1; pp++, q0 = 0) {
      int64_t n = std::min(p.Q - q0, c1 - at), q1 = q0 + n, h = pp * p.sh + hoff;
      if (h >= 0 && h < p.H) {
        int64_t a = std::clamp(lo, q0, q1), e = std::clamp(hi, a, q1);
        T* dst = base + h * p.W + woff;
        const T* i_ = in - q0;
        if (step == 1) for (int64_t q = a; q < e; q++) dst[q] += i_[q];
        else if (step == 2) for (int64_t q = a; q < e; q++) dst[2 * q] += i_[q];
        else for (int64_t q = a; q < e; q++) dst[q * step] += i_[q];
      }
      in += n;
      at += n;
    }
  }
}

template <typename T>
void pack(const ConvParams& p, const T* xg, int64_t rows, int64_t c0, int64_t c1, T* col, bool inner) {
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(c1 - c0, 1));
  if (!inner) return im2col_rows(p, xg, 0, rows, c0, c1, col);
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) { im2col_rows(p, xg, r0, r1, c0, c1, col); });
}

}  // namespace

template <typename T>
void conv_forward_cpu(const ConvParams& p, const T* x, const T* w, const T* b, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (wino::use_forward(p)) return wino::forward(p, x, w, b, y);
  if constexpr (std::is_same_v<T, float>)
    if (phase::use(p)) return phase::forward(p, x, w, b, y);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * p.R * p.S, PQ = p.P * p.Q;
  const int64_t chunk = chunk_cols(p), nchunks = (PQ + chunk - 1) / chunk;
  const bool direct = is_1x1(p);
  const FilterGemm<T> fg(w, p.G, Kg, rows, false);
  run_items<T>(p.N * p.G * nchunks, direct ? 0 : rows * chunk, [&](int64_t it, bool inner, T* col) {
    int64_t n = it / (p.G * nchunks), g = it / nchunks % p.G, c0 = it % nchunks * chunk;
    int64_t c1 = std::min(PQ, c0 + chunk);
    const T* xg = x + n * p.xs[0] + g * Cg * p.xs[1];
    T* yg = y + (n * p.K + g * Kg) * PQ + c0;
    if (rows == 0) {
      for (int64_t k = 0; k < Kg; k++) std::fill(yg + k * PQ, yg + k * PQ + (c1 - c0), b ? b[g * Kg + k] : T(0));
      return;
    }
    const T* B = xg + c0 * p.xs[3];
    int64_t rsb = p.xs[1], csb = p.xs[3];
    if (!direct) {
      pack(p, xg, rows, c0, c1, col, inner);
      B = col, rsb = c1 - c0, csb = 1;
    }
    fg.run(g, c1 - c0, B, rsb, csb, yg, PQ);
    if (b)
      for (int64_t k = 0; k < Kg; k++)
        for (int64_t q = 0; q < c1 - c0; q++) yg[k * PQ + q] += b[g * Kg + k];
  });
}

template <typename T>
void conv_backward_input_cpu(const ConvParams& p, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (wino::use_backward_input(p)) return wino::backward_input(p, dy, w, dx);
  if constexpr (std::is_same_v<T, float>)
    if (phase::use(p)) return phase::backward_input(p, dy, w, dx);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * p.R * p.S, PQ = p.P * p.Q, HW = p.H * p.W;
  const int64_t chunk = chunk_cols(p);
  const bool direct = is_1x1(p);
  if (rows == 0) return;
  if (Kg == 0) return std::fill(dx, dx + p.N * p.C * HW, T(0));
  const FilterGemm<T> fg(w, p.G, Kg, rows, true);
  // chunks of one (image, group) scatter into the same dx planes: they run in turn, after the
  // item zeroes its planes (dx comes uninitialised)
  run_items<T>(p.N * p.G, direct ? 0 : rows * chunk, [&](int64_t it, bool inner, T* col) {
    int64_t n = it / p.G, g = it % p.G;
    T* dxg = dx + (n * p.C + g * Cg) * HW;
    if (!direct) std::fill(dxg, dxg + Cg * HW, T(0));
    for (int64_t c0 = 0; c0 < PQ; c0 += chunk) {
      int64_t c1 = std::min(PQ, c0 + chunk), m = c1 - c0;
      const T* dyg = dy + (n * p.K + g * Kg) * PQ + c0;
      if (direct) {  // dx (Cg x HW) = w^T @ dy
        fg.run(g, m, dyg, PQ, 1, dxg + c0, HW);
        continue;
      }
      fg.run(g, m, dyg, PQ, 1, col, m);
      if (!inner) { col2im_rows(p, col, 0, Cg, c0, c1, dxg); continue; }
      parallel_for(0, Cg, 1, [&](int64_t a, int64_t e) { col2im_rows(p, col, a, e, c0, c1, dxg); });
    }
  });
}

template <typename T>
void conv_backward_weight_cpu(const ConvParams& p, const T* dy, const T* x, T* dw) {
  if constexpr (std::is_same_v<T, float>)
    if (wino::use_backward_weight(p)) return wino::backward_weight(p, dy, x, dw);
  if constexpr (std::is_same_v<T, float>)
    if (phase::use(p)) return phase::backward_weight(p, dy, x, dw);
  const int64_t Cg = p.C / p.G, Kg = p.K / p.G, rows = Cg * p.R * p.S, PQ = p.P * p.Q;
  const int64_t chunk = chunk_cols(p), nchunks = (PQ + chunk - 1) / chunk;
  const bool direct = is_1x1(p);
  const int64_t items = p.N * nchunks, nt = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), items));
  const GradProduct<T> gp(Kg, rows, nt == get_num_threads() && (!direct || p.xs[3] == 1));
  const int64_t asize = p.G * gp.group_size(), scratch = (direct ? 0 : rows * chunk) + gp.scratch(chunk);
  std::fill(dw, dw + p.K * rows, T(0));
  if (rows == 0 || items == 0) return;
  // one (image, chunk) item covers every group; acc[g] += dy[n, g] @ col^T
  auto item = [&](int64_t it, bool inner, T* col, T* acc) {
    int64_t n = it / nchunks, c0 = it % nchunks * chunk, c1 = std::min(PQ, c0 + chunk), m = c1 - c0;
    for (int64_t g = 0; g < p.G; g++) {
      const T* xg = x + n * p.xs[0] + g * Cg * p.xs[1];
      const T* B = xg + c0 * p.xs[3];
      int64_t rsb = p.xs[1], csb = p.xs[3];
      if (!direct) {
        pack(p, xg, rows, c0, c1, col, inner);
        B = col, rsb = m, csb = 1;
      }
      gp.run(dy + (n * p.K + g * Kg) * PQ + c0, PQ, m, B, rsb, csb, acc + g * gp.group_size(),
             col + (direct ? 0 : rows * chunk));
    }
  };
  gp.finish(per_thread_sums<T>(items, nt, asize, scratch, item).data(), p.G, dw);
}

// unfold: cols (N, C*R*S, P*Q) from x; fold: dx (N, C, H, W) contiguous, zeroed, += col2im(cols)
template <typename T>
void unfold_cpu(const ConvParams& p, const T* x, T* cols) {
  const int64_t RS = p.R * p.S, PQ = p.P * p.Q;
  parallel_for(0, p.N * p.C, std::max<int64_t>(1, 16384 / std::max<int64_t>(RS * PQ, 1)), [&](int64_t a, int64_t e) {
    for (int64_t i = a; i < e; i++) {
      int64_t n = i / p.C, c = i % p.C;
      im2col_rows(p, x + n * p.xs[0], c * RS, (c + 1) * RS, 0, PQ, cols + n * p.C * RS * PQ);
    }
  });
}

template <typename T>
void fold_cpu(const ConvParams& p, const T* cols, T* dx) {
  const int64_t RS = p.R * p.S, PQ = p.P * p.Q;
  parallel_for(0, p.N * p.C, std::max<int64_t>(1, 16384 / std::max<int64_t>(RS * PQ, 1)), [&](int64_t a, int64_t e) {
    for (int64_t i = a; i < e; i++) {
      int64_t n = i / p.C, c = i % p.C;
      col2im_rows(p, cols + n * p.C * RS * PQ, c, c + 1, 0, PQ, dx + n * p.C * p.H * p.W);
    }
  });
}

#define PYML_CONV_INST(T)                                                                          \
  template void conv_forward_cpu<T>(const ConvParams&, const T*, const T*, const T*, T*);          \
  template void conv_backward_input_cpu<T>(const ConvParams&, const T*, const T*, T*);             \
  template void conv_backward_weight_cpu<T>(const ConvParams&, const T*, const T*, T*);            \
  template void unfold_cpu<T>(const ConvParams&, const T*, T*);                                    \
  template void fold_cpu<T>(const ConvParams&, const T*, T*);
PYML_CONV_INST(float)
PYML_CONV_INST(double)

}  // namespace pyml
