// GEMM C = alpha*A@B + beta*C for float32/float64, compiled once per ISA.
// Strategy (BLIS-style): for each NC-column panel of B and KC-deep slice, pack B into NR-wide
// slivers and A into MR-tall slivers (zero-padded, so no size needs to divide anything), then
// threads share out (MC-row block x NC-column panel) tiles, each running an MR x NR register
// micro-kernel written with GCC vector extensions (width = the ISA's vector register).
// Packing reads A and B through arbitrary strides, so A.T / B.T never need a copy.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include "cpu/isa/isa.h"
#include "cpu/kernels.h"
#include "core/parallel.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64, kMRf = 12;  // 12 x 32 floats: 24 zmm accumulators of 32
#elif defined(__AVX2__)
constexpr int kVecBytes = 32, kMRf = 6;   // 6 x 16 floats: 12 ymm accumulators of 16
#else
constexpr int kVecBytes = 16, kMRf = 4;   // 4 x 8 floats: 8 xmm accumulators of 16
#endif

template <typename T> struct Cfg {
  static constexpr int W = kVecBytes / (int)sizeof(T);  // lanes per vector
  static constexpr int NV = 2;                           // vectors per micro-tile row
  static constexpr int NR = W * NV;
  static constexpr int MR = kMRf;
  static constexpr int64_t KC = 256, MC = MR * 10, NC = 3072;
  typedef T V __attribute__((vector_size(kVecBytes), aligned(kVecBytes)));
};

template <typename T>
void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rsc,
                  int64_t csc, T alpha, T beta, int mr, int nr) {
  using C = Cfg<T>;
  using V = typename C::V;
  V acc[C::MR][C::NV];
  for (int i = 0; i < C::MR; i++)
    for (int j = 0; j < C::NV; j++) acc[i][j] = V{} ;
  for (int64_t k = 0; k < kc; k++) {
    V bv[C::NV];
    for (int j = 0; j < C::NV; j++) bv[j] = *reinterpret_cast<const V*>(b + k * C::NR + j * C::W);
    for (int i = 0; i < C::MR; i++) {
      V av = V{} + a[k * C::MR + i];
      for (int j = 0; j < C::NV; j++) acc[i][j] += av * bv[j];
    }
  }
  if (mr == C::MR && nr == C::NR && csc == 1) {
    for (int i = 0; i < C::MR; i++)
      for (int j = 0; j < C::NV; j++) {
        T* cp = c + i * rsc + j * C::W;
        V r = acc[i][j] * alpha;
        if (beta != T(0)) {
          V old;
          std::memcpy(&old, cp, sizeof(V));
          r += old * beta;
        }
        std::memcpy(cp, &r, sizeof(V));
      }
    return;
  }
  alignas(64) T tmp[C::MR][C::NR];
  std::memcpy(tmp, acc, sizeof(tmp));
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) {
      T* cp = c + i * rsc + j * csc;
      T r = alpha * tmp[i][j];
      *cp = beta == T(0) ? r : r + beta * *cp;
    }
}

// pack rows [0, m) x cols [0, kc) of A (strides rsa, csa) into MR-tall slivers: [sliver][k][MR]
template <typename T>
void pack_a(const T* A, int64_t rsa, int64_t csa, int64_t m, int64_t kc, T* out, int64_t s0, int64_t s1) {
  constexpr int MR = Cfg<T>::MR;
  for (int64_t s = s0; s < s1; s++) {
    T* o = out + s * MR * kc;
    int64_t r0 = s * MR, rows = std::min<int64_t>(MR, m - r0);
    for (int64_t k = 0; k < kc; k++) {
      const T* src = A + r0 * rsa + k * csa;
      int64_t i = 0;
      for (; i < rows; i++) o[k * MR + i] = src[i * rsa];
      for (; i < MR; i++) o[k * MR + i] = T(0);
    }
  }
}

// pack rows [0, kc) x cols [0, n) of B into NR-wide slivers: [sliver][k][NR]
template <typename T>
void pack_b(const T* B, int64_t rsb, int64_t csb, int64_t kc, int64_t n, T* out, int64_t s0, int64_t s1) {
  constexpr int NR = Cfg<T>::NR;
  for (int64_t s = s0; s < s1; s++) {
    T* o = out + s * NR * kc;
    int64_t c0 = s * NR, cols = std::min<int64_t>(NR, n - c0);
    for (int64_t k = 0; k < kc; k++) {
      const T* src = B + k * rsb + c0 * csb;
      int64_t j = 0;
      if (csb == 1) { for (; j < cols; j++) o[k * NR + j] = src[j]; }
      else { for (; j < cols; j++) o[k * NR + j] = src[j * csb]; }
      for (; j < NR; j++) o[k * NR + j] = T(0);
    }
  }
}

