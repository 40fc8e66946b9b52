// FFT line kernels, compiled per ISA: complex (c2c), real-input (r2c) and real-output (c2r) lines.
// Layout: a group of W lines (W = SIMD lanes of the dtype: 16/8 float/double with AVX-512, 8/4
// AVX2, 4/2 generic) is gathered into a buffer of CV = {V re; V im} entries, lane l = line l, so
// every Stockham stage (cpu/fft_stages.h) runs the scalar algorithm on whole vectors: no shuffles,
// twiddles broadcast (the way pocketfft vectorises across lines). Fewer lines than W/4 run the same
// code with V = T. Gather/scatter: contiguous lines through a W x W in-register transpose, lines
// side by side in memory (a strided dim) as plain vector loads, anything else lane by lane.
// Every transform is computed forward (exp(-2 pi i jk/n)); an inverse is conj(F(conj x)), the two
// conjugations folded into the gather and scatter. Even real lengths use the half-length complex
// transform of the packed real line and one twiddle pass (r2c: fused into the scatter; c2r: before
// the transform); odd real lengths run the full-length complex transform.
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>
#include "cpu/fft.h"
#include "cpu/isa/isa.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

using namespace fftk;  // C, Job, Kind, Plan, Stage

#include "cpu/fft_stages.h"

// ------------------------------------------------------------------ gather, scatter, real passes
// r[c][l] = r[l][c] for a W x W block of scalars: log2(W) rounds, each swapping the off-diagonal
// b x b blocks of every 2b x 2b block with two-source shuffles. The masks are constants and the
// loops unrolled, so the rows stay in registers.
template <typename T, typename V, int B, int... K> inline void transpose_round(V* r, std::integer_sequence<int, K...>) {
  constexpr int W = sizeof(V) / sizeof(T);
  using M = typename MaskOf<T>::type;
  const M lo = {((K & B) ? W + K - B : K)...}, hi = {((K & B) ? W + K : K + B)...};
#pragma GCC unroll 16
  for (int i = 0; i < W; i++)
    if (!(i & B)) {
      V a = r[i], c = r[i + B];
      r[i] = __builtin_shuffle(a, c, lo);
      r[i + B] = __builtin_shuffle(a, c, hi);
    }
}

template <typename T, typename V, int B = sizeof(V) / sizeof(T) / 2> inline void transpose(V* r) {
  transpose_round<T, V, B>(r, std::make_integer_sequence<int, sizeof(V) / sizeof(T)>{});
  if constexpr (B > 1) transpose<T, V, B / 2>(r);
}

// Contiguous interleaved lines (sj = 2, si = 1): W/2 entries of W lines are W vectors, one
// transpose makes them W/2 (re, im) lane vectors (a quarter of the scalar path's memory ops).
// Lanes past `lanes` repeat line 0; their results are never stored. Returns the entries done.
template <typename T, typename V>
int64_t gather_rows(const T* src, const int64_t* off, int lanes, bool neg, int64_t len, CV<V>* d) {
  constexpr int W = sizeof(V) / sizeof(T), E = W / 2;
  int64_t j0 = 0;
  for (; j0 + E <= len; j0 += E) {
    V r[W];
#pragma GCC unroll 16
    for (int l = 0; l < W; l++) std::memcpy(&r[l], src + off[l < lanes ? l : 0] + 2 * j0, sizeof(V));
    transpose<T, V>(r);
#pragma GCC unroll 16
    for (int e = 0; e < E; e++) d[j0 + e] = {r[2 * e], neg ? -r[2 * e + 1] : r[2 * e + 1]};
  }
  return j0;
}

