// Reductions, scans, the sort family and softmax: host entries (ops/reduce.cpp, ops/sort.cpp) and
// the interface of their CPU kernels (cpu/reduce.cpp, cpu/sort.cpp).
// Geometry handed to kernels: outputs are contiguous; the input keeps its strides. Dims are
// listed innermost-first (sorted by input stride) and coalesced where memory allows, so kernels
// see few dims and a unit stride whenever the layout has one. Strides are in elements.
#pragma once
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>
#include "core/parallel.h"
#include "ops/ops.h"

namespace pyml {

using OptDims = std::optional<Shape>;  // None = all dims

// ------------------------------------------------------------------------- host entries
Tensor sum(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype);
Tensor nansum(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype);
Tensor prod(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype);
Tensor mean(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype);
Tensor nanmean(const Tensor& x, const OptDims& dims, bool keepdim, std::optional<DType> dtype);
Tensor amax(const Tensor& x, const OptDims& dims, bool keepdim);
Tensor amin(const Tensor& x, const OptDims& dims, bool keepdim);
Tensor max_all(const Tensor& x);  // max(): a 0-dim value
Tensor min_all(const Tensor& x);
std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim);  // (values, indices)
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor all(const Tensor& x, const OptDims& dims, bool keepdim);
Tensor any(const Tensor& x, const OptDims& dims, bool keepdim);
Tensor count_nonzero(const Tensor& x, const OptDims& dims);
// var (or std when take_sqrt) with divisor max(0, N - correction); second: the mean
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const OptDims& dims, double correction, bool keepdim,
                                   bool take_sqrt, const char* op);
Tensor logsumexp(const Tensor& x, const OptDims& dims, bool keepdim);
Tensor norm(const Tensor& x, double p, const OptDims& dims, bool keepdim, std::optional<DType> dtype);

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype);
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype);
std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim);
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim);
Tensor logcumsumexp(const Tensor& x, int64_t dim);
Tensor softmax(const Tensor& x, int64_t dim, std::optional<DType> dtype, bool log);
// backward of softmax/log_softmax from grad and output, along the last dim (float32/float64)
Tensor softmax_backward(const Tensor& g, const Tensor& y, int64_t dim, bool log);

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted);
std::pair<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim);
Tensor median_all(const Tensor& x, bool ignore_nan);
std::pair<Tensor, Tensor> median_dim(const Tensor& x, int64_t dim, bool keepdim, bool ignore_nan);
std::pair<Tensor, Tensor> mode(const Tensor& x, int64_t dim, bool keepdim);
// (values, inverse, counts); inverse/counts are empty tensors unless asked for
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x, bool return_inverse, bool return_counts,
                                          std::optional<int64_t> dim);
std::tuple<Tensor, Tensor, Tensor> unique_consecutive(const Tensor& x, bool return_inverse, bool return_counts,
                                                      std::optional<int64_t> dim);

// ------------------------------------------------------------------------- kernel interface
constexpr int kMaxReduceDims = 64;

// Dims walked by an odometer: sizes and two strides (input a, output b), innermost first.
struct DimIter {
  Shape size, sa, sb;
  int64_t numel() const { int64_t n = 1; for (auto s : size) n *= s; return n; }
  // f(off_a, off_b) for the flat positions [begin, end) in innermost-first order
  template <typename F> void for_each(int64_t begin, int64_t end, const F& f) const;
};

// Sort (dims by (|sa|, |sb|) ascending), drop size-1 dims, coalesce contiguous pairs.
DimIter make_dim_iter(const Shape& size, const Shape& sa, const Shape& sb);

// Unit-stride float32/float64 row kernels compiled per ISA (KernelTable::reduce_row[kind][dtype]):
// fold x[0, n) into *acc (in/out): double for the sums, the element type for Max/Min (NaN
// propagating), double[2] = {sum d, sum d^2} with d = x - c for SqDev, sum exp(x - c) for SumExp.
// Column kernels (KernelTable::reduce_cols, Sum/SumSq/SumAbs/Max/Min): acc[j] op= x[r*s0 + j]
// for r < nr, j < w, with acc as above.
enum class RowKind : int { Sum, Max, Min, SumSq, SumAbs, SqDev, SumExp, Count };
static_assert((int)RowKind::Count <= 8, "KernelTable::reduce_row has 8 slots");

enum class RedKind : int {
  Sum, Prod, Max, Min, ArgMax, ArgMin, All, Any, CountNonzero, NanSum, NanMean, SqDev, SumExp,
  NormAbs, NormSq, NormPow, NormMax, NormMin, NormZero
};

struct ReduceParams {
  RedKind kind = RedKind::Sum;
  DType dtype = DType::Float32;   // input dtype; the output dtype follows from (kind, dtype)
  const char* in = nullptr;       // input at its offset
  char* out = nullptr;            // contiguous output (values)
  int64_t* out2 = nullptr;        // contiguous indices (ArgMax/ArgMin)
  const double* aux = nullptr;    // per-output shift (SqDev: mean, SumExp: max), same layout as out
  DimIter kept;                   // kept dims: sa = input stride, sb = output stride
  DimIter red;                    // reduced dims: sa = input stride (sb unused)
  int64_t nout = 1, nred = 1;
  double scale = 1;               // Sum: 1/N for mean; SqDev: 1/max(0, N - correction)
  double p = 2;                   // NormPow order
  bool sqrt_out = false;          // SqDev on CUDA: write sqrt(var) (std); the CPU caller takes the sqrt itself
};
void reduce_cpu(const ReduceParams& p);

