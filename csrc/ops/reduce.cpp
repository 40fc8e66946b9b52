// Host entries of reductions, scans and softmax: argument checks, PyTorch's dtype rules, kernel
// geometry (ReduceParams / LineParams) and allocation. Outputs are contiguous; inputs are read in
// place whatever their strides, except where a dtype= argument asks for a cast first. Outputs are
// allocated on the input's device; CUDA inputs go to the kernels of cuda/reduce.h, which take at
// most kCudaMaxDims dims after coalescing (inputs with more dims are made contiguous first).
#include <algorithm>
#include <cmath>
#include "cpu/kernels.h"
#include "cuda/reduce.h"
#include "ops/reduce.h"

namespace pyml {

static void check_input(const Tensor& t, const char* op) {
  PYML_CHECK(t.dim() <= kMaxReduceDims, ValueError, op, ": at most ", kMaxReduceDims,
             " dims are supported, got ", t.dim());
}

static bool on_cuda(const Tensor& t) { return !t.device().is_cpu(); }

static void check_float(const Tensor& t, const char* op) {
  PYML_CHECK(is_floating(t.dtype), TypeError, op, ": expected a floating point input (or pass dtype=), got ",
             dtype_name(t.dtype));
}

DimIter make_dim_iter(const Shape& size, const Shape& sa, const Shape& sb) {
  std::vector<size_t> ord;
  for (size_t i = 0; i < size.size(); i++)
    if (size[i] != 1) ord.push_back(i);
  std::stable_sort(ord.begin(), ord.end(), [&](size_t a, size_t b) {
    return std::abs(sa[a]) != std::abs(sa[b]) ? std::abs(sa[a]) < std::abs(sa[b]) : std::abs(sb[a]) < std::abs(sb[b]);
  });
  DimIter it;
  for (size_t i : ord) {
    if (!it.size.empty() && it.sa.back() * it.size.back() == sa[i] && it.sb.back() * it.size.back() == sb[i]) {
      it.size.back() *= size[i];
      continue;
    }
    it.size.push_back(size[i]); it.sa.push_back(sa[i]); it.sb.push_back(sb[i]);
  }
  return it;
}

// ------------------------------------------------------------------------- reductions
using Mask = std::vector<bool>;

// dims -> mask over x's dims; None or an empty list reduces every dim (PyTorch's rule)
static Mask reduce_mask(const Tensor& x, const OptDims& dims, const char* op) {
  int64_t nd = x.dim();
  Mask m(nd, !dims || dims->empty());
  std::vector<bool> seen(std::max<int64_t>(nd, 1), false);
  if (dims)
    for (int64_t d : *dims) {
      int64_t w = wrap_dim(d, nd, op);
      PYML_CHECK(!seen[w], RuntimeError, op, ": dim ", w, " appears multiple times in the list of dims, got dims ",
                 *dims);
      seen[w] = true;
      if (nd) m[w] = true;
    }
  return m;
}

static int64_t reduced_numel(const Tensor& x, const Mask& m) {
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); d++) if (m[d]) n *= x.shape[d];
  return n;
}

// max/min-like ops have no identity: every reduced dim must be non-empty
static void check_nonempty(const Tensor& x, const Mask& m, bool dims_given, const char* op) {
  if (x.numel() != 0) return;
  PYML_CHECK(dims_given && x.dim() > 0, RuntimeError, op,
             ": expected reduction dim to be specified for input.numel() == 0; specify the reduction dim with "
             "the 'dim' argument, got input of shape ", x.shape);
  for (int64_t d = 0; d < x.dim(); d++)
    PYML_CHECK(!(m[d] && x.shape[d] == 0), IndexError, op, ": expected reduction dim ", d,
               " to have non-zero size, got input of shape ", x.shape);
}

static DType natural_dtype(RedKind k, DType t) {
  switch (k) {
    case RedKind::Sum: case RedKind::Prod: return is_floating(t) ? t : DType::Int64;
    case RedKind::All: case RedKind::Any: return DType::Bool;
    case RedKind::CountNonzero: return DType::Int64;
    default: return t;
  }
}

struct RedArgs {
  double scale = 1, p = 2;
  const Tensor* aux = nullptr;  // float64, contiguous, output shape
  Tensor* idx = nullptr;        // receives int64 indices (ArgMax/ArgMin)
  bool sqrt_out = false;        // CUDA SqDev only: write the std
};

