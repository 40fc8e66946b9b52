// FFT driver: plans (built once per length, cached) and threading; the line kernels are per ISA
// (cpu/isa/fft.cpp, SIMD across groups of lines). Plans: Stockham autosort (natural order in and
// out) over the radices 8, 4, 2 and the odd primes of n; lengths with a prime factor above
// kMaxRadix go through Bluestein's chirp-z form (a 2-3-5-smooth circular convolution), so every n
// is O(n log n). Twiddles come from exact integer angles, evaluated in double and rounded once.
// Long contiguous lines (n >= 16384; n/2 for even real ones) run as four steps: columns, a twiddle,
// rows stored transposed.
// Data: (outer, len, inner) blocks, contiguous; threads take whole SIMD groups of lines, or single
// lines when there are fewer groups than threads.
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include "core/parallel.h"
#include "cpu/fft.h"
#include "cpu/kernels.h"
#include "ops/fft.h"

namespace pyml {
namespace {

using namespace fftk;  // C, Job, Kind, Plan, Stage

const fftk::Kernels& fft_isa() {
  static const fftk::Kernels* const k[3] = {&isa_generic::fft_kernels(), &isa_avx2::fft_kernels(),
                                            &isa_avx512::fft_kernels()};
  return *k[cpu_isa_index()];
}
template <typename T> void run_isa(const Job<T>& J, int64_t l0, int64_t l1);
template <> void run_isa(const Job<float>& J, int64_t l0, int64_t l1) { fft_isa().run_f32(J, l0, l1); }
template <> void run_isa(const Job<double>& J, int64_t l0, int64_t l1) { fft_isa().run_f64(J, l0, l1); }
template <typename T> int lanes() { return sizeof(T) == 4 ? fft_isa().lanes_f32 : fft_isa().lanes_f64; }
void post_isa(const C<float>* Z, int64_t h, const C<float>* w, double s, C<float>* X, int64_t k0, int64_t k1) {
  fft_isa().post_f32(Z, h, w, (float)s, X, k0, k1);
}
void post_isa(const C<double>* Z, int64_t h, const C<double>* w, double s, C<double>* X, int64_t k0, int64_t k1) {
  fft_isa().post_f64(Z, h, w, s, X, k0, k1);
}
void pre_isa(const C<float>* X, int64_t h, const C<float>* w, C<float>* Z, int64_t k0, int64_t k1) {
  fft_isa().pre_f32(X, h, w, Z, k0, k1);
}
void pre_isa(const C<double>* X, int64_t h, const C<double>* w, C<double>* Z, int64_t k0, int64_t k1) {
  fft_isa().pre_f64(X, h, w, Z, k0, k1);
}

// exp(-2 pi i * num / den), the angle reduced exactly before it is rounded
template <typename T> C<T> root(int64_t num, int64_t den) {
  double a = 2.0 * M_PI * (double)(num % den) / (double)den;
  return {(T)std::cos(a), (T)-std::sin(a)};
}

// The CPU's radices: 8s first (fewest passes over the data), then 4, 2 and the odd primes.
std::vector<int64_t> cpu_radices(int64_t n) {
  std::vector<int64_t> f;
  for (; n % 8 == 0; n /= 8) f.push_back(8);
  for (; n % 4 == 0; n /= 4) f.push_back(4);
  for (; n % 2 == 0; n /= 2) f.push_back(2);
  for (int64_t p : fft_radices(n)) f.push_back(p);
  return f;
}

template <typename T> void make_stages(Plan<T>& P) {
  int64_t s = 1, rest = P.n;
  for (int64_t r : cpu_radices(P.n)) {
    Stage<T> st{r, s, rest / r, {}, {}};
    st.tw.resize(st.m * r);
    for (int64_t p = 0; p < st.m; p++)
      for (int64_t k = 0; k < r; k++) st.tw[p * r + k] = root<T>(p * k, r * st.m);
    if (r != 2 && r != 3 && r != 4 && r != 5 && r != 8) {
      st.dft.resize(r * r);
      for (int64_t j = 0; j < r; j++)
        for (int64_t k = 0; k < r; k++) st.dft[j * r + k] = root<T>(j * k, r);
    }
    P.stages.push_back(std::move(st));
    s *= r;
    rest /= r;
  }
}

bool smooth(int64_t m) {
  for (int64_t p : {2, 3, 5})
    while (m % p == 0) m /= p;
  return m == 1;
}

// Long lines run as four steps (cpu/fft.h) when n splits into two factors of at least 64: each
// pass's SIMD group then works on 2 x 16 x sqrt(n) values in cache instead of 2 x n out of it.
constexpr int64_t kFourStepMin = 16384;

template <typename T> std::unique_ptr<Plan<T>> make_plan(int64_t n, bool four_step);

template <typename T> void make_four_step(Plan<T>& P) {
  int64_t n1 = 1;
  for (int64_t d = 2; d * d <= P.n; d++)
    if (P.n % d == 0) n1 = d;
  if (n1 < 64) return;
  P.n1 = n1;
  P.cols = make_plan<T>(n1, false);
  P.rows = make_plan<T>(P.n / n1, false);
  fftk::Twiddle& tw = P.tw;
  tw.n = P.n;
  while (int64_t(1) << (2 * tw.shift) < P.n) tw.shift++;
  const int64_t S = int64_t(1) << tw.shift;
  tw.lo.resize(S);
  tw.hi.resize(P.n / S + 1);
  for (int64_t m = 0; m < S; m++) tw.lo[m] = root<double>(m, P.n);
  for (size_t q = 0; q < tw.hi.size(); q++) tw.hi[q] = root<double>(q * S % P.n, P.n);
}

// A forward plan of n points (inverses conjugate around it).
template <typename T> std::unique_ptr<Plan<T>> make_plan(int64_t n, bool four_step) {
  auto P = std::make_unique<Plan<T>>();
  P->n = n;
  std::vector<int64_t> f = fft_radices(n);
  if (f.empty() || f.back() <= fftk::kMaxRadix) {
    make_stages(*P);
    if (four_step && n >= kFourStepMin) make_four_step(*P);
    return P;
  }
  int64_t M = 2 * n - 1;  // the smallest 2^a 3^b 5^c >= 2n - 1: often ~0.6x the next power of two
  while (!smooth(M)) M++;
  P->M = M;
  P->fwd = make_plan<T>(M, false);
  P->chirp.resize(n);  // c_j = exp(-pi i j^2 / n) = root(j^2 mod 2n, 2n)
  for (int64_t j = 0; j < n; j++) P->chirp[j] = root<T>((j * j) % (2 * n), 2 * n);
  std::vector<C<T>> b(M, C<T>{0, 0});
  for (int64_t j = 0; j < n; j++) {
    C<T> c{P->chirp[j].re / (T)M, -P->chirp[j].im / (T)M};  // conj(c_j) / M
    b[j] = c;
    if (j) b[M - j] = c;
  }
  Job<T> J;  // the kernel's transform: one line, in place
  J.plan = P->fwd.get();
  J.n = J.in_len = J.out_len = M;
  J.in = J.out = b.data();
  run_isa(J, 0, 1);
  P->kernel = std::move(b);
  return P;
}

// Cached plans and real-transform twiddles (w_n^k, k <= n/2), by length; entries in use stay alive
// through their shared_ptr when the cache is cleared.
template <typename T> struct Cache {
  std::mutex mu;
  std::map<int64_t, std::shared_ptr<const Plan<T>>> plans;
  std::map<int64_t, std::shared_ptr<const std::vector<C<T>>>> halves;
};
template <typename T> Cache<T>& cache() {
  static Cache<T> c;
  return c;
}

template <typename T> std::shared_ptr<const Plan<T>> get_plan(int64_t n) {
  Cache<T>& c = cache<T>();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.plans.find(n);
  if (it != c.plans.end()) return it->second;
  if (c.plans.size() >= 64) c.plans.clear();
  std::shared_ptr<const Plan<T>> P = make_plan<T>(n, true);
  c.plans[n] = P;
  return P;
}

template <typename T> std::shared_ptr<const std::vector<C<T>>> get_half(int64_t n) {
  Cache<T>& c = cache<T>();
  std::lock_guard<std::mutex> lock(c.mu);
  auto it = c.halves.find(n);
  if (it != c.halves.end()) return it->second;
  if (c.halves.size() >= 64) c.halves.clear();
  auto w = std::make_shared<std::vector<C<T>>>(n / 2 + 1);
  for (int64_t k = 0; k <= n / 2; k++) (*w)[k] = root<T>(k, n);
  c.halves[n] = w;
  return w;
}

// All outer * inner lines of a job: chunks of whole SIMD groups (single lines when there are fewer
// groups than threads: a few long lines) handed out dynamically, so that a thread slowed by a
// shared core does not hold the others back (64 lines are only 4 groups of 16).
template <typename T> void run_job(const Job<T>& J, int64_t lines) {
  const int nt = get_num_threads();
  int64_t W = lanes<T>(), groups = (lines + W - 1) / W;
  if (groups < nt && lines > 1) W = 1, groups = lines;
  const int64_t grain = std::max<int64_t>(1, 16384 / (J.n * W)), chunks = (groups + grain - 1) / grain;
  if (nt <= 1 || chunks <= 1 || omp_in_parallel()) return run_isa(J, 0, lines);
#pragma omp parallel for num_threads((int)std::min<int64_t>(nt, chunks)) schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; c++) run_isa(J, c * grain * W, std::min(lines, (c + 1) * grain * W));
}

// The four-step's intermediates (slot 0: between its passes, slot 1: the real transforms' complex
// line): grow-only buffers of the calling thread up to 64 MB (no page faults per call), per-call
// allocations above that.
template <typename T> C<T>* driver_buffer(int slot, int64_t count, std::unique_ptr<C<T>[]>& own) {
  static thread_local std::vector<C<T>> buf[2];
  if (count * (int64_t)sizeof(C<T>) > (int64_t(64) << 20)) {
    own.reset(new C<T>[count]);
    return own.get();
  }
  if ((int64_t)buf[slot].size() < count) buf[slot] = std::vector<C<T>>(count);
  return buf[slot].data();
}

// c2c of `outer` contiguous lines of P.n points: columns (with the twiddle) into a buffer, then rows
// stored transposed: X[k1 + n1 k2] = sum_j2 w_n2^(j2 k2) w_n^(j2 k1) sum_j1 x[j1 n2 + j2] w_n1^(j1 k1).
template <typename T>
void four_step(const Plan<T>& P, const void* in, void* out, int64_t outer, bool conj_in, bool conj_out, double scale) {
  const int64_t n1 = P.n1, n2 = P.n / n1;
  std::unique_ptr<C<T>[]> own;
  C<T>* tmp = driver_buffer<T>(0, outer * P.n, own);
  Job<T> a;  // (outer, n1, n2): n2 columns of n1 points per line
  a.plan = P.cols.get();
  a.n = a.in_len = a.out_len = n1;
  a.in = in;
  a.out = tmp;
  a.in_inner = a.out_inner = n2;
  a.conj_in = conj_in;
  a.tw = &P.tw;
  run_job(a, outer * n2);
  Job<T> b;  // (outer * n1, n2) rows -> (outer, n2, n1)
  b.plan = P.rows.get();
  b.n = b.in_len = b.out_len = n2;
  b.in = tmp;
  b.out = out;
  b.out_inner = n1;
  b.conj_out = conj_out;
  b.scale = scale;
  run_job(b, outer * n1);
}

// f(line, k0, k1) over `outer` lines of `count` bins, in chunks across threads
template <typename F> void line_chunks(int64_t outer, int64_t count, const F& f) {
  const int64_t C = 16384, per = (count + C - 1) / C, tasks = outer * per;
#pragma omp parallel for num_threads((int)std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), tasks))) \
    schedule(dynamic, 1) if (tasks > 1 && !omp_in_parallel())
  for (int64_t t = 0; t < tasks; t++) f(t / per, t % per * C, std::min(count, (t % per + 1) * C));
}

// Real transforms of long contiguous lines, n = 2h: the half-length complex transform as four steps
// on the packed line, with the post (r2c) or pre (c2r) pass as its own pass over each line.
template <typename T>
void real_four_step(Kind kind, const Plan<T>& P, const C<T>* w, const void* in, void* out, int64_t outer,
                    double scale) {
  const int64_t h = P.n;
  std::unique_ptr<C<T>[]> own;
  C<T>* Z = driver_buffer<T>(1, outer * h, own);
  if (kind == Kind::R2C) {
    four_step(P, in, Z, outer, false, false, 1.0);
    C<T>* X = static_cast<C<T>*>(out);
    line_chunks(outer, h + 1, [&](int64_t o, int64_t k0, int64_t k1) {
      post_isa(Z + o * h, h, w, scale, X + o * (h + 1), k0, k1);
    });
  } else {
    const C<T>* X = static_cast<const C<T>*>(in);
    line_chunks(outer, h, [&](int64_t o, int64_t k0, int64_t k1) {
      pre_isa(X + o * (h + 1), h, w, Z + o * h, k0, k1);
    });
    four_step(P, Z, out, outer, false, true, scale);
  }
}

template <typename T>
void lines(Kind kind, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, bool inverse, double scale) {
  const bool half = kind != Kind::C2C && n % 2 == 0;
  std::shared_ptr<const Plan<T>> P = get_plan<T>(half ? n / 2 : n);
  if (kind == Kind::C2C && P->n1 && inner == 1) return four_step(*P, in, out, outer, inverse, inverse, scale);
  std::shared_ptr<const std::vector<C<T>>> w = half ? get_half<T>(n) : nullptr;
  if (half && P->n1 && inner == 1) return real_four_step(kind, *P, w->data(), in, out, outer, scale);
  Job<T> J;
  J.kind = kind;
  J.plan = P.get();
  J.half = half ? w->data() : nullptr;
  J.n = n;
  J.in = in;
  J.out = out;
  J.in_len = kind == Kind::C2R ? n / 2 + 1 : n;
  J.out_len = kind == Kind::R2C ? n / 2 + 1 : n;
  J.in_inner = J.out_inner = inner;
  J.conj_in = J.conj_out = kind == Kind::C2C && inverse;
  J.scale = scale;
  run_job(J, outer * inner);
}

void dispatch(DType real, Kind kind, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, bool inverse,
              double scale) {
  if (real == DType::Float64) lines<double>(kind, in, out, outer, n, inner, inverse, scale);
  else lines<float>(kind, in, out, outer, n, inner, inverse, scale);
}

}  // namespace

void fft_c2c_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, bool inverse,
                 double scale) {
  dispatch(real, Kind::C2C, in, out, outer, n, inner, inverse, scale);
}

void fft_r2c_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale) {
  dispatch(real, Kind::R2C, in, out, outer, n, inner, false, scale);
}

void fft_c2r_cpu(DType real, const void* in, void* out, int64_t outer, int64_t n, int64_t inner, double scale) {
  dispatch(real, Kind::C2R, in, out, outer, n, inner, true, scale);
}

}  // namespace pyml
