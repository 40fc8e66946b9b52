// Fused scaled dot-product attention on the CPU, flash-attention style (shapes in ops/attention.h).
// Forward: a task owns (batch matrix b, tile of kBq query rows) and streams tiles of kBk keys:
// scores = scale * Q K^T for the tile (GEMM kernel), mask, then the online softmax keeps a running
// row max m and sum l and rescales the output accumulator, so no L x S matrix ever exists; the
// task saves lse = m + log(l) per row. Backward (FlashAttention-2): P = exp(scores - lse) is
// recomputed tile by tile; dV += P^T dO, dP = dO V^T, dS = P (dP - D) with D = rowsum(dO * O),
// dK += scale dS^T Q, dQ += scale dS K. Tasks own disjoint outputs: one task per batch matrix when
// there are enough of them, else (b, key tile) tasks write dK/dV and (b, query tile) tasks write dQ
// (scores computed twice, no atomics). Rows where nothing takes part give 0 (torch's safe softmax).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>
#include "core/parallel.h"
#include "ops/attention.h"

namespace pyml {
namespace {

constexpr int64_t kBq = 64, kBk = 128;  // forward tiles: query rows x keys
constexpr int64_t kTb = 64;             // backward tiles (queries and keys)

template <typename T> void gemm(const GemmArgs& g);
template <> void gemm<float>(const GemmArgs& g) { kernels().sgemm(g); }
template <> void gemm<double>(const GemmArgs& g) { kernels().dgemm(g); }

// c (m x n, row stride ldc) = alpha * a @ b + beta * c; a (m x k), b (k x n) with any strides
template <typename T>
void mm(int64_t m, int64_t n, int64_t k, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t rsb,
        int64_t csb, T* c, int64_t ldc, double alpha, double beta) {
  gemm<T>(GemmArgs{m, n, k, a, rsa, csa, b, rsb, csb, c, ldc, 1, alpha, beta});
}

// x[i] = exp(x[i] - sub) for i < n, through the elementwise table's exp loop (vectorised per ISA
// for float32); exp(-inf) = 0 keeps masked entries out.
template <typename T>
void exp_shifted(T* x, int64_t n, T sub) {
  for (int64_t j = 0; j < n; j++) x[j] -= sub;
  char* d[2] = {reinterpret_cast<char*>(x), reinterpret_cast<char*>(x)};
  const int64_t st[2] = {sizeof(T), sizeof(T)};
  kernels().unary[(int)UnaryOp::Exp][(int)(sizeof(T) == 4 ? DType::Float32 : DType::Float64)](d, st, n, nullptr);
}

template <typename T> const T* at(const AttnOperand& o, int64_t b) {
  return static_cast<const T*>(o.data) + o.off[b];
}

// s (rows x cols, row stride ld) = scores of query rows q0.. against keys k0.. of matrix b;
// entries that do not take part (bool mask false, causal j > i) become -inf.
template <typename T>
void scores(const SdpaParams& p, int64_t b, int64_t q0, int64_t rows, int64_t k0, int64_t cols, T* s, int64_t ld) {
  mm<T>(rows, cols, p.E, at<T>(p.q, b) + q0 * p.q.rs, p.q.rs, p.q.cs, at<T>(p.k, b) + k0 * p.k.rs, p.k.cs,
        p.k.rs, s, ld, p.scale, 0.0);
  const T ninf = -std::numeric_limits<T>::infinity();
  const int64_t mcs = p.mask.cs;
  for (int64_t i = 0; i < rows; i++) {
    T* si = s + i * ld;
    if (p.mask_kind != MaskKind::None) {
      int64_t base = p.mask.off[b] + (q0 + i) * p.mask.rs + k0 * mcs;
      if (p.mask_kind == MaskKind::Bool) {
        const uint8_t* m = static_cast<const uint8_t*>(p.mask.data) + base;
        for (int64_t j = 0; j < cols; j++) si[j] = m[j * mcs] ? si[j] : ninf;
      } else {
        const T* m = static_cast<const T*>(p.mask.data) + base;
        for (int64_t j = 0; j < cols; j++) si[j] += m[j * mcs];
      }
    }
    if (p.causal)
      for (int64_t j = std::max<int64_t>(0, q0 + i + 1 - k0); j < cols; j++) si[j] = ninf;
  }
}

// One forward task: query rows q0 .. q0+kBq of matrix b. buf: the task's scratch.
template <typename T>
void forward_tile(const SdpaParams& p, int64_t b, int64_t q0, std::vector<T>& buf) {
  const int64_t rows = std::min(kBq, p.L - q0), Ev = p.Ev;
  const T ninf = -std::numeric_limits<T>::infinity();
  buf.assign(rows * kBk + rows * Ev + 2 * rows, T(0));
  T *s = buf.data(), *acc = s + rows * kBk, *m = acc + rows * Ev, *l = m + rows;
  std::fill(m, m + rows, ninf);
  const int64_t kend = p.causal ? std::min(p.S, q0 + rows) : p.S;  // later keys: masked for every row
  for (int64_t k0 = 0; k0 < kend; k0 += kBk) {
    const int64_t cols = std::min(kBk, kend - k0);
    scores<T>(p, b, q0, rows, k0, cols, s, kBk);
    for (int64_t i = 0; i < rows; i++) {
      T* si = s + i * kBk;
      T mx = m[i];
      for (int64_t j = 0; j < cols; j++) mx = std::max(mx, si[j]);
      if (mx == ninf) { std::fill(si, si + cols, T(0)); continue; }  // nothing takes part so far
      T alpha = std::exp(m[i] - mx), sum = 0;                         // m = -inf: alpha = 0
      exp_shifted<T>(si, cols, mx);
      for (int64_t j = 0; j < cols; j++) sum += si[j];
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      if (alpha != T(1)) for (int64_t e = 0; e < Ev; e++) acc[i * Ev + e] *= alpha;
    }
    mm<T>(rows, Ev, cols, s, kBk, 1, at<T>(p.v, b) + k0 * p.v.rs, p.v.rs, p.v.cs, acc, Ev, 1.0, 1.0);
  }
  T* out = static_cast<T*>(p.out) + (b * p.L + q0) * Ev;
  T* lse = static_cast<T*>(p.lse) + b * p.L + q0;
  for (int64_t i = 0; i < rows; i++) {
    T inv = l[i] > 0 ? T(1) / l[i] : T(0);
    for (int64_t e = 0; e < Ev; e++) out[i * Ev + e] = acc[i * Ev + e] * inv;
    lse[i] = l[i] > 0 ? m[i] + std::log(l[i]) : std::numeric_limits<T>::infinity();
  }
}

template <typename T>
void forward(const SdpaParams& p) {
  const int64_t nqt = (p.L + kBq - 1) / kBq;
  const int64_t work = kBq * std::max<int64_t>(p.S, 1) * (p.E + p.Ev + 1);
  parallel_for(0, p.nb * nqt, std::max<int64_t>(1, (int64_t(1) << 18) / work), [&](int64_t t0, int64_t t1) {
    std::vector<T> buf;
    for (int64_t t = t0; t < t1; t++) forward_tile<T>(p, t / nqt, (t % nqt) * kBq, buf);
  });
}

// One (query tile, key tile) block of matrix b: accumulate dq (do_q) and/or dk, dv (do_kv).
// s, dp: kTb x kTb scratch. D: rowsum(dO * O) of matrix b's rows.
template <typename T>
void backward_block(const SdpaParams& p, const T* D, int64_t b, int64_t q0, int64_t k0, bool do_q, bool do_kv,
                    T* s, T* dp) {
  const int64_t rows = std::min(kTb, p.L - q0), cols = std::min(kTb, p.S - k0);
  scores<T>(p, b, q0, rows, k0, cols, s, kTb);
  const T* lse = static_cast<const T*>(p.lse) + b * p.L + q0;
  for (int64_t i = 0; i < rows; i++) exp_shifted<T>(s + i * kTb, cols, lse[i]);  // P
  const T* dO = at<T>(p.dout, b) + q0 * p.dout.rs;
  const T* q = at<T>(p.q, b) + q0 * p.q.rs;
  const T* k = at<T>(p.k, b) + k0 * p.k.rs;
  const T* v = at<T>(p.v, b) + k0 * p.v.rs;
  if (do_kv && p.dv)
    mm<T>(cols, p.Ev, rows, s, 1, kTb, dO, p.dout.rs, p.dout.cs, static_cast<T*>(p.dv) + (b * p.S + k0) * p.Ev,
          p.Ev, 1.0, 1.0);
  bool need_ds = (do_q && p.dq) || (do_kv && p.dk);
  if (!need_ds) return;
  mm<T>(rows, cols, p.Ev, dO, p.dout.rs, p.dout.cs, v, p.v.cs, p.v.rs, dp, kTb, 1.0, 0.0);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) dp[i * kTb + j] = s[i * kTb + j] * (dp[i * kTb + j] - D[q0 + i]);  // dS
  if (do_kv && p.dk)
    mm<T>(cols, p.E, rows, dp, 1, kTb, q, p.q.rs, p.q.cs, static_cast<T*>(p.dk) + (b * p.S + k0) * p.E, p.E,
          p.scale, 1.0);
  if (do_q && p.dq)
    mm<T>(rows, p.E, cols, dp, kTb, 1, k, p.k.rs, p.k.cs, static_cast<T*>(p.dq) + (b * p.L + q0) * p.E, p.E,
          p.scale, 1.0);
}

template <typename T>
void backward(const SdpaParams& p) {
  const int64_t L = p.L, Ev = p.Ev, nqt = (L + kTb - 1) / kTb, nkt = (p.S + kTb - 1) / kTb;
  std::vector<T> D(p.nb * L);  // rowsum(dO * O)
  parallel_for(0, p.nb * L, std::max<int64_t>(1, 8192 / std::max<int64_t>(Ev, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* dO = at<T>(p.dout, r / L) + (r % L) * p.dout.rs;
      const T* o = static_cast<const T*>(p.out) + r * Ev;
      T acc = 0;
      for (int64_t e = 0; e < Ev; e++) acc += dO[e * p.dout.cs] * o[e];
      D[r] = acc;
    }
  });
  // blocks qt in [qa, qb) x kt in [ka, kb) of matrix b, skipping blocks the causal mask empties
  auto run = [&](int64_t b, int64_t qa, int64_t qb, int64_t ka, int64_t kb, bool do_q, bool do_kv) {
    std::vector<T> buf(2 * kTb * kTb);
    for (int64_t kt = ka; kt < kb; kt++)
      for (int64_t qt = qa; qt < qb; qt++) {
        int64_t q0 = qt * kTb, k0 = kt * kTb;
        if (p.causal && k0 > std::min(L, q0 + kTb) - 1) continue;
        backward_block<T>(p, D.data() + b * L, b, q0, k0, do_q, do_kv, buf.data(), buf.data() + kTb * kTb);
      }
  };
  const bool want_q = p.dq != nullptr, want_kv = p.dk || p.dv;
  if (p.nb >= get_num_threads() || nqt * nkt <= 1) {
    parallel_for(0, p.nb, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) run(b, 0, nqt, 0, nkt, want_q, want_kv);
    });
    return;
  }
  if (want_kv)
    parallel_for(0, p.nb * nkt, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; t++) run(t / nkt, 0, nqt, t % nkt, t % nkt + 1, false, true);
    });
  if (want_q)
    parallel_for(0, p.nb * nqt, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; t++) run(t / nqt, t % nqt, t % nqt + 1, 0, nkt, true, false);
    });
}

}  // namespace

void sdpa_forward_cpu(const SdpaParams& p, DType dtype) {
  if (dtype == DType::Float64) forward<double>(p); else forward<float>(p);
}

void sdpa_backward_cpu(const SdpaParams& p, DType dtype) {
  if (dtype == DType::Float64) backward<double>(p); else backward<float>(p);
}

}  // namespace pyml