// CUDA kernels take at most kCudaMaxDims kept and reduced dims: an input with more dims is copied
// with its kept dims first and reduced dims last (each group in order), so each coalesces to one.
static Tensor reduce_layout(const Tensor& x, Mask& m) {
  if (!on_cuda(x) || x.dim() <= kCudaMaxDims) return x;
  Shape perm;
  for (int64_t d = 0; d < x.dim(); d++) if (!m[d]) perm.push_back(d);
  int64_t nk = (int64_t)perm.size();
  for (int64_t d = 0; d < x.dim(); d++) if (m[d]) perm.push_back(d);
  for (int64_t d = 0; d < x.dim(); d++) m[d] = d >= nk;
  return contiguous(permute(x, perm));
}

// Runs the kernel; returns the (keepdim-shaped) output in the kernel's natural dtype.
static Tensor run_reduce(RedKind kind, const Tensor& x0, const Mask& m0, bool keepdim, const RedArgs& a = {}) {
  Shape keep;
  for (int64_t d = 0; d < x0.dim(); d++) keep.push_back(m0[d] ? 1 : x0.shape[d]);
  Mask m = m0;
  Tensor x = reduce_layout(x0, m);
  Shape ks, kin, rs, rin;
  for (int64_t d = 0; d < x.dim(); d++) {
    if (m[d]) { rs.push_back(x.shape[d]); rin.push_back(x.strides[d]); }
    else { ks.push_back(x.shape[d]); kin.push_back(x.strides[d]); }
  }
  ReduceParams p;
  p.kind = kind; p.dtype = x.dtype; p.in = x.data(); p.scale = a.scale; p.p = a.p; p.sqrt_out = a.sqrt_out;
  p.kept = make_dim_iter(ks, kin, contiguous_strides(ks));
  p.red = make_dim_iter(rs, rin, rin);
  if (p.red.size.empty()) p.red = DimIter{{1}, {0}, {0}};
  p.nout = shape_numel(ks); p.nred = shape_numel(rs);
  Tensor out = empty(ks, natural_dtype(kind, x.dtype), x.device());
  p.out = out.data();
  if (a.idx) { *a.idx = empty(ks, DType::Int64, x.device()); p.out2 = a.idx->ptr<int64_t>(); }
  if (a.aux) p.aux = a.aux->ptr<double>();
  if (on_cuda(x)) reduce_cuda(p, x.device().index);
  else reduce_cpu(p);
  if (keepdim) {
    out = reshape(out, keep);
    if (a.idx) *a.idx = reshape(*a.idx, keep);
  }
  return out;
}

static Tensor cast_if(const Tensor& x, std::optional<DType> dtype) { return dtype ? to_dtype(x, *dtype) : x; }

static Tensor sum_like(RedKind kind, const char* op, const Tensor& x0, const OptDims& dims, bool keepdim,
                       std::optional<DType> dtype) {
  check_input(x0, op);
  Tensor x = cast_if(x0, dtype);
  Mask m = reduce_mask(x, dims, op);
  if (kind == RedKind::NanSum && !is_floating(x.dtype)) kind = RedKind::Sum;
  Tensor r = run_reduce(kind, x, m, keepdim);
  return (dtype && r.dtype != *dtype) ? to_dtype(r, *dtype) : r;
}

using ODType = std::optional<DType>;
Tensor sum(const Tensor& x, const OptDims& d, bool k, ODType t) { return sum_like(RedKind::Sum, "sum", x, d, k, t); }
Tensor nansum(const Tensor& x, const OptDims& d, bool k, ODType t) {
  return sum_like(RedKind::NanSum, "nansum", x, d, k, t);
}
Tensor prod(const Tensor& x, const OptDims& d, bool k, ODType t) { return sum_like(RedKind::Prod, "prod", x, d, k, t); }

static Tensor mean_like(RedKind kind, const char* op, const Tensor& x0, const OptDims& dims, bool keepdim,
                        std::optional<DType> dtype) {
  check_input(x0, op);
  Tensor x = cast_if(x0, dtype);
  PYML_CHECK(is_floating(x.dtype), TypeError, op, ": could not infer output dtype; the input dtype must be "
             "floating point (or pass dtype=), got ", dtype_name(x.dtype));
  Mask m = reduce_mask(x, dims, op);
  RedArgs a;
  a.scale = 1.0 / double(reduced_numel(x, m));
  return run_reduce(kind, x, m, keepdim, a);
}

