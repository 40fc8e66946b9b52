// GEMM C = alpha*A@B + beta*C for float32/float64, compiled once per ISA. A: (M, K), B: (K, N),
// C: (M, N), each with any strides (A.T / B.T are read in place by the packing, never copied).
// Threads split C into blocks of whole tiles and each runs the serial BLIS loops on its block
// with private packing buffers: no barriers, so on a shared machine a descheduled thread delays
// only its own block. BLIS loops: B panels (KC x NC) packed in NR-wide slivers, A blocks (MC x KC)
// in MR-tall slivers, zero-padded so no size must divide a tile, then an MR x NR register
// micro-kernel in GCC vector extensions. N == 1 or M == 1 take a GEMV path (no padding to a tile).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "cpu/isa/isa.h"
#include "cpu/kernels.h"
#include "core/parallel.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64, kMRf = 12;  // 12 x 2 zmm accumulators (24 of 32 registers)
#elif defined(__AVX2__)
constexpr int kVecBytes = 32, kMRf = 6;   // 6 x 2 ymm accumulators (12 of 16 registers)
#else
constexpr int kVecBytes = 16, kMRf = 4;   // 4 x 2 xmm accumulators (8 of 16 registers)
#endif
constexpr int64_t kMinFlopsPerThread = int64_t(1) << 22;  // below: one thread (~20 us of work)

template <typename T> struct Cfg {
  static constexpr int W = kVecBytes / (int)sizeof(T);  // lanes per vector
  static constexpr int NV = 2;                           // vectors per micro-tile row
  static constexpr int NR = W * NV;
  static constexpr int MR = kMRf;
  // B sliver (KC x NR) stays in L1 while MR-slivers of the A block (MC x KC) stream from L2.
  static constexpr int64_t KC = 256, MC = MR * 10, NC = 3072;
  // A K remainder this short joins the previous slice: one pass over C fewer (K = 1025 would
  // otherwise pay a whole load and store of C for a rank-1 update).
  static constexpr int64_t KTAIL = KC / 8;
  typedef T V __attribute__((vector_size(kVecBytes), aligned(kVecBytes)));
  typedef T VU __attribute__((vector_size(kVecBytes), aligned(sizeof(T))));  // unaligned loads
};