template <typename T, typename V, typename F>
int64_t scatter_rows(const F& get, int64_t len, T* dst, const int64_t* off, int lanes, T sre, T sim) {
  constexpr int W = sizeof(V) / sizeof(T), E = W / 2;
  int64_t j0 = 0;
  for (; j0 + E <= len; j0 += E) {
    V r[W];
#pragma GCC unroll 16
    for (int e = 0; e < E; e++) {
      CV<V> v = get(j0 + e);
      r[2 * e] = v.re * sre;
      r[2 * e + 1] = v.im * sim;
    }
    transpose<T, V>(r);
    for (int l = 0; l < lanes; l++) std::memcpy(dst + off[l] + 2 * j0, &r[l], sizeof(V));
  }
  return j0;
}

// Lanes side by side in memory (consecutive columns of a strided dim, a whole group): entry j of
// the W lines is one run of W (re, im) pairs (u = 2, si = 1: two vectors, deinterleaved) or W
// reals (u = 1: one vector per part).
template <typename T, typename V> bool adjacent(const int64_t* off, int lanes, int64_t si) {
  constexpr int W = sizeof(V) / sizeof(T);
  const int64_t u = si == 1 ? 2 : 1;
  if (W == 1 || lanes != W) return false;
  for (int l = 1; l < W; l++)
    if (off[l] != off[0] + l * u) return false;
  return true;
}

template <typename T, typename V, int... K>
inline void deinterleave(V a, V b, V& re, V& im, std::integer_sequence<int, K...>) {
  using M = typename MaskOf<T>::type;
  re = __builtin_shuffle(a, b, M{(2 * K)...});
  im = __builtin_shuffle(a, b, M{(2 * K + 1)...});
}

template <typename T, typename V, int... K>
inline void interleave(V re, V im, V& a, V& b, std::integer_sequence<int, K...>) {
  constexpr int W = sizeof(V) / sizeof(T);
  using M = typename MaskOf<T>::type;
  a = __builtin_shuffle(re, im, M{((K & 1) ? W + K / 2 : K / 2)...});
  b = __builtin_shuffle(re, im, M{((K & 1) ? W + W / 2 + K / 2 : W / 2 + K / 2)...});
}

template <typename T, typename V>
void gather_cols(const T* p, int64_t sj, int64_t si, bool neg, int64_t len, CV<V>* d) {
  constexpr int W = sizeof(V) / sizeof(T);
  for (int64_t j = 0; j < len; j++, p += sj) {
    V a, b;
    std::memcpy(&a, p, sizeof(V));
    if (si == 1) {
      std::memcpy(&b, p + W, sizeof(V));
      deinterleave<T>(a, b, d[j].re, d[j].im, std::make_integer_sequence<int, W>{});
    } else {
      d[j].re = a;
      if (si >= 0) std::memcpy(&d[j].im, p + si, sizeof(V));
      else d[j].im = V{};
    }
    if (neg) d[j].im = -d[j].im;
  }
}

template <typename T, typename V, typename F>
void scatter_cols(const F& get, int64_t len, T* p, int64_t sj, int64_t si, T sre, T sim) {
  constexpr int W = sizeof(V) / sizeof(T);
  for (int64_t j = 0; j < len; j++, p += sj) {
    CV<V> v = get(j);
    V re = v.re * sre, im = v.im * sim;
    if (si == 1) {
      V a, b;
      interleave<T>(re, im, a, b, std::make_integer_sequence<int, W>{});
      std::memcpy(p, &a, sizeof(V));
      std::memcpy(p + W, &b, sizeof(V));
    } else {
      std::memcpy(p, &re, sizeof(V));
      if (si >= 0) std::memcpy(p + si, &im, sizeof(V));
    }
  }
}