Tensor mean(const Tensor& x, const OptDims& d, bool k, ODType t) { return mean_like(RedKind::Sum, "mean", x, d, k, t); }
Tensor nanmean(const Tensor& x, const OptDims& d, bool k, ODType t) {
  return mean_like(RedKind::NanMean, "nanmean", x, d, k, t);
}

static Tensor extreme(RedKind kind, const char* op, const Tensor& x, const OptDims& dims, bool keepdim) {
  check_input(x, op);
  Mask m = reduce_mask(x, dims, op);
  check_nonempty(x, m, dims && !dims->empty(), op);
  return run_reduce(kind, x, m, keepdim);
}

Tensor amax(const Tensor& x, const OptDims& d, bool k) { return extreme(RedKind::Max, "amax", x, d, k); }
Tensor amin(const Tensor& x, const OptDims& d, bool k) { return extreme(RedKind::Min, "amin", x, d, k); }
Tensor max_all(const Tensor& x) { return extreme(RedKind::Max, "max", x, std::nullopt, false); }
Tensor min_all(const Tensor& x) { return extreme(RedKind::Min, "min", x, std::nullopt, false); }

static std::pair<Tensor, Tensor> arg_dim(RedKind kind, const char* op, const Tensor& x, int64_t dim, bool keepdim) {
  check_input(x, op);
  Mask m = reduce_mask(x, Shape{dim}, op);
  check_nonempty(x, m, true, op);
  Tensor idx;
  RedArgs a;
  a.idx = &idx;
  Tensor v = run_reduce(kind, x, m, keepdim, a);
  return {v, idx};
}

using Pair = std::pair<Tensor, Tensor>;
Pair max_dim(const Tensor& x, int64_t d, bool k) { return arg_dim(RedKind::ArgMax, "max", x, d, k); }
Pair min_dim(const Tensor& x, int64_t d, bool k) { return arg_dim(RedKind::ArgMin, "min", x, d, k); }

static Tensor arg_any(RedKind kind, const char* op, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  if (dim) return arg_dim(kind, op, x, *dim, keepdim).second;
  check_input(x, op);
  PYML_CHECK(x.numel() != 0, RuntimeError, op, ": expected reduction dim to be specified for input.numel() == 0, "
             "got input of shape ", x.shape);
  Tensor idx = arg_dim(kind, op, reshape(x, {-1}), 0, false).second;
  return keepdim ? reshape(idx, Shape(x.dim(), 1)) : idx;
}

Tensor argmax(const Tensor& x, std::optional<int64_t> d, bool k) { return arg_any(RedKind::ArgMax, "argmax", x, d, k); }
Tensor argmin(const Tensor& x, std::optional<int64_t> d, bool k) { return arg_any(RedKind::ArgMin, "argmin", x, d, k); }

static Tensor logic(RedKind kind, const char* op, const Tensor& x, const OptDims& dims, bool keepdim) {
  check_input(x, op);
  Tensor r = run_reduce(kind, x, reduce_mask(x, dims, op), keepdim);
  return x.dtype == DType::UInt8 ? to_dtype(r, DType::UInt8) : r;  // PyTorch keeps uint8
}

Tensor all(const Tensor& x, const OptDims& d, bool k) { return logic(RedKind::All, "all", x, d, k); }
Tensor any(const Tensor& x, const OptDims& d, bool k) { return logic(RedKind::Any, "any", x, d, k); }

Tensor count_nonzero(const Tensor& x, const OptDims& dims) {
  check_input(x, "count_nonzero");
  return run_reduce(RedKind::CountNonzero, x, reduce_mask(x, dims, "count_nonzero"), false);
}

