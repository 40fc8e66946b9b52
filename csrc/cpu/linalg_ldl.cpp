// CPU kernels of the symmetric indefinite factorization A = L D L^T (linalg.ldl_factor / ldl_solve,
// ops/linalg_decomp.h) with Bunch-Kaufman pivoting, in LAPACK's sytrf format (lower), as torch returns it:
// LD holds D's 1x1 and 2x2 diagonal blocks on and next to the diagonal and L's multipliers below them;
// pivots (1-based) are k where row/column k was swapped with k for a 1x1 block, and -p on both rows of a
// 2x2 block that swapped row k + 1 with p. L = P_0 L_0 P_1 L_1 ...: earlier columns are not permuted.
// Matrices are row-major (n, n) with LD[i][j] = A(i, j) for i >= j; the strict upper triangle is zeroed.
// The unblocked algorithm (LAPACK's sytf2): same pivots as sytrf, whose panels make the same choices.
// Accumulation in the input's type (as LAPACK in float32); one matrix per call, OpenMP over the batch.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>
#include <utility>
#include "core/parallel.h"
#include "ops/linalg_decomp.h"

namespace pyml {
namespace {

template <class F> void over_batch(int64_t nb, double cost, const F& f) {
  std::atomic<bool> oom{false};
  parallel_for(0, nb, std::max<int64_t>(1, (int64_t)(65536.0 / std::max(cost, 1.0))), [&](int64_t b0, int64_t b1) {
    try { f(b0, b1); } catch (const std::bad_alloc&) { oom = true; }
  });
  if (oom) throw std::bad_alloc();
}

// Bunch-Kaufman's choice at column k: returns the pivot row kp (k: no swap) and sets kstep (1 or 2).
template <typename T> int64_t bk_pivot(const T* a, int64_t n, int64_t k, int& kstep) {
  constexpr double alpha = 0.6403882032022076;  // (1 + sqrt(17)) / 8: bounds the element growth
  kstep = 1;
  const double absakk = std::abs((double)a[k * n + k]);
  int64_t imax = k;
  double colmax = 0;
  for (int64_t i = k + 1; i < n; i++)
    if (std::abs((double)a[i * n + k]) > colmax) { colmax = std::abs((double)a[i * n + k]); imax = i; }
  if (absakk >= alpha * colmax) return k;
  double rowmax = 0;  // largest off-diagonal entry of row/column imax in the trailing matrix
  for (int64_t j = k; j < imax; j++) rowmax = std::max(rowmax, std::abs((double)a[imax * n + j]));
  for (int64_t i = imax + 1; i < n; i++) rowmax = std::max(rowmax, std::abs((double)a[i * n + imax]));
  if (absakk >= alpha * colmax * (colmax / rowmax)) return k;
  if (std::abs((double)a[imax * n + imax]) >= alpha * rowmax) return imax;
  kstep = 2;
  return imax;
}

// Symmetric swap of rows/columns kk and kp (kp > kk) in the trailing lower triangle from column k on.
template <typename T> void sym_swap(T* a, int64_t n, int64_t k, int64_t kk, int64_t kp, int kstep) {
  for (int64_t i = kp + 1; i < n; i++) std::swap(a[i * n + kk], a[i * n + kp]);
  for (int64_t j = kk + 1; j < kp; j++) std::swap(a[j * n + kk], a[kp * n + j]);
  std::swap(a[kk * n + kk], a[kp * n + kp]);
  if (kstep == 2) std::swap(a[(k + 1) * n + k], a[kp * n + k]);
}

// Eliminates with the 2x2 pivot block at k, k + 1 (its inverse written through d11, d22, d21 as sytf2).
template <typename T> void eliminate2(T* a, int64_t n, int64_t k) {
  if (k + 2 >= n) return;
  T d21 = a[(k + 1) * n + k];
  const T d11 = a[(k + 1) * n + k + 1] / d21, d22 = a[k * n + k] / d21;
  const T t = T(1) / (d11 * d22 - T(1));
  d21 = t / d21;
  for (int64_t j = k + 2; j < n; j++) {
    const T wk = d21 * (d11 * a[j * n + k] - a[j * n + k + 1]);
    const T wk1 = d21 * (d22 * a[j * n + k + 1] - a[j * n + k]);
    for (int64_t i = j; i < n; i++) a[i * n + j] = a[i * n + j] - a[i * n + k] * wk - a[i * n + k + 1] * wk1;
    a[j * n + k] = wk;
    a[j * n + k + 1] = wk1;
  }
}

template <typename T> void eliminate1(T* a, int64_t n, int64_t k) {
  const T d = T(1) / a[k * n + k];
  for (int64_t j = k + 1; j < n; j++) {
    const T tmp = -d * a[j * n + k];  // rounded as LAPACK's syr
    for (int64_t i = j; i < n; i++) a[i * n + j] += a[i * n + k] * tmp;
  }
  for (int64_t i = k + 1; i < n; i++) a[i * n + k] *= d;
}

template <typename T> int32_t ldl_one(T* a, int64_t n, int32_t* piv) {
  int32_t info = 0;
  for (int64_t k = 0; k < n;) {
    int kstep = 1;
    int64_t kp = k;
    double colmax = 0;
    for (int64_t i = k + 1; i < n; i++) colmax = std::max(colmax, std::abs((double)a[i * n + k]));
    const double akk = std::abs((double)a[k * n + k]);
    if (std::max(akk, colmax) == 0 || std::isnan(akk)) {  // a zero column: D[k][k] = 0, nothing to eliminate
      if (info == 0) info = (int32_t)(k + 1);
    } else {
      kp = bk_pivot(a, n, k, kstep);
      const int64_t kk = k + kstep - 1;
      if (kp != kk) sym_swap(a, n, k, kk, kp, kstep);
      if (kstep == 1) eliminate1(a, n, k); else eliminate2(a, n, k);
    }
    piv[k] = kstep == 1 ? (int32_t)(kp + 1) : (int32_t)-(kp + 1);
    if (kstep == 2) piv[k + 1] = piv[k];
    k += kstep;
  }
  for (int64_t i = 0; i < n; i++) std::fill(a + i * n + i + 1, a + (i + 1) * n, T(0));
  return info;
}

template <typename T> void swap_x_rows(T* x, int64_t k, int64_t r0, int64_t r1) {
  if (r0 != r1) std::swap_ranges(x + r0 * k, x + (r0 + 1) * k, x + r1 * k);
}

// x (n, k) <- D^-1 L^-1 P^T x: forward sweep of sytrs (lower).
template <typename T> void ldl_forward(const T* a, const int32_t* piv, T* x, int64_t n, int64_t k) {
  for (int64_t c = 0; c < n;) {
    const bool two = piv[c] < 0;
    const int64_t kp = (two ? -piv[c] : piv[c]) - 1, top = c + (two ? 2 : 1);
    swap_x_rows(x, k, two ? c + 1 : c, kp);
    for (int64_t i = top; i < n; i++)
      for (int64_t s = c; s < top; s++) {
        const T l = a[i * n + s];
        for (int64_t j = 0; j < k; j++) x[i * k + j] -= l * x[s * k + j];
      }
    if (!two) {
      for (int64_t j = 0; j < k; j++) x[c * k + j] /= a[c * n + c];
    } else {  // the 2x2 block [[d0, e], [e, d1]], solved as sytrs does (scaled by e)
      const T e = a[(c + 1) * n + c], d0 = a[c * n + c] / e, d1 = a[(c + 1) * n + c + 1] / e, den = d0 * d1 - T(1);
      for (int64_t j = 0; j < k; j++) {
        const T b0 = x[c * k + j] / e, b1 = x[(c + 1) * k + j] / e;
        x[c * k + j] = (d1 * b0 - b1) / den;
        x[(c + 1) * k + j] = (d0 * b1 - b0) / den;
      }
    }
    c = top;
  }
}

// x (n, k) <- P L^-T x: backward sweep of sytrs (lower).
template <typename T> void ldl_backward(const T* a, const int32_t* piv, T* x, int64_t n, int64_t k) {
  for (int64_t c = n - 1; c >= 0;) {
    const bool two = piv[c] < 0;
    const int64_t lo = two ? c - 1 : c;
    for (int64_t s = lo; s <= c; s++)
      for (int64_t i = c + 1; i < n; i++) {
        const T l = a[i * n + s];
        for (int64_t j = 0; j < k; j++) x[s * k + j] -= l * x[i * k + j];
      }
    swap_x_rows(x, k, c, (two ? -piv[c] : piv[c]) - 1);
    c = lo - 1;
  }
}

}  // namespace

void ldl_factor_cpu(DType t, void* a, int64_t nb, int64_t n, int32_t* piv, int32_t* info) {
  over_batch(nb, (double)n * n * n / 3, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++)
      info[b] = t == DType::Float64 ? ldl_one((double*)a + b * n * n, n, piv + b * n)
                                    : ldl_one((float*)a + b * n * n, n, piv + b * n);
  });
}

void ldl_solve_cpu(DType t, const void* ld, const int64_t* a_off, const int32_t* piv, const int64_t* piv_off,
                   void* x, int64_t nb, int64_t n, int64_t k) {
  over_batch(nb, 2.0 * n * n * k, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      if (t == DType::Float64) {
        ldl_forward((const double*)ld + a_off[b], piv + piv_off[b], (double*)x + b * n * k, n, k);
        ldl_backward((const double*)ld + a_off[b], piv + piv_off[b], (double*)x + b * n * k, n, k);
      } else {
        ldl_forward((const float*)ld + a_off[b], piv + piv_off[b], (float*)x + b * n * k, n, k);
        ldl_backward((const float*)ld + a_off[b], piv + piv_off[b], (float*)x + b * n * k, n, k);
      }
    }
  });
}

}  // namespace pyml