// Small problems: a direct loop beats packing.
template <typename T>
void gemm_small(const GemmArgs& g) {
  const T* A = static_cast<const T*>(g.A); const T* B = static_cast<const T*>(g.B);
  T* Cm = static_cast<T*>(g.C);
  for (int64_t i = 0; i < g.M; i++)
    for (int64_t j = 0; j < g.N; j++) {
      T s = 0;
      for (int64_t k = 0; k < g.K; k++) s += A[i * g.rsa + k * g.csa] * B[k * g.rsb + j * g.csb];
      T* cp = Cm + i * g.rsc + j * g.csc;
      *cp = g.beta == 0 ? T(g.alpha) * s : T(g.alpha) * s + T(g.beta) * *cp;
    }
}

template <typename T>
void gemm(const GemmArgs& g) {
  using C = Cfg<T>;
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0 || g.M * g.N * g.K <= 8 * 8 * 8) {
    if (g.K == 0) { GemmArgs z = g; z.K = 0; gemm_small<T>(z); return; }
    gemm_small<T>(g);
    return;
  }
  const T* A = static_cast<const T*>(g.A); const T* B = static_cast<const T*>(g.B);
  T* Cm = static_cast<T*>(g.C);
  int64_t ncmax = std::min<int64_t>(C::NC, g.N), kcmax = std::min<int64_t>(C::KC, g.K);
  int64_t a_slivers = (g.M + C::MR - 1) / C::MR, b_slivers_max = (ncmax + C::NR - 1) / C::NR;
  T* Ap = static_cast<T*>(std::aligned_alloc(64, ((a_slivers * C::MR * kcmax * sizeof(T)) + 63) / 64 * 64));
  T* Bp = static_cast<T*>(std::aligned_alloc(64, ((b_slivers_max * C::NR * kcmax * sizeof(T)) + 63) / 64 * 64));
  for (int64_t jc = 0; jc < g.N; jc += C::NC) {
    int64_t nc = std::min<int64_t>(C::NC, g.N - jc), b_slivers = (nc + C::NR - 1) / C::NR;
    for (int64_t pc = 0; pc < g.K; pc += C::KC) {
      int64_t kc = std::min<int64_t>(C::KC, g.K - pc);
      T beta = pc == 0 ? T(g.beta) : T(1);
      parallel_for(0, b_slivers, 4, [&](int64_t s0, int64_t s1) {
        pack_b<T>(B + pc * g.rsb + jc * g.csb, g.rsb, g.csb, kc, nc, Bp, s0, s1);
      });
      parallel_for(0, a_slivers, 4, [&](int64_t s0, int64_t s1) {
        pack_a<T>(A + pc * g.csa, g.rsa, g.csa, g.M, kc, Ap, s0, s1);
      });
      // tiles: MC-row blocks x groups of NR slivers; enough tiles to keep every thread busy
      int64_t mblocks = (g.M + C::MC - 1) / C::MC;
      int64_t ngroups = std::max<int64_t>(1, std::min<int64_t>(b_slivers, 2 * get_num_threads() / std::max<int64_t>(mblocks, 1) + 1));
      int64_t per_group = (b_slivers + ngroups - 1) / ngroups;
      parallel_for(0, mblocks * ngroups, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; t++) {
          int64_t ib = t / ngroups, jg = t % ngroups;
          int64_t i0 = ib * C::MC, i1 = std::min<int64_t>(g.M, i0 + C::MC);
          int64_t s0 = jg * per_group, s1 = std::min<int64_t>(b_slivers, s0 + per_group);
          for (int64_t s = s0; s < s1; s++) {
            int64_t j = s * C::NR, nr = std::min<int64_t>(C::NR, nc - j);
            for (int64_t i = i0; i < i1; i += C::MR) {
              int mr = (int)std::min<int64_t>(C::MR, g.M - i);
              micro_kernel<T>(kc, Ap + (i / C::MR) * C::MR * kc, Bp + s * C::NR * kc,
                              Cm + i * g.rsc + (jc + j) * g.csc, g.rsc, g.csc, T(g.alpha), beta, mr, (int)nr);
            }
          }
        }
      });
    }
  }
  std::free(Ap);
  std::free(Bp);
}

}  // namespace

void register_gemm(KernelTable& t) {
  t.sgemm = &gemm<float>;
  t.dgemm = &gemm<double>;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