// Two passes: the mean, then squared deviations from it (exact even if the mean is rounded).
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const OptDims& dims, double correction, bool keepdim,
                                   bool take_sqrt, const char* op) {
  check_input(x, op);
  PYML_CHECK(is_floating(x.dtype), TypeError, op, ": only floating point dtypes are supported, got ",
             dtype_name(x.dtype));
  Mask m = reduce_mask(x, dims, op);
  int64_t n = reduced_numel(x, m);
  RedArgs a;
  a.scale = 1.0 / double(n);
  Tensor mu = run_reduce(RedKind::Sum, x, m, false, a);
  Tensor aux = to_dtype(mu, DType::Float64);
  a.aux = &aux;
  a.scale = 1.0 / std::max(0.0, double(n) - correction);
  a.sqrt_out = take_sqrt && on_cuda(x);
  Tensor v = run_reduce(RedKind::SqDev, x, m, keepdim, a);
  if (take_sqrt && !on_cuda(x)) v = unary(UnaryOp::Sqrt, v);
  if (keepdim) mu = reshape(mu, v.shape);
  return {v, mu};
}

Tensor logsumexp(const Tensor& x0, const OptDims& dims, bool keepdim) {
  check_input(x0, "logsumexp");
  Tensor x = is_floating(x0.dtype) ? x0 : to_dtype(x0, default_dtype());
  Mask m = reduce_mask(x, dims, "logsumexp");
  RedArgs a;
  Tensor aux = empty({0}, DType::Float64);
  if (reduced_numel(x, m) > 0) {
    aux = to_dtype(run_reduce(RedKind::Max, x, m, false), DType::Float64, true);
    double* c = aux.ptr<double>();  // the CUDA kernel maps infinite shifts to 0 itself
    if (!on_cuda(x)) for (int64_t i = 0, n = aux.numel(); i < n; i++) c[i] = std::isinf(c[i]) ? 0.0 : c[i];
    a.aux = &aux;
  }
  return run_reduce(RedKind::SumExp, x, m, keepdim, a);  // empty slices: log(0) = -inf
}

Tensor norm(const Tensor& x0, double p, const OptDims& dims, bool keepdim, std::optional<DType> dtype) {
  check_input(x0, "norm");
  Tensor x = cast_if(x0, dtype);
  PYML_CHECK(is_floating(x.dtype), TypeError, "norm: expected a floating point input (or pass dtype=), got ",
             dtype_name(x.dtype));
  RedKind k = std::isinf(p) ? (p > 0 ? RedKind::NormMax : RedKind::NormMin)
              : p == 0 ? RedKind::NormZero : p == 1 ? RedKind::NormAbs : p == 2 ? RedKind::NormSq : RedKind::NormPow;
  Mask m = reduce_mask(x, dims, "norm");
  if (k == RedKind::NormMin) check_nonempty(x, m, dims && !dims->empty(), "norm");
  RedArgs a;
  a.p = p;
  return run_reduce(k, x, m, keepdim, a);
}

// ------------------------------------------------------------------------- scans and softmax
// Lines of x along `dim`; outputs contiguous with x's shape (out_strides per dim of x).
static LineParams line_params(const Tensor& x, int64_t dim, const Shape& out_strides) {
  LineParams p;
  p.dtype = x.dtype; p.in = x.data();
  Shape ls, li, lo;
  for (int64_t d = 0; d < x.dim(); d++) {
    if (d == dim) continue;
    ls.push_back(x.shape[d]); li.push_back(x.strides[d]); lo.push_back(out_strides[d]);
  }
  p.lines = make_dim_iter(ls, li, lo);
  p.n = x.dim() ? x.shape[dim] : 1;
  p.sin = x.dim() ? x.strides[dim] : 0;
  p.sout = x.dim() ? out_strides[dim] : 0;
  return p;
}

// CUDA kernels take at most kCudaMaxDims line dims: a contiguous input has at most two
static Tensor line_layout(const Tensor& x) { return on_cuda(x) && x.dim() > kCudaMaxDims ? contiguous(x) : x; }

static std::pair<Tensor, Tensor> scan(ScanKind kind, const char* op, const Tensor& x0, int64_t dim, bool with_idx) {
  dim = wrap_dim(dim, x0.dim(), op);
  Tensor x = line_layout(x0);
  Tensor out = empty(x.shape, x.dtype, x.device()), idx;
  LineParams p = line_params(x, dim, contiguous_strides(x.shape));
  p.out = out.data();
  if (with_idx) { idx = empty(x.shape, DType::Int64, x.device()); p.idx = idx.ptr<int64_t>(); }
  if (x.numel() && on_cuda(x)) scan_cuda(kind, p, x.device().index);
  else if (x.numel()) scan_cpu(kind, p);
  return {out, idx};
}