// Line l's entry j: real part at src[off[l] + j*sj], imaginary at + si (si < 0: zero), negated
// when neg (the conjugation of an inverse). Lanes past `lanes` are zero. Blocks of 8 entries per
// line keep each line's cache lines hot while the W lines are walked.
template <typename T, typename V>
void gather(const T* src, const int64_t* off, int lanes, int64_t sj, int64_t si, bool neg, int64_t len, CV<V>* d) {
  constexpr int W = sizeof(V) / sizeof(T);
  const T sg = neg ? (T)-1 : (T)1;
  int64_t done = 0;
  if constexpr (W > 1) {
    if (adjacent<T, V>(off, lanes, si)) return gather_cols(src + off[0], sj, si, neg, len, d);
    if (sj == 2 && si == 1) done = gather_rows<T>(src, off, lanes, neg, len, d);
  }
  for (int64_t j0 = done; j0 < len; j0 += 8) {
    const int64_t j1 = std::min(len, j0 + 8);
    for (int l = 0; l < W; l++) {
      const T* p = src + (l < lanes ? off[l] : 0);
      for (int64_t j = j0; j < j1; j++) {
        set_lane(d[j].re, l, l < lanes ? p[j * sj] : (T)0);
        set_lane(d[j].im, l, l < lanes && si >= 0 ? sg * p[j * sj + si] : (T)0);
      }
    }
  }
}

// dst[off[l] + j*sj] = sre * re, dst[... + si] = sim * im (si < 0: the real part only) of the entries
// get(j), j < len (an array, or r2c's post pass computed on the way out)
template <typename T, typename V, typename F>
void scatter(const F& get, int64_t len, T* dst, const int64_t* off, int lanes, int64_t sj, int64_t si, T sre, T sim) {
  int64_t done = 0;
  if constexpr (sizeof(V) > sizeof(T)) {
    if (adjacent<T, V>(off, lanes, si)) return scatter_cols<T, V>(get, len, dst + off[0], sj, si, sre, sim);
    if (sj == 2 && si == 1) done = scatter_rows<T, V>(get, len, dst, off, lanes, sre, sim);
  }
  CV<V> v[8];
  for (int64_t j0 = done; j0 < len; j0 += 8) {
    const int64_t j1 = std::min(len, j0 + 8);
    for (int64_t j = j0; j < j1; j++) v[j - j0] = get(j);
    for (int l = 0; l < lanes; l++) {
      T* p = dst + off[l];
      for (int64_t j = j0; j < j1; j++) {
        p[j * sj] = sre * get_lane(v[j - j0].re, l);
        if (si >= 0) p[j * sj + si] = sim * get_lane(v[j - j0].im, l);
      }
    }
  }
}

template <typename T, typename V>
void scatter(const CV<V>* s, int64_t len, T* dst, const int64_t* off, int lanes, int64_t sj, int64_t si, T sre, T sim) {
  scatter<T, V>([s](int64_t j) { return s[j]; }, len, dst, off, lanes, sj, si, sre, sim);
}

// r2c, even n = 2h: Z = F_h(x[2j] + i x[2j+1]) -> X_k = (E_k - i w^k D_k) s, k <= h, with
// E = Z_k + conj Z_{h-k}, D = Z_k - conj Z_{h-k}, w = half[k] = exp(-2 pi i k / n), s = scale / 2.
// b is conj Z_{h-k}.
template <typename T, typename V> inline CV<V> post_at(CV<V> a, CV<V> b, CV<V> w, T s) {
  return scale(a + b + mul_mi(cmulv(a - b, w)), s);
}

// c2r, even n = 2h: Z_k = E_k + i O_k, E = X_k + conj X_{h-k}, O = (X_k - conj X_{h-k}) conj(w^k),
// so that the inverse h-point transform of Z is x[2j] + i x[2j+1]. Returned conjugated (the inverse
// runs forward). b is conj X_{h-k}.
template <typename V> inline CV<V> pre_at(CV<V> a, CV<V> b, CV<V> w) {
  return conj(a + b + mul_pi(cmulv(a - b, conj(w))));
}

template <typename V, typename T> inline CV<V> splat(C<T> w) { return {V{} + w.re, V{} + w.im}; }


// The imaginary parts of X_0 and X_h are ignored (torch's irfft does the same).
template <typename T, typename V> void c2r_pre(CV<V>* X, int64_t h, const C<T>* half, CV<V>* Z) {
  X[0].im = V{};
  X[h].im = V{};
  for (int64_t k = 0; k < h; k++) Z[k] = pre_at(X[k], conj(X[h - k]), splat<V>(half[k]));
}