// Lines along one dim: n elements at input stride sin / output stride sout; the other dims in `lines`.
struct LineParams {
  DType dtype = DType::Float32;
  const char* in = nullptr;
  char* out = nullptr;            // values (same dtype as in)
  int64_t* idx = nullptr;         // indices (cummax/cummin, sort family), output strides as out
  int64_t n = 0, sin = 0, sout = 0;
  DimIter lines;                  // sa = input stride, sb = output stride
  int64_t k = 0;                  // topk/kthvalue: k; 
  bool flag = false;              // sort: descending; topk: largest; softmax: log; median: ignore NaN
  bool stable = false;
};
enum class ScanKind : int { CumSum, CumProd, CumMax, CumMin, LogCumSumExp };
void scan_cpu(ScanKind kind, const LineParams& p);   // out/idx have the input's shape
void softmax_cpu(const LineParams& p);               // out has the input's shape
void sort_cpu(const LineParams& p);                  // values and indices along the dim
void topk_cpu(const LineParams& p);                  // out dim holds k entries
void kthvalue_cpu(const LineParams& p);              // k-th smallest (1-based); out has the dim removed
void median_cpu(const LineParams& p);                // lower median; out has the dim removed
void mode_cpu(const LineParams& p);                  // most frequent (smallest on ties), last index
// x: (n,) contiguous sorted values -> groups of equal neighbours; returns the number of groups.
// values: first of each group; counts: group sizes; group: group id per element (each may be null).
int64_t unique_consecutive_cpu(DType dtype, const char* x, int64_t n, char* values, int64_t* counts,
                               int64_t* group);
// x: (n, m) contiguous rows -> `order` of the rows (sorted lexicographically and stably when
// `sorted`, else as given) and group ids per position in that order (equal neighbouring rows
// share one); returns the number of groups.
int64_t unique_rows_cpu(DType dtype, const char* x, int64_t n, int64_t m, bool sorted, int64_t* order,
                        int64_t* group);

// exp for float kernels, branch-free so loops over it vectorise: exp(x) = 2^k e^r, |r| <= ln2/2,
// Cephes polynomial (~1 ulp). Exact 0 below -87 (true value < 1.7e-38), inf above 88; NaN stays NaN.
static inline float fast_expf(float x) {
  float xc = x > 88.0f ? 88.0f : x;
  xc = xc >= -87.0f ? xc : -87.0f;  // also maps NaN to a finite value (fixed up at the end)
  float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = xc - k * 0.693359375f + k * 2.12194440e-4f;
  float y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
             1.6666665459e-1f) * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  int32_t bits = ((int32_t)k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  y *= scale;
  y = x < -87.0f ? 0.0f : y;
  y = x > 88.0f ? __builtin_inff() : y;
  return x != x ? x : y;
}

template <typename F>
void DimIter::for_each(int64_t begin, int64_t end, const F& f) const {
  int nd = (int)size.size();
  int64_t idx[kMaxReduceDims];
  int64_t oa = 0, ob = 0, r = begin;
  for (int d = 0; d < nd; d++) {
    idx[d] = r % size[d];
    r /= size[d];
    oa += idx[d] * sa[d];
    ob += idx[d] * sb[d];
  }
  for (int64_t i = begin; i < end; i++) {
    f(oa, ob);
    for (int d = 0; d < nd; d++) {
      oa += sa[d]; ob += sb[d];
      if (++idx[d] < size[d]) break;
      oa -= sa[d] * size[d]; ob -= sb[d] * size[d];
      idx[d] = 0;
    }
  }
}

// Runs f(in_off, out_off, w, lsi, lso) over all lines of p, in parallel: each call covers w lines
// at strides lsi/lso, consecutive along the innermost line dim. Up to g_outer lines are grouped
// when that dim is closer in memory than the line's own dim (kernels vectorise across lines),
// else up to g_inner (independent dependency chains for sequential kernels such as scans).
template <typename F>
void for_line_groups(const LineParams& p, int64_t g_outer, int64_t g_inner, const F& f) {
  const DimIter& L = p.lines;
  int64_t G = L.size.empty() ? 1 : (L.sa[0] < p.sin ? g_outer : g_inner);
  bool group = G > 1;
  int64_t m = group ? L.size[0] : 1, gw = group ? std::min(G, m) : 1, ng = (m + gw - 1) / gw;
  int64_t lsi = group ? L.sa[0] : 0, lso = group ? L.sb[0] : 0;
  DimIter rest = L;
  if (group) {
    rest.size.erase(rest.size.begin()); rest.sa.erase(rest.sa.begin()); rest.sb.erase(rest.sb.begin());
  }
  int64_t work = std::max<int64_t>(1, p.n * gw), grain = std::max<int64_t>(1, 32768 / work);
  if (ng == 1) {
    parallel_for(0, rest.numel(), grain, [&](int64_t b, int64_t e) {
      rest.for_each(b, e, [&](int64_t ia, int64_t ob) { f(ia, ob, gw, lsi, lso); });
    });
    return;
  }
  parallel_for(0, rest.numel() * ng, grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      int64_t g = t % ng;
      rest.for_each(t / ng, t / ng + 1, [&](int64_t ia, int64_t ob) {
        f(ia + g * gw * lsi, ob + g * gw * lso, std::min(gw, m - g * gw), lsi, lso);
      });
    }
  });
}

}  // namespace pyml