static Tensor sum_scan(ScanKind kind, const char* op, const Tensor& x0, int64_t dim, std::optional<DType> dtype) {
  check_input(x0, op);
  Tensor x = dtype ? to_dtype(x0, *dtype) : x0;
  if (!is_floating(x.dtype) && x.dtype != DType::Int64) x = to_dtype(x, DType::Int64);
  Tensor r = scan(kind, op, x, dim, false).first;
  return (dtype && r.dtype != *dtype) ? to_dtype(r, *dtype) : r;
}

Tensor cumsum(const Tensor& x, int64_t d, ODType t) { return sum_scan(ScanKind::CumSum, "cumsum", x, d, t); }
Tensor cumprod(const Tensor& x, int64_t d, ODType t) { return sum_scan(ScanKind::CumProd, "cumprod", x, d, t); }

std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim) {
  check_input(x, "cummax");
  return scan(ScanKind::CumMax, "cummax", x, dim, true);
}
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim) {
  check_input(x, "cummin");
  return scan(ScanKind::CumMin, "cummin", x, dim, true);
}

Tensor logcumsumexp(const Tensor& x, int64_t dim) {
  check_input(x, "logcumsumexp");
  check_float(x, "logcumsumexp");
  return scan(ScanKind::LogCumSumExp, "logcumsumexp", x, dim, false).first;
}

Tensor softmax(const Tensor& x0, int64_t dim, std::optional<DType> dtype, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_input(x0, op);
  Tensor x = cast_if(x0, dtype);
  check_float(x, op);
  dim = wrap_dim(dim, x.dim(), op);
  x = line_layout(x);
  Tensor out = empty(x.shape, x.dtype, x.device());
  LineParams p = line_params(x, dim, contiguous_strides(x.shape));
  p.out = out.data();
  p.flag = log;
  if (x.numel() && on_cuda(x)) softmax_cuda(p, x.device().index);
  else if (x.numel()) softmax_cpu(p);
  return out;
}

// softmax / log_softmax backward from the forward's output y along the last dim, one pass per
// row: dx = y * (g - sum(g*y)), or g - exp(y) * sum(g) for log_softmax. float32 rows use the per-ISA
// kernel; float64 rows the plain loop below.
Tensor softmax_backward(const Tensor& g0, const Tensor& y0, int64_t dim, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_input(g0, op);
  check_input(y0, op);
  check_same_device(g0, y0, op);
  PYML_CHECK(g0.shape == y0.shape, ValueError, op, ": grad and output shapes must match, got ",
             shape_str(g0.shape), " and ", shape_str(y0.shape));
  PYML_CHECK(g0.dtype == y0.dtype && (y0.dtype == DType::Float32 || y0.dtype == DType::Float64), TypeError, op,
             ": needs float32 or float64 grad and output of one dtype, got ", dtype_name(g0.dtype), " and ",
             dtype_name(y0.dtype));
  PYML_CHECK(y0.dim() >= 1 && wrap_dim(dim, y0.dim(), op) == y0.dim() - 1, ValueError, op,
             ": only the last dim is supported, got dim ", dim, " for ", y0.dim(), " dims");
  Tensor g = contiguous(g0), y = contiguous(y0), dx = empty(y.shape, y.dtype, y.device());
  int64_t n = y.shape.back(), rows = n ? y.numel() / n : 0;
  if (on_cuda(y)) {
    if (rows) softmax_backward_cuda(y.dtype, g.data(), y.data(), dx.data(), rows, n, log, y.device().index);
    return dx;
  }
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      if (y.dtype == DType::Float32) {
        kernels().row_softmax_bwd_f32(g.ptr<float>() + r * n, y.ptr<float>() + r * n, n, log, dx.ptr<float>() + r * n);
        continue;
      }
      const double *gr = g.ptr<double>() + r * n, *yr = y.ptr<double>() + r * n;
      double* d = dx.ptr<double>() + r * n;
      double s = 0;
      for (int64_t i = 0; i < n; i++) s += log ? gr[i] : gr[i] * yr[i];
      for (int64_t i = 0; i < n; i++) d[i] = log ? gr[i] - std::exp(yr[i]) * s : yr[i] * (gr[i] - s);
    }
  });
  return dx;
}

}  // namespace pyml