// c2r, odd n: the full spectrum from the n/2 + 1 given bins (conjugated for the forward run)
template <typename V> void c2r_full(CV<V>* X, int64_t n, CV<V>* F) {
  F[0] = {X[0].re, V{}};
  for (int64_t k = 1; 2 * k < n + 1; k++) {
    F[k] = conj(X[k]);
    F[n - k] = X[k];
  }
}

// w_n^m, m in [0, n), from the two-level table (in double, rounded once)
template <typename T> inline C<T> tw_at(const fftk::Twiddle& tw, int64_t m) {
  C<double> a = tw.hi[m >> tw.shift], b = tw.lo[m & ((int64_t(1) << tw.shift) - 1)];
  return {(T)(a.re * b.re - a.im * b.im), (T)(a.re * b.im + a.im * b.re)};
}

template <typename T, typename V>
inline CV<V> lane_twiddle(const fftk::Twiddle& tw, const int64_t* col, int lanes, int64_t k) {
  constexpr int W = sizeof(V) / sizeof(T);
  CV<V> w;
  for (int l = 0; l < W; l++) {
    C<T> c = tw_at<T>(tw, col[l < lanes ? l : 0] * k);  // col < n2, k < n1: below n
    set_lane(w.re, l, c.re);
    set_lane(w.im, l, c.im);
  }
  return w;
}

// The four-step twiddle: entry k of lane l times w_n^(col_l k), as w^(col (k0 + b)) = w^(col k0) w^(col b)
// over blocks of 32 entries, so table look-ups are 2 per lane per 32 entries.
template <typename T, typename V>
void line_twiddle(CV<V>* x, int64_t len, const int64_t* col, int lanes, const fftk::Twiddle& tw) {
  constexpr int64_t B = 32;
  CV<V> step[B];
  for (int64_t b = 0; b < B && b < len; b++) step[b] = lane_twiddle<T, V>(tw, col, lanes, b);
  for (int64_t k0 = 0; k0 < len; k0 += B) {
    CV<V> a = lane_twiddle<T, V>(tw, col, lanes, k0);
    for (int64_t b = 0; b < B && k0 + b < len; b++) x[k0 + b] = cmulv(x[k0 + b], cmulv(a, step[b]));
  }
}

// One group of `lanes` lines starting at line l0. A holds max(n, lens) + 1, B max(work, lens) + 1.
template <typename T, typename V> void run_group(const Job<T>& J, int64_t l0, int lanes, CV<V>* A, CV<V>* B) {
  constexpr int W = sizeof(V) / sizeof(T);
  int64_t oi[W] = {}, oo[W] = {}, col[W] = {};
  const int64_t ii = J.in_inner, io = J.out_inner, h = J.n / 2;
  for (int l = 0; l < lanes; l++) {
    int64_t line = l0 + l;
    col[l] = line % ii;
    oi[l] = line / ii * J.in_len * ii + col[l];
    oo[l] = line / io * J.out_len * io + line % io;
  }
  const T* src = static_cast<const T*>(J.in);
  T* dst = static_cast<T*>(J.out);
  const T sc = (T)J.scale;
  if (J.kind == Kind::C2C) {
    for (int l = 0; l < lanes; l++) oi[l] *= 2, oo[l] *= 2;
    gather(src, oi, lanes, 2 * ii, 1, J.conj_in, J.n, A);
    CV<V>* R = run(*J.plan, A, B);
    if (J.tw) line_twiddle<T>(R, J.n, col, lanes, *J.tw);
    scatter(R, J.n, dst, oo, lanes, 2 * io, 1, sc, J.conj_out ? -sc : sc);
  } else if (J.kind == Kind::R2C) {
    for (int l = 0; l < lanes; l++) oo[l] *= 2;
    if (J.half) {
      gather(src, oi, lanes, 2 * ii, ii, false, h, A);
      const CV<V>* Z = run(*J.plan, A, B);
      const C<T>* w = J.half;
      auto post = [Z, h, w](int64_t k) {
        return post_at(Z[k == h ? 0 : k], conj(Z[k == 0 ? 0 : h - k]), splat<V>(w[k]), (T)0.5);
      };
      scatter<T, V>(post, h + 1, dst, oo, lanes, 2 * io, 1, sc, sc);
    } else {
      gather(src, oi, lanes, ii, -1, false, J.n, A);
      scatter(run(*J.plan, A, B), h + 1, dst, oo, lanes, 2 * io, 1, sc, sc);
    }
  } else {
    for (int l = 0; l < lanes; l++) oi[l] *= 2;
    gather(src, oi, lanes, 2 * ii, 1, false, h + 1, B);
    if (J.half) {
      c2r_pre(B, h, J.half, A);
      scatter(run(*J.plan, A, B), h, dst, oo, lanes, 2 * io, io, sc, -sc);
    } else {
      c2r_full(B, J.n, A);
      scatter(run(*J.plan, A, B), J.n, dst, oo, lanes, io, -1, sc, sc);
    }
  }
}

