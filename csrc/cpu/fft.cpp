// 1-D complex FFTs along the middle axis of (outer, n, inner) blocks of (re, im) pairs, float/double.
// Strategy: Stockham autosort (natural order in and out, no bit reversal) over the radices 4, 2 and
// the odd primes of n, each stage one pass a -> b. Radices 2, 3, 4 and 5 have their own butterflies
// (3 and 5 fold the symmetric output pairs); any other odd prime p runs a direct p-point DFT from a
// table. Lengths with a prime factor above kMaxRadix go through Bluestein's chirp-z form (a
// power-of-two circular convolution), so every n is O(n log n). Twiddles come from exact integer
// angles, evaluated in double and rounded once. Lines run in parallel; a strided line (inner > 1)
// is gathered into a contiguous buffer.
#include <cmath>
#include <memory>
#include <vector>
#include "core/parallel.h"
#include "ops/fft.h"

namespace pyml {
namespace {

constexpr int64_t kMaxRadix = 61;  // direct DFT up to this prime, Bluestein above

template <typename T> struct C { T re, im; };
template <typename T> inline C<T> operator+(C<T> a, C<T> b) { return {a.re + b.re, a.im + b.im}; }
template <typename T> inline C<T> operator-(C<T> a, C<T> b) { return {a.re - b.re, a.im - b.im}; }
template <typename T> inline C<T> operator*(C<T> a, C<T> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
// a * (sign * i)
template <typename T> inline C<T> rot(C<T> a, int sign) { return {-sign * a.im, sign * a.re}; }
template <typename T> inline C<T> scale(C<T> a, T c) { return {a.re * c, a.im * c}; }

// The 3- and 5-point DFTs with the symmetric pairs folded (y_k and y_{r-k} share their cos and sin sums).
template <typename T> void dft3(const C<T>* a, C<T>* y, int sign) {
  const T h = (T)0.86602540378443864676;  // sin(2 pi / 3)
  C<T> t1 = a[1] + a[2], t2 = a[0] - scale(t1, (T)0.5), t3 = scale(rot(a[1] - a[2], sign), h);
  y[0] = a[0] + t1;
  y[1] = t2 + t3;
  y[2] = t2 - t3;
}

template <typename T> void dft5(const C<T>* a, C<T>* y, int sign) {
  const T c1 = (T)0.30901699437494742410, c2 = (T)-0.80901699437494742410;  // cos(2 pi/5), cos(4 pi/5)
  const T s1 = (T)0.95105651629515357212, s2 = (T)0.58778525229247312917;   // sin(2 pi/5), sin(4 pi/5)
  C<T> b1 = a[1] + a[4], b2 = a[2] + a[3], d1 = a[1] - a[4], d2 = a[2] - a[3];
  C<T> r1 = a[0] + scale(b1, c1) + scale(b2, c2), r2 = a[0] + scale(b1, c2) + scale(b2, c1);
  C<T> i1 = rot(scale(d1, s1) + scale(d2, s2), sign), i2 = rot(scale(d1, s2) - scale(d2, s1), sign);
  y[0] = a[0] + b1 + b2;
  y[1] = r1 + i1;
  y[4] = r1 - i1;
  y[2] = r2 + i2;
  y[3] = r2 - i2;
}

// exp(sign * 2 pi i * num / den), the angle reduced exactly before it is rounded
template <typename T> C<T> root(int64_t num, int64_t den, int sign) {
  double a = 2.0 * M_PI * (double)(num % den) / (double)den;
  return {(T)std::cos(a), (T)(sign * std::sin(a))};
}

// One Stockham stage: the current sub-length r*m splits into r interleaved ones; s = product of
// the radices before it. tw[p*r + k] = w_{rm}^{pk}; dft[j*r + k] = w_r^{jk} (odd radices).
template <typename T> struct Stage {
  int64_t r, s, m;
  std::vector<C<T>> tw, dft;
};

template <typename T> struct Plan {
  int64_t n = 1;
  int sign = -1;
  std::vector<Stage<T>> stages;
  int64_t M = 0;                      // Bluestein: power-of-two convolution length, else 0
  std::unique_ptr<Plan> fwd, inv;     // the two length-M transforms
  std::vector<C<T>> chirp, kernel;    // w^(j^2/2) and the transformed conj chirp (with 1/M)

  int64_t work() const { return M ? 3 * M : n; }  // scratch elements run() needs
};

template <typename T> void run(const Plan<T>& P, C<T>* x, C<T>* work);

template <typename T> void make_stages(Plan<T>& P) {
  int64_t s = 1, rest = P.n;
  for (int64_t r : fft_radices(P.n)) {
    Stage<T> st{r, s, rest / r, {}, {}};
    int64_t len = r * st.m;
    st.tw.resize(st.m * r);
    for (int64_t p = 0; p < st.m; p++)
      for (int64_t k = 0; k < r; k++) st.tw[p * r + k] = root<T>(p * k, len, P.sign);
    if (r > 5) {
      st.dft.resize(r * r);
      for (int64_t j = 0; j < r; j++)
        for (int64_t k = 0; k < r; k++) st.dft[j * r + k] = root<T>(j * k, r, P.sign);
    }
    P.stages.push_back(std::move(st));
    s *= r;
    rest /= r;
  }
}

template <typename T> std::unique_ptr<Plan<T>> make_plan(int64_t n, int sign) {
  auto P = std::make_unique<Plan<T>>();
  P->n = n;
  P->sign = sign;
  std::vector<int64_t> f = fft_radices(n);
  if (f.empty() || f.back() <= kMaxRadix) {
    make_stages(*P);
    return P;
  }
  int64_t M = 1;
  while (M < 2 * n - 1) M *= 2;
  P->M = M;
  P->fwd = make_plan<T>(M, -1);
  P->inv = make_plan<T>(M, 1);
  P->chirp.resize(n);  // w_j = exp(sign * pi i j^2 / n) = root(j^2 mod 2n, 2n)
  for (int64_t j = 0; j < n; j++) P->chirp[j] = root<T>((j * j) % (2 * n), 2 * n, sign);
  std::vector<C<T>> b(M, C<T>{0, 0}), scratch(P->fwd->work());
  for (int64_t j = 0; j < n; j++) {
    C<T> c{P->chirp[j].re / (T)M, -P->chirp[j].im / (T)M};  // conj(w_j) / M
    b[j] = c;
    if (j) b[M - j] = c;
  }
  run(*P->fwd, b.data(), scratch.data());
  P->kernel = std::move(b);
  return P;
}

// The loops of one stage around a butterfly f(in, in stride, out, out stride, twiddles of this p),
// so the radix is chosen once per stage, not per butterfly.
template <typename T, typename F> void stage_loops(const Stage<T>& st, const C<T>* a, C<T>* b, const F& f) {
  const int64_t s = st.s, m = st.m, r = st.r;
  for (int64_t p = 0; p < m; p++)
    for (int64_t q = 0; q < s; q++) f(a + q + s * p, s * m, b + q + s * r * p, s, &st.tw[p * r]);
}

template <typename T> void stage_pass(const Stage<T>& st, int sign, const C<T>* a, C<T>* b) {
  using P = const C<T>*;
  const int64_t r = st.r;
  if (r == 2) return stage_loops(st, a, b, [](P in, int64_t is, C<T>* out, int64_t os, P w) {
    C<T> a0 = in[0], a1 = in[is];
    out[0] = a0 + a1;
    out[os] = (a0 - a1) * w[1];
  });
  if (r == 4) return stage_loops(st, a, b, [sign](P in, int64_t is, C<T>* out, int64_t os, P w) {
    C<T> a0 = in[0], a1 = in[is], a2 = in[2 * is], a3 = in[3 * is];
    C<T> t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3, t3 = rot(a1 - a3, sign);
    out[0] = t0 + t2;
    out[os] = (t1 + t3) * w[1];
    out[2 * os] = (t0 - t2) * w[2];
    out[3 * os] = (t1 - t3) * w[3];
  });
  if (r == 3 || r == 5) return stage_loops(st, a, b, [sign, r](P in, int64_t is, C<T>* out, int64_t os, P w) {
    C<T> v[5], y[5];
    for (int64_t j = 0; j < r; j++) v[j] = in[j * is];
    if (r == 3) dft3(v, y, sign);
    else dft5(v, y, sign);
    out[0] = y[0];
    for (int64_t k = 1; k < r; k++) out[k * os] = y[k] * w[k];
  });
  stage_loops(st, a, b, [&st, r](P in, int64_t is, C<T>* out, int64_t os, P w) {
    C<T> v[kMaxRadix];
    for (int64_t j = 0; j < r; j++) v[j] = in[j * is];
    for (int64_t k = 0; k < r; k++) {
      C<T> acc = v[0];
      for (int64_t j = 1; j < r; j++) acc = acc + v[j] * st.dft[j * r + k];
      out[k * os] = k ? acc * w[k] : acc;
    }
  });
}

template <typename T> void bluestein(const Plan<T>& P, C<T>* x, C<T>* work) {
  C<T>* A = work;  // M values, then the inner transforms' scratch
  for (int64_t j = 0; j < P.n; j++) A[j] = x[j] * P.chirp[j];
  for (int64_t j = P.n; j < P.M; j++) A[j] = {0, 0};
  run(*P.fwd, A, work + P.M);
  for (int64_t k = 0; k < P.M; k++) A[k] = A[k] * P.kernel[k];
  run(*P.inv, A, work + P.M);
  for (int64_t k = 0; k < P.n; k++) x[k] = A[k] * P.chirp[k];
}

// In place on x (n values); work holds P.work() values.
template <typename T> void run(const Plan<T>& P, C<T>* x, C<T>* work) {
  if (P.M) return bluestein(P, x, work);
  C<T>* a = x;
  C<T>* b = work;
  for (const Stage<T>& st : P.stages) {
    stage_pass(st, P.sign, a, b);
    std::swap(a, b);
  }
  if (a != x) std::copy(a, a + P.n, x);
}

template <typename T>
void fft_lines(C<T>* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale) {
  std::unique_ptr<Plan<T>> P = make_plan<T>(n, inverse ? 1 : -1);
  const T sc = (T)scale;
  int64_t grain = std::max<int64_t>(1, 8192 / n);
  parallel_for(0, outer * inner, grain, [&](int64_t begin, int64_t end) {
    std::vector<C<T>> line(inner > 1 ? n : 0), work(P->work());
    for (int64_t l = begin; l < end; l++) {
      C<T>* base = data + (l / inner) * n * inner + l % inner;
      C<T>* x = inner > 1 ? line.data() : base;
      if (inner > 1)
        for (int64_t j = 0; j < n; j++) x[j] = base[j * inner];
      run(*P, x, work.data());
      if (inner > 1 || scale != 1.0)
        for (int64_t j = 0; j < n; j++) base[j * inner] = {x[j].re * sc, x[j].im * sc};
    }
  });
}

}  // namespace

void fft_lines_cpu(DType real, void* data, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale) {
  if (real == DType::Float64) fft_lines(static_cast<C<double>*>(data), outer, n, inner, inverse, scale);
  else fft_lines(static_cast<C<float>*>(data), outer, n, inner, inverse, scale);
}

}  // namespace pyml
