// The GEMM side of the im2col (cpu/conv.cpp) and vol2col (cpu/conv3d.cpp) convolutions, shared by
// both: per group g the filters w_g (Kg x rows, rows = Cg * taps) multiply column chunks of the
// unfolded input, and the weight gradient accumulates dy_g (Kg x m) @ col^T. Float32 on AVX-512
// packs the filters once per call for the Winograd panel kernel (FilterGemm) and takes the
// transposed weight-gradient kernel (GradProduct); everything else runs the engine GEMM.
// Threads: run_items hands independent items one per thread when there are enough of them, else
// runs them in turn and lets the GEMM / packing thread inside.
#pragma once
#include <algorithm>
#include <type_traits>
#include <vector>
#include "core/parallel.h"
#include "cpu/conv_winograd.h"
#include "cpu/kernels.h"

namespace pyml {
namespace conv_gemm {

constexpr int64_t kColElems = int64_t(1) << 18;  // column chunk: 1 MiB of float32 per thread

// C (M x N, row stride rsc) = A @ B + beta * C, any strides (elements)
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
          int64_t csb, T* C, int64_t rsc, double beta) {
  GemmArgs g{M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, 1, 1.0, beta};
  if constexpr (std::is_same_v<T, float>) kernels().sgemm(g); else kernels().dgemm(g);
}

inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Range [lo, hi) of output columns q in [q0, q1) whose input column q*s + off lies in [0, W).
inline void valid_range(int64_t q0, int64_t q1, int64_t s, int64_t off, int64_t W, int64_t& lo, int64_t& hi) {
  lo = std::clamp(ceil_div(-off, s), q0, q1);
  hi = std::clamp(ceil_div(W - off, s), lo, q1);
}

// n elements of a grow-only buffer private to the calling thread (a fresh ~1 MB im2col buffer per
// call page-faults on every call). Its contents are undefined; every user writes before reading.
template <typename T>
T* thread_buffer(int64_t n) {
  thread_local std::vector<T> buf;
  if ((int64_t)buf.size() < n) buf.resize(n);
  return buf.data();
}

// Runs f(item, inner, buf) over items: one item per thread when there are enough of them (inner =
// false: run everything single-threaded), else in turn with inner = true (thread inside).
// buf: a scratch buffer of `scratch` elements private to the thread.
template <typename T, typename F>
void run_items(int64_t items, int64_t scratch, const F& f) {
  if (items >= get_num_threads() && items > 1) {
    parallel_for(0, items, 1, [&](int64_t i0, int64_t i1) {
      T* buf = thread_buffer<T>(scratch);
      for (int64_t i = i0; i < i1; i++) f(i, false, buf);
    });
  } else {
    T* buf = thread_buffer<T>(scratch);
    for (int64_t i = 0; i < items; i++) f(i, true, buf);
  }
}

// The filters of every group as the left GEMM operand: w_g (Kg x rows), or its transpose for the
// grad-input pass. Float32 on AVX-512 packs them once per call for the panel kernel (the engine
// GEMM would repack them for every column chunk); otherwise the engine GEMM reads them in place.
template <typename T>
struct FilterGemm {
  const T* w;
  int64_t M, K, rsa, csa, group;
  std::vector<wino::PanelGemm> packed;  // one per group; empty: engine GEMM