// c (mr x nr, strides rsc, csc) = alpha * a_sliver @ b_sliver + beta * c. a: [kc][MR], b: [kc][NR].
template <typename T>
void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rsc,
                  int64_t csc, T alpha, T beta, int mr, int nr) {
  using C = Cfg<T>;
  using V = typename C::V;
  V acc[C::MR][C::NV];
  for (int i = 0; i < C::MR; i++)
    for (int j = 0; j < C::NV; j++) acc[i][j] = V{};
  for (int k = 0; k < mr; k++) __builtin_prefetch(c + k * rsc, 1);
  for (int64_t k = 0; k < kc; k++) {
    V bv[C::NV];
    for (int j = 0; j < C::NV; j++) bv[j] = *reinterpret_cast<const V*>(b + k * C::NR + j * C::W);
    for (int i = 0; i < C::MR; i++) {
      V av = a[k * C::MR + i] - V{};  // broadcast; x - 0 == x exactly, so it folds away
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

// rows [0, m) x cols [0, kc) of A into MR-tall slivers, zero-padded: out[sliver][k][MR]
template <typename T>
void pack_a(const T* A, int64_t rsa, int64_t csa, int64_t m, int64_t kc, T* out) {
  constexpr int MR = Cfg<T>::MR;
  for (int64_t r0 = 0; r0 < m; r0 += MR, out += MR * kc) {
    int64_t rows = std::min<int64_t>(MR, m - r0);
    for (int64_t k = 0; k < kc; k++) {
      const T* src = A + r0 * rsa + k * csa;
      int64_t i = 0;
      for (; i < rows; i++) out[k * MR + i] = src[i * rsa];
      for (; i < MR; i++) out[k * MR + i] = T(0);
    }
  }
}

// rows [0, kc) x cols [0, n) of B into NR-wide slivers, zero-padded: out[sliver][k][NR]
template <typename T>
void pack_b(const T* B, int64_t rsb, int64_t csb, int64_t kc, int64_t n, T* out) {
  constexpr int NR = Cfg<T>::NR;
  for (int64_t c0 = 0; c0 < n; c0 += NR, out += NR * kc) {
    int64_t cols = std::min<int64_t>(NR, n - c0);
    for (int64_t k = 0; k < kc; k++) {
      const T* src = B + k * rsb + c0 * csb;
      int64_t j = 0;
      if (csb == 1) { for (; j < cols; j++) out[k * NR + j] = src[j]; }
      else { for (; j < cols; j++) out[k * NR + j] = src[j * csb]; }
      for (; j < NR; j++) out[k * NR + j] = T(0);
    }
  }
}

// Thread-private, grow-only, 64-byte aligned packing buffers (a GEMM per call would otherwise
// pay malloc and page faults). nullptr when memory is exhausted: the caller falls back.
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t bytes) {
    if (bytes <= cap) return p;
    std::free(p);
    cap = (bytes + 4095) / 4096 * 4096;
    p = std::aligned_alloc(64, cap);
    if (!p) cap = 0;
    return p;
  }
};
thread_local Scratch t_scratch[2];

// The plain loop: tiny problems, K == 0, and the fallback when buffers can't be allocated.
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

// One thread, the whole (sub)problem. Returns false if the packing buffers can't be allocated.
template <typename T>
bool gemm_serial(const GemmArgs& g) {
  using C = Cfg<T>;
  int64_t kcmax = std::min<int64_t>(C::KC + C::KTAIL, g.K);
  int64_t ncmax = (std::min<int64_t>(C::NC, g.N) + C::NR - 1) / C::NR * C::NR;
  int64_t mcmax = (std::min<int64_t>(C::MC, g.M) + C::MR - 1) / C::MR * C::MR;
  T* Bp = static_cast<T*>(t_scratch[0].get(ncmax * kcmax * sizeof(T)));
  T* Ap = static_cast<T*>(t_scratch[1].get(mcmax * kcmax * sizeof(T)));
  if (!Ap || !Bp) return false;
  const T* A = static_cast<const T*>(g.A); const T* B = static_cast<const T*>(g.B);
  T* Cm = static_cast<T*>(g.C);
  for (int64_t jc = 0; jc < g.N; jc += C::NC) {
    int64_t nc = std::min<int64_t>(C::NC, g.N - jc);
    for (int64_t pc = 0, kc; pc < g.K; pc += kc) {
      kc = g.K - pc <= C::KC + C::KTAIL ? g.K - pc : C::KC;
      T beta = pc == 0 ? T(g.beta) : T(1);  // later K slices accumulate onto the first
      pack_b<T>(B + pc * g.rsb + jc * g.csb, g.rsb, g.csb, kc, nc, Bp);
      for (int64_t ic = 0; ic < g.M; ic += C::MC) {
        int64_t mc = std::min<int64_t>(C::MC, g.M - ic);
        pack_a<T>(A + ic * g.rsa + pc * g.csa, g.rsa, g.csa, mc, kc, Ap);
        for (int64_t jr = 0; jr < nc; jr += C::NR)
          for (int64_t ir = 0; ir < mc; ir += C::MR)
            micro_kernel<T>(kc, Ap + ir * kc, Bp + jr * kc, Cm + (ic + ir) * g.rsc + (jc + jr) * g.csc, g.rsc,
                            g.csc, T(g.alpha), beta, (int)std::min<int64_t>(C::MR, mc - ir),
                            (int)std::min<int64_t>(C::NR, nc - jr));
      }
    }
  }
  return true;
}

// sum a[i] * b[i], contiguous, in vector accumulators (a scalar loop would not vectorise)
template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  using C = Cfg<T>;
  using VU = typename C::VU;
  using V = typename C::V;
  V s[4] = {};
  int64_t i = 0;
  for (; i + 4 * C::W <= n; i += 4 * C::W)
    for (int u = 0; u < 4; u++)
      s[u] += *reinterpret_cast<const VU*>(a + i + u * C::W) * *reinterpret_cast<const VU*>(b + i + u * C::W);
  for (; i + C::W <= n; i += C::W) s[0] += *reinterpret_cast<const VU*>(a + i) * *reinterpret_cast<const VU*>(b + i);
  V v = (s[0] + s[1]) + (s[2] + s[3]);
  T r = 0;
  for (int l = 0; l < C::W; l++) r += v[l];
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

// y[i*incy] = alpha * sum_k A[i*rsa + k*csa] * x[k*incx] + beta * y[i*incy] for i < M.
// Rows contiguous: one dot per row. Otherwise column axpys into a row-block accumulator, which
// vectorises when columns are contiguous (rsa == 1: A.T, or x @ W with W row-major).
template <typename T>
void gemv(int64_t M, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* x, int64_t incx, T* y,
          int64_t incy, T alpha, T beta) {
  int64_t grain = std::max<int64_t>(16, 65536 / K);
  parallel_for(0, M, grain, [&](int64_t i0, int64_t i1) {
    if (csa == 1) {
      std::vector<T> xs;
      if (incx != 1) { xs.resize(K); for (int64_t k = 0; k < K; k++) xs[k] = x[k * incx]; }
      const T* xc = incx == 1 ? x : xs.data();
      for (int64_t i = i0; i < i1; i++) {
        T r = alpha * dot<T>(A + i * rsa, xc, K);
        y[i * incy] = beta == T(0) ? r : r + beta * y[i * incy];
      }
      return;
    }
    constexpr int64_t kBlock = 2048;  // accumulator rows kept in L1
    T acc[kBlock];
    for (int64_t b0 = i0; b0 < i1; b0 += kBlock) {
      int64_t nb = std::min(kBlock, i1 - b0);
      std::fill(acc, acc + nb, T(0));
      for (int64_t k = 0; k < K; k++) {
        const T* col = A + b0 * rsa + k * csa;
        T xk = x[k * incx];
        if (rsa == 1) { for (int64_t i = 0; i < nb; i++) acc[i] += col[i] * xk; }
        else { for (int64_t i = 0; i < nb; i++) acc[i] += col[i * rsa] * xk; }
      }
      for (int64_t i = 0; i < nb; i++) {
        T* yp = y + (b0 + i) * incy;
        *yp = beta == T(0) ? alpha * acc[i] : alpha * acc[i] + beta * *yp;
      }
    }
  });
}

template <typename T>
void gemm(const GemmArgs& g) {
  using C = Cfg<T>;
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0 || g.M * g.N * g.K <= 512) return gemm_small<T>(g);
  const T* A = static_cast<const T*>(g.A); const T* B = static_cast<const T*>(g.B);
  T* Cm = static_cast<T*>(g.C);
  T alpha = T(g.alpha), beta = T(g.beta);
  if (g.N == 1) return gemv<T>(g.M, g.K, A, g.rsa, g.csa, B, g.rsb, Cm, g.rsc, alpha, beta);
  if (g.M == 1) return gemv<T>(g.N, g.K, B, g.csb, g.rsb, A, g.csa, Cm, g.csc, alpha, beta);  // C^T = B^T A^T
  // split the side with more tiles into nt blocks of whole tiles
  int64_t mt = (g.M + C::MR - 1) / C::MR, nt_ = (g.N + C::NR - 1) / C::NR;
  bool rows = mt >= nt_;
  int64_t units = rows ? mt : nt_, unit = rows ? C::MR : C::NR;
  int64_t nt = omp_in_parallel() ? 1 : std::min<int64_t>(get_num_threads(), 2 * g.M * g.N * g.K / kMinFlopsPerThread);
  nt = std::max<int64_t>(1, std::min(nt, units));
  parallel_for(0, nt, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      int64_t lo = units * t / nt * unit, hi = std::min((units * (t + 1) / nt) * unit, rows ? g.M : g.N);
      GemmArgs s = g;
      if (rows) { s.M = hi - lo; s.A = A + lo * g.rsa; s.C = Cm + lo * g.rsc; }
      else { s.N = hi - lo; s.B = B + lo * g.csb; s.C = Cm + lo * g.csc; }
      if (s.M > 0 && s.N > 0 && !gemm_serial<T>(s)) gemm_small<T>(s);
    }
  });
}

}  // namespace

void register_gemm(KernelTable& t) {
  t.sgemm = &gemm<float>;
  t.dgemm = &gemm<double>;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