// ------------------------------------------------------------------ real passes along one long line
// (the four-step real transforms, cpu/fft.cpp): W consecutive bins per step, the partner bins h - k
// loaded as one vector with its lanes reversed.
template <typename T, typename V, int... K> inline V reversed(V v, std::integer_sequence<int, K...>) {
  using M = typename MaskOf<T>::type;
  return __builtin_shuffle(v, M{(int)(sizeof...(K) - 1 - K)...});
}

// W consecutive complex values from p (lanes reversed when rev), and back
template <typename T, typename V> inline CV<V> load_c(const C<T>* p, bool rev) {
  constexpr int W = sizeof(V) / sizeof(T);
  V a, b;
  CV<V> x;
  std::memcpy(&a, p, sizeof(V));
  std::memcpy(&b, reinterpret_cast<const T*>(p) + W, sizeof(V));
  deinterleave<T>(a, b, x.re, x.im, std::make_integer_sequence<int, W>{});
  if (rev) {
    x.re = reversed<T>(x.re, std::make_integer_sequence<int, W>{});
    x.im = reversed<T>(x.im, std::make_integer_sequence<int, W>{});
  }
  return x;
}

template <typename T, typename V> inline void store_c(C<T>* p, CV<V> x) {
  constexpr int W = sizeof(V) / sizeof(T);
  V a, b;
  interleave<T>(x.re, x.im, a, b, std::make_integer_sequence<int, W>{});
  std::memcpy(p, &a, sizeof(V));
  std::memcpy(reinterpret_cast<T*>(p) + W, &b, sizeof(V));
}

template <typename T> inline CV<T> cv(C<T> z) { return {z.re, z.im}; }

// X[k], k in [k0, k1) within [0, h]: the r2c post pass of Z (h values), times sc
template <typename T>
void post_line(const C<T>* Z, int64_t h, const C<T>* half, T sc, C<T>* X, int64_t k0, int64_t k1) {
  using V = typename VecOf<T>::type;
  constexpr int W = sizeof(V) / sizeof(T);
  const T s = sc * (T)0.5;
  auto one = [&](int64_t k) {
    CV<T> r = post_at(cv(Z[k == h ? 0 : k]), conj(cv(Z[k == 0 ? 0 : h - k])), cv(half[k]), s);
    X[k] = {r.re, r.im};
  };
  int64_t k = k0;
  for (; k < k1 && k < 1; k++) one(k);
  for (; k + W <= k1 && k + W <= h; k += W)  // bins k.. and partners h-k.. all within [1, h - 1]
    store_c<T>(X + k, post_at(load_c<T, V>(Z + k, false), conj(load_c<T, V>(Z + h - k - W + 1, true)),
                              load_c<T, V>(half + k, false), s));
  for (; k < k1; k++) one(k);
}

