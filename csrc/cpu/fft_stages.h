// Stockham stages on SIMD-lane vectors, the core of cpu/isa/fft.cpp (which includes this file inside
// its per-ISA namespace, after the standard headers and cpu/fft.h): the vector types of the ISA, a
// complex of vectors CV = {V re; V im} (lane l = line l of a group), the 2/3/4/5/8-point butterflies
// and a direct DFT for other primes, one Stockham pass a -> b per stage, Bluestein's convolution,
// and run(), the forward transform of one group. Every function also works with V = T (one line).
// Forward sign only: inverses conjugate around run() (cpu/isa/fft.cpp).
// Included once, by cpu/isa/fft.cpp only (no include guard needed, none wanted: per-ISA copies).

#if defined(__AVX512F__)
constexpr int kBytesF = 64, kBytesD = 64;  // 32-byte float groups (half the L2 footprint) measured no faster
#elif defined(__AVX2__)
constexpr int kBytesF = 32, kBytesD = 32;
#else
constexpr int kBytesF = 16, kBytesD = 16;
#endif
typedef float VF __attribute__((vector_size(kBytesF)));
typedef double VD __attribute__((vector_size(kBytesD)));
template <typename T> struct VecOf;
template <> struct VecOf<float> { using type = VF; };
template <> struct VecOf<double> { using type = VD; };

// lane access for vector and scalar V alike
template <typename T> inline void set_lane(T& v, int, T x) { v = x; }
inline void set_lane(VF& v, int l, float x) { v[l] = x; }
inline void set_lane(VD& v, int l, double x) { v[l] = x; }
template <typename T> inline T get_lane(const T& v, int) { return v; }
inline float get_lane(const VF& v, int l) { return v[l]; }
inline double get_lane(const VD& v, int l) { return v[l]; }

typedef int32_t VI32 __attribute__((vector_size(kBytesF)));
typedef int64_t VI64 __attribute__((vector_size(kBytesD)));
template <typename T> struct MaskOf;
template <> struct MaskOf<float> { using type = VI32; };
template <> struct MaskOf<double> { using type = VI64; };

