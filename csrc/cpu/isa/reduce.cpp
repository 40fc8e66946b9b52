// Fused softmax / log_softmax along one dim of any strides, compiled per ISA.
// x, y: same logical shape; y contiguous. Per line: m = max(x) (NaN propagates), s = sum exp(x - m),
// then y = exp(x - m) / s or y = (x - m) - log(s). Three passes over x: recomputing exp in the last
// pass moves as many bytes as re-reading a stored copy, and keeps float16/bfloat16 outputs rounded
// once from float. Unit-stride lines use 8-lane loops; when the softmax dim is not innermost in
// memory, up to kGroup neighbouring lines are processed together, vectorised across lines.
#include <limits>
#include "cpu/isa/isa.h"
#include "cpu/kernels.h"
#include "ops/reduce.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {

constexpr int64_t kGroup = 64;
constexpr int kL = 8;

template <typename U> static inline U vexp(U v) {
  if constexpr (std::is_same_v<U, float>) return fast_expf(v); else return std::exp(v);
}
template <typename U> static inline U vmax(U a, U v) { return (v > a || v != v) ? v : a; }

// one unit-stride line
template <typename T> void softmax_line(const T* __restrict x, T* __restrict y, int64_t n, bool log) {
  using U = opmath_t<T>;
  U m[kL], s[kL];
  for (int l = 0; l < kL; l++) { m[l] = -std::numeric_limits<U>::infinity(); s[l] = 0; }
  int64_t nv = n / kL * kL;
  for (int64_t i = 0; i < nv; i += kL)
    for (int l = 0; l < kL; l++) m[l] = vmax(m[l], U(x[i + l]));
  for (int64_t i = nv; i < n; i++) m[0] = vmax(m[0], U(x[i]));
  U mx = m[0];
  for (int l = 1; l < kL; l++) mx = vmax(mx, m[l]);
  for (int64_t i = 0; i < nv; i += kL)
    for (int l = 0; l < kL; l++) s[l] += vexp(U(x[i + l]) - mx);
  for (int64_t i = nv; i < n; i++) s[0] += vexp(U(x[i]) - mx);
  U sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  if (log) {
    U ls = std::log(sum);
    for (int64_t i = 0; i < n; i++) y[i] = T((U(x[i]) - mx) - ls);
  } else {
    U inv = U(1) / sum;
    for (int64_t i = 0; i < n; i++) y[i] = T(vexp(U(x[i]) - mx) * inv);
  }
}

// w lines at strides (lsi, lso), dim at strides (sin, sout)
template <typename T>
void softmax_group(const T* x, T* y, int64_t n, int64_t sin, int64_t sout, int64_t w, int64_t lsi, int64_t lso,
                   bool log) {
  using U = opmath_t<T>;
  U m[kGroup], s[kGroup];
  for (int64_t j = 0; j < w; j++) { m[j] = -std::numeric_limits<U>::infinity(); s[j] = 0; }
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < w; j++) m[j] = vmax(m[j], U(x[r * sin + j * lsi]));
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < w; j++) s[j] += vexp(U(x[r * sin + j * lsi]) - m[j]);
  for (int64_t j = 0; j < w; j++) s[j] = log ? std::log(s[j]) : U(1) / s[j];
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < w; j++) {
      U d = U(x[r * sin + j * lsi]) - m[j];
      y[r * sout + j * lso] = T(log ? d - s[j] : vexp(d) * s[j]);
    }
}

template <typename T> void softmax_run(const LineParams& p) {
  const T* x = (const T*)p.in;
  T* y = (T*)p.out;
  for_line_groups(p, kGroup, [&](int64_t ia, int64_t ob, int64_t w, int64_t lsi, int64_t lso) {
    if (w == 1 && p.sin == 1 && p.sout == 1) softmax_line<T>(x + ia, y + ob, p.n, p.flag);
    else softmax_group<T>(x + ia, y + ob, p.n, p.sin, p.sout, w, lsi, lso, p.flag);
  });
}

void softmax(const LineParams& p) {
  if (p.n == 0) return;
  PYML_DISPATCH_FLOAT(p.dtype, "softmax", [&] { softmax_run<scalar_t>(p); });
}

}  // namespace

void register_reduce(KernelTable& t) { t.softmax = &softmax; }

}  // namespace PYML_ISA_NS
}  // namespace pyml