// Z[k], k in [k0, k1) within [0, h): the c2r pre pass of X (h + 1 bins), conjugated
template <typename T> void pre_line(const C<T>* X, int64_t h, const C<T>* half, C<T>* Z, int64_t k0, int64_t k1) {
  using V = typename VecOf<T>::type;
  constexpr int W = sizeof(V) / sizeof(T);
  auto one = [&](int64_t k) {
    CV<T> a = cv(X[k]), b = conj(cv(X[h - k]));
    if (k == 0) a.im = b.im = 0;  // bins 0 and h: imaginary parts ignored
    CV<T> r = pre_at(a, b, cv(half[k]));
    Z[k] = {r.re, r.im};
  };
  int64_t k = k0;
  for (; k < k1 && k < 1; k++) one(k);
  for (; k + W <= k1 && k + W <= h; k += W)
    store_c<T>(Z + k, pre_at(load_c<T, V>(X + k, false), conj(load_c<T, V>(X + h - k - W + 1, true)),
                             load_c<T, V>(half + k, false)));
  for (; k < k1; k++) one(k);
}

// Scratch: a per-thread buffer that only grows, up to kKeepBytes (a fresh zeroed 1 MB per call cost
// page faults and a memset comparable to a whole 4096-point batch); larger requests are allocated
// per call and freed, so one huge transform does not pin its buffers to every thread.
constexpr size_t kKeepBytes = size_t(16) << 20;

struct Scratch {
  std::unique_ptr<char[]> own;
  char* get(size_t bytes) {
    static thread_local std::vector<char> buf;
    char* p;
    if (bytes + 64 > kKeepBytes) {
      own.reset(new char[bytes + 64]);
      p = own.get();
    } else {
      if (buf.size() < bytes + 64) buf = std::vector<char>(bytes + 64);
      p = buf.data();
    }
    return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64;
  }
};

template <typename T, typename V> int64_t group_entries(const Job<T>& J, int64_t* na) {
  const int64_t lens = std::max(J.in_len, J.out_len) + 1;
  *na = std::max(J.plan->n + 1, lens);
  return *na + std::max(J.plan->work() + 1, lens);
}

template <typename T, typename V> void run_lines(const Job<T>& J, int64_t l0, int64_t l1) {
  constexpr int W = sizeof(V) / sizeof(T);
  int64_t na, total = group_entries<T, V>(J, &na);
  Scratch scratch;
  CV<V>* A = reinterpret_cast<CV<V>*>(scratch.get(total * sizeof(CV<V>)));
  for (int64_t l = l0; l < l1; l += W) run_group<T, V>(J, l, (int)std::min<int64_t>(W, l1 - l), A, A + na);
}

// Whole SIMD groups; a remainder of at least W/4 lines is one zero-padded group, a smaller one
// runs line by line (V = T), as do lines too long for a group's buffers to stay within kKeepBytes
// (W times the memory of one line, out of cache anyway).
template <typename T> void run_range(const Job<T>& J, int64_t l0, int64_t l1) {
  using V = typename VecOf<T>::type;
  constexpr int W = sizeof(V) / sizeof(T);
  int64_t na, rest = (l1 - l0) % W;
  if (group_entries<T, V>(J, &na) * sizeof(CV<V>) > kKeepBytes) rest = l1 - l0;
  else if (4 * rest >= W) rest = 0;
  if (l1 - rest > l0) run_lines<T, V>(J, l0, l1 - rest);
  if (rest) run_lines<T, T>(J, l1 - rest, l1);
}

}  // namespace

const fftk::Kernels& fft_kernels() {
  static const fftk::Kernels k{kBytesF / 4,         kBytesD / 8,         &run_range<float>, &run_range<double>,
                               &post_line<float>, &post_line<double>, &pre_line<float>,  &pre_line<double>};
  return k;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