template <typename V> struct CV { V re, im; };
template <typename V> inline CV<V> operator+(CV<V> a, CV<V> b) { return {a.re + b.re, a.im + b.im}; }
template <typename V> inline CV<V> operator-(CV<V> a, CV<V> b) { return {a.re - b.re, a.im - b.im}; }
template <typename V, typename T> inline CV<V> cmul(CV<V> a, C<T> w) {
  return {a.re * w.re - a.im * w.im, a.re * w.im + a.im * w.re};
}
template <typename V, typename T> inline CV<V> scale(CV<V> a, T c) { return {a.re * c, a.im * c}; }
template <typename V> inline CV<V> cmulv(CV<V> a, CV<V> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <typename V> inline CV<V> conj(CV<V> a) { return {a.re, -a.im}; }
template <typename V> inline CV<V> mul_mi(CV<V> a) { return {a.im, -a.re}; }  // -i a
template <typename V> inline CV<V> mul_pi(CV<V> a) { return {-a.im, a.re}; }  // +i a

// ------------------------------------------------------------------ butterflies (forward sign)
template <typename V> inline void dft4(CV<V> a0, CV<V> a1, CV<V> a2, CV<V> a3, CV<V>* y) {
  CV<V> t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3, t3 = mul_mi(a1 - a3);
  y[0] = t0 + t2;
  y[1] = t1 + t3;
  y[2] = t0 - t2;
  y[3] = t1 - t3;
}

// 8 points as two 4-point DFTs (even, odd samples) joined with w8^k = exp(-pi i k / 4)
template <typename T, typename V> inline void dft8(const CV<V>* a, CV<V>* y) {
  const T h = (T)0.70710678118654752440;
  CV<V> e[4], o[4];
  dft4(a[0], a[2], a[4], a[6], e);
  dft4(a[1], a[3], a[5], a[7], o);
  CV<V> o1 = {(o[1].re + o[1].im) * h, (o[1].im - o[1].re) * h};
  CV<V> o2 = mul_mi(o[2]);
  CV<V> o3 = {(o[3].im - o[3].re) * h, -(o[3].re + o[3].im) * h};
  y[0] = e[0] + o[0];
  y[4] = e[0] - o[0];
  y[1] = e[1] + o1;
  y[5] = e[1] - o1;
  y[2] = e[2] + o2;
  y[6] = e[2] - o2;
  y[3] = e[3] + o3;
  y[7] = e[3] - o3;
}

// 3 and 5 points with the symmetric output pairs folded (y_k, y_{r-k} share their cos/sin sums)
template <typename T, typename V> inline void dft3(const CV<V>* a, CV<V>* y) {
  const T h = (T)0.86602540378443864676;  // sin(2 pi / 3)
  CV<V> t1 = a[1] + a[2], t2 = a[0] - scale(t1, (T)0.5), t3 = scale(mul_mi(a[1] - a[2]), h);
  y[0] = a[0] + t1;
  y[1] = t2 + t3;
  y[2] = t2 - t3;
}

template <typename T, typename V> inline void dft5(const CV<V>* a, CV<V>* y) {
  const T c1 = (T)0.30901699437494742410, c2 = (T)-0.80901699437494742410;  // cos(2 pi/5), cos(4 pi/5)
  const T s1 = (T)0.95105651629515357212, s2 = (T)0.58778525229247312917;   // sin(2 pi/5), sin(4 pi/5)
  CV<V> b1 = a[1] + a[4], b2 = a[2] + a[3], d1 = a[1] - a[4], d2 = a[2] - a[3];
  CV<V> r1 = a[0] + scale(b1, c1) + scale(b2, c2), r2 = a[0] + scale(b1, c2) + scale(b2, c1);
  CV<V> i1 = mul_mi(scale(d1, s1) + scale(d2, s2)), i2 = mul_mi(scale(d1, s2) - scale(d2, s1));
  y[0] = a[0] + b1 + b2;
  y[1] = r1 + i1;
  y[4] = r1 - i1;
  y[2] = r2 + i2;
  y[3] = r2 - i2;
}

// One R-point butterfly: in[j * is] -> out[k * os], times the stage twiddle w[k] when TW.
template <int R, bool TW, typename T, typename V>
inline void bfly(const CV<V>* in, int64_t is, CV<V>* out, int64_t os, const C<T>* w) {
  CV<V> a[R], y[R];
  for (int j = 0; j < R; j++) a[j] = in[j * is];
  if constexpr (R == 2) {
    y[0] = a[0] + a[1];
    y[1] = a[0] - a[1];
  } else if constexpr (R == 3) {
    dft3<T>(a, y);
  } else if constexpr (R == 4) {
    dft4(a[0], a[1], a[2], a[3], y);
  } else if constexpr (R == 5) {
    dft5<T>(a, y);
  } else {
    dft8<T>(a, y);
  }
  out[0] = y[0];
  for (int k = 1; k < R; k++) out[k * os] = TW ? cmul(y[k], w[k]) : y[k];
}

// The loops of one stage: b[q + s(rp + k)] = w_{rm}^{pk} sum_j a[q + s(p + jm)] w_r^{jk}.
// p = 0 has unit twiddles (the whole last stage, where m = 1).
template <int R, typename T, typename V> void stage_fixed(const Stage<T>& st, const CV<V>* a, CV<V>* b) {
  const int64_t s = st.s, m = st.m;
  for (int64_t q = 0; q < s; q++) bfly<R, false, T>(a + q, s * m, b + q, s, st.tw.data());
  for (int64_t p = 1; p < m; p++) {
    const C<T>* w = &st.tw[p * R];
    const CV<V>* in = a + s * p;
    CV<V>* out = b + s * R * p;
    for (int64_t q = 0; q < s; q++) bfly<R, true, T>(in + q, s * m, out + q, s, w);
  }
}

// Any other odd prime r <= kMaxRadix: a direct r-point DFT from the stage's table.
template <typename T, typename V> void stage_generic(const Stage<T>& st, const CV<V>* a, CV<V>* b) {
  const int64_t s = st.s, m = st.m, r = st.r;
  CV<V> v[fftk::kMaxRadix];
  for (int64_t p = 0; p < m; p++)
    for (int64_t q = 0; q < s; q++) {
      const CV<V>* in = a + q + s * p;
      CV<V>* out = b + q + s * r * p;
      for (int64_t j = 0; j < r; j++) v[j] = in[j * s * m];
      for (int64_t k = 0; k < r; k++) {
        CV<V> acc = v[0];
        for (int64_t j = 1; j < r; j++) acc = acc + cmul(v[j], st.dft[j * r + k]);
        out[k * s] = k ? cmul(acc, st.tw[p * r + k]) : acc;
      }
    }
}

template <typename T, typename V> void stage_pass(const Stage<T>& st, const CV<V>* a, CV<V>* b) {
  switch (st.r) {
    case 2: return stage_fixed<2, T>(st, a, b);
    case 3: return stage_fixed<3, T>(st, a, b);
    case 4: return stage_fixed<4, T>(st, a, b);
    case 5: return stage_fixed<5, T>(st, a, b);
    case 8: return stage_fixed<8, T>(st, a, b);
    default: return stage_generic<T>(st, a, b);
  }
}

template <typename T, typename V> CV<V>* run(const Plan<T>& P, CV<V>* x, CV<V>* work);

// Bluestein (chirp-z): X_k = c_k sum_j (x_j c_j) conj(c_{k-j}), c_j = exp(-pi i j^2 / n); the
// convolution is an inverse transform (conj, forward, conj) of the product with P.kernel.
template <typename T, typename V> CV<V>* bluestein(const Plan<T>& P, CV<V>* x, CV<V>* work) {
  CV<V>* A = work;
  CV<V>* B = work + P.M;
  for (int64_t j = 0; j < P.n; j++) A[j] = cmul(x[j], P.chirp[j]);
  for (int64_t j = P.n; j < P.M; j++) A[j] = CV<V>{V{}, V{}};
  CV<V>* R = run(*P.fwd, A, B);
  for (int64_t k = 0; k < P.M; k++) R[k] = conj(cmul(R[k], P.kernel[k]));
  CV<V>* S = run(*P.fwd, R, R == A ? B : A);
  for (int64_t k = 0; k < P.n; k++) x[k] = cmul(conj(S[k]), P.chirp[k]);
  return x;
}

// The forward transform of x (n entries); work holds P.work(). Returns x or work: the result.
template <typename T, typename V> CV<V>* run(const Plan<T>& P, CV<V>* x, CV<V>* work) {
  if (P.M) return bluestein(P, x, work);
  CV<V>* a = x;
  CV<V>* b = work;
  for (const Stage<T>& st : P.stages) {
    stage_pass(st, a, b);
    std::swap(a, b);
  }
  return a;
}