  // w (G*Kg, rows) contiguous
  FilterGemm(const T* w_, int64_t G, int64_t Kg, int64_t rows, bool transposed) : w(w_) {
    M = transposed ? rows : Kg, K = transposed ? Kg : rows;
    rsa = transposed ? 1 : rows, csa = transposed ? rows : 1, group = Kg * rows;
    if constexpr (std::is_same_v<T, float>)
      if (wino::PanelGemm::available() && M > 0 && K > 0)
        for (int64_t g = 0; g < G; g++) packed.emplace_back(w + g * group, M, K, rsa, csa);
  }
  // C (M x N, row stride ldc) = A_g @ B, B (K x N) with strides rsb, csb
  void run(int64_t g, int64_t N, const T* B, int64_t rsb, int64_t csb, T* C, int64_t ldc) const {
    if constexpr (std::is_same_v<T, float>)
      if (!packed.empty() && csb == 1) return packed[g].run(B, rsb, N, C, ldc);
    gemm<T>(M, N, K, w + g * group, rsa, csa, B, rsb, csb, C, ldc, 0.0);
  }
};

// The weight-gradient product of one group and column chunk, acc_g += dy_g (Kg x m) @ B^T for
// B (rows x m). Float32 on AVX-512 (when the caller allows it: every thread has its own items and
// B's rows are contiguous) uses the Winograd weight-gradient kernel into a transposed acc_g
// (rows x Kp): it reads B rows in place, where the engine GEMM would gather B^T column by column.
// finish() turns the summed acc into dw.
template <typename T>
struct GradProduct {
  int64_t Kg, rows, Kp;
  bool transposed = false;

  GradProduct(int64_t Kg_, int64_t rows_, bool use_tiles) : Kg(Kg_), rows(rows_), Kp(Kg_) {
    if constexpr (std::is_same_v<T, float>)
      transposed = use_tiles && wino::tile_kernels().grad_gemm;
    if (transposed) Kp = (Kg + 15) / 16 * 16;
  }
  int64_t group_size() const { return rows * Kp; }
  int64_t scratch(int64_t chunk) const { return transposed ? (chunk + 15) / 16 * 16 * Kp : 0; }
  // B: element (r, q) at B[r*rsb + q*csb]; acc: this group's accumulator; Yt: scratch(m) elements
  void run(const T* dyg, int64_t PQ, int64_t m, const T* B, int64_t rsb, int64_t csb, T* acc, T* Yt) const {
    if constexpr (std::is_same_v<T, float>)
      if (transposed) return wino::tile_kernels().grad_gemm(dyg, PQ, Kg, B, rsb, rows, m, Yt, acc);
    gemm<T>(Kg, rows, m, dyg, PQ, 1, B, csb, rsb, acc, rows, 1.0);
  }
  // dw (G, Kg, rows) = acc (G groups of group_size()), transposing where needed
  void finish(const T* acc, int64_t G, T* dw) const {
    parallel_for(0, G * Kg, 16, [&](int64_t a, int64_t e) {
      for (int64_t i = a; i < e; i++) {
        const T* src = acc + i / Kg * group_size();
        for (int64_t r = 0; r < rows; r++) dw[i * rows + r] = transposed ? src[r * Kp + i % Kg] : src[i % Kg * rows + r];
      }
    });
  }
};

// Weight-gradient driver: items [0, items) split over nt threads in fixed blocks, each thread summing
// into its own zeroed accumulator of asize values with a scratch buffer of `scratch` values;
// item(it, inner, col, acc). The accumulators are added in thread order, so the result does not
// depend on scheduling. Returns the buffer whose first asize values are the sum.
template <typename T, typename F>
std::vector<T> per_thread_sums(int64_t items, int64_t nt, int64_t asize, int64_t scratch, const F& item) {
  std::vector<T> accs(nt * asize, T(0));
  parallel_for(0, nt, 1, [&](int64_t t0, int64_t t1) {
    T* col = thread_buffer<T>(scratch);
    for (int64_t t = t0; t < t1; t++)
      for (int64_t it = items * t / nt; it < items * (t + 1) / nt; it++) item(it, nt == 1, col, &accs[t * asize]);
  });
  parallel_for(0, asize, 4096, [&](int64_t a, int64_t e) {
    for (int64_t t = 1; t < nt; t++)
      for (int64_t i = a; i < e; i++) accs[i] += accs[t * asize + i];
  });
  return accs;
}

}  // namespace conv_gemm
}  // namespace pyml
