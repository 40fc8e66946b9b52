// Host entries of the sort family: sort, topk, kthvalue, median, mode, unique, unique_consecutive.
// Checks arguments, allocates contiguous (values, int64 indices) outputs on the input's device and
// hands line geometry to cpu/sort.cpp or cuda/sort.cu. unique sorts the flattened input, then
// groups equal neighbours (on CUDA: group ids by a scan of "differs from the previous" flags).
#include <cmath>
#include "cuda/reduce.h"
#include "ops/reduce.h"

namespace pyml {

static void check_input(const Tensor& t, const char* op) {
  PYML_CHECK(t.dim() <= kMaxReduceDims, ValueError, op, ": at most ", kMaxReduceDims,
             " dims are supported, got ", t.dim());
}

static bool on_cuda(const Tensor& t) { return !t.device().is_cpu(); }

static int64_t dim_size(const Tensor& x, int64_t dim) { return x.dim() ? x.shape[dim] : 1; }

// Lines of x along dim; outputs of shape `out_shape` (x's shape with the dim resized or removed).
static LineParams lines(const Tensor& x, int64_t dim, const Shape& out_shape, bool removed) {
  Shape os = contiguous_strides(out_shape), ls, li, lo;
  int64_t sout = 0;
  bool same_rank = (int64_t)out_shape.size() == x.dim();  // the dim kept (resized, or size 1 with keepdim)
  for (int64_t d = 0, j = 0; d < x.dim(); d++) {
    if (d == dim) {
      if (!removed) sout = os[j];
      if (same_rank) j++;
      continue;
    }
    ls.push_back(x.shape[d]); li.push_back(x.strides[d]); lo.push_back(os[j++]);
  }
  LineParams p;
  p.dtype = x.dtype; p.in = x.data();
  p.lines = make_dim_iter(ls, li, lo);
  p.n = dim_size(x, dim);
  p.sin = x.dim() ? x.strides[dim] : 0;
  p.sout = sout;
  return p;
}

using Pair = std::pair<Tensor, Tensor>;

using CpuKernel = void (*)(const LineParams&);
using CudaKernel = void (*)(const LineParams&, int);

// runs the device's kernel writing (values, indices) of shape out_shape; CUDA kernels take at
// most kCudaMaxDims line dims, so inputs with more are made contiguous (at most two then)
static Pair run_lines(const Tensor& x0, int64_t dim, const Shape& out_shape, bool removed, CpuKernel cpu,
                      CudaKernel gpu, int64_t k = 0, bool flag = false) {
  Tensor x = on_cuda(x0) && x0.dim() > kCudaMaxDims ? contiguous(x0) : x0;
  Tensor v = empty(out_shape, x.dtype, x.device()), i = empty(out_shape, DType::Int64, x.device());
  LineParams p = lines(x, dim, out_shape, removed);
  p.out = v.data(); p.idx = i.ptr<int64_t>(); p.k = k; p.flag = flag;
  if (v.numel() && p.n && on_cuda(x)) gpu(p, x.device().index);
  else if (v.numel() && p.n) cpu(p);
  return {v, i};
}

static Shape removed_shape(const Tensor& x, int64_t dim, bool keepdim) {
  Shape s = x.shape;
  if (x.dim() == 0) return s;
  if (keepdim) s[dim] = 1; else s.erase(s.begin() + dim);
  return s;
}

Pair sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  check_input(x, "sort");
  (void)stable;  // the kernel's order is always stable
  dim = wrap_dim(dim, x.dim(), "sort");
  return run_lines(x, dim, x.shape, false, sort_cpu, sort_cuda, 0, descending);
}

Pair topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  check_input(x, "topk");
  (void)sorted;  // results are always sorted
  dim = wrap_dim(dim, x.dim(), "topk");
  int64_t n = dim_size(x, dim);
  PYML_CHECK(k >= 0 && k <= n, ValueError, "topk: k must be in [0, ", n, "] (the size of dim ", dim,
             "), got k = ", k, " for input of shape ", x.shape);
  Shape s = x.shape;
  if (x.dim()) s[dim] = k;
  return run_lines(x, dim, s, false, topk_cpu, topk_cuda, k, largest);
}

// reduced-dim ops (kthvalue, median, mode): the dim must be non-empty
static int64_t reduced_dim(const Tensor& x, int64_t dim, const char* op) {
  dim = wrap_dim(dim, x.dim(), op);
  PYML_CHECK(dim_size(x, dim) != 0, IndexError, op, ": expected reduction dim ", dim,
             " to have non-zero size, got input of shape ", x.shape);
  return dim;
}

Pair kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
  check_input(x, "kthvalue");
  dim = wrap_dim(dim, x.dim(), "kthvalue");
  int64_t n = dim_size(x, dim);
  PYML_CHECK(k >= 1 && k <= n, ValueError, "kthvalue: k must be in [1, ", n, "] (the size of dim ", dim,
             "), got k = ", k, " for input of shape ", x.shape);
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, kthvalue_cpu, kthvalue_cuda, k);
}

Tensor median_all(const Tensor& x, bool ignore_nan) {
  const char* op = ignore_nan ? "nanmedian" : "median";
  check_input(x, op);
  if (x.numel() == 0) return full({}, Scalar::from_double(NAN), x.dtype, x.device());
  return reshape(median_dim(reshape(x, {-1}), 0, false, ignore_nan).first, {});
}

Pair median_dim(const Tensor& x, int64_t dim, bool keepdim, bool ignore_nan) {
  const char* op = ignore_nan ? "nanmedian" : "median";
  check_input(x, op);
  dim = reduced_dim(x, dim, op);
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, median_cpu, median_cuda, 0, ignore_nan);
}

Pair mode(const Tensor& x, int64_t dim, bool keepdim) {
  check_input(x, "mode");
  dim = reduced_dim(x, dim, "mode");
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, mode_cpu, mode_cuda);
}

// ------------------------------------------------------------------------- unique
using Triple = std::tuple<Tensor, Tensor, Tensor>;

// CUDA: groups of equal neighbouring rows of x (n, m) visited in `order` (null: as stored); values,
// counts and the inverse (inv[perm[i]] = group of position i) in one place for both unique forms
static Triple group_cuda(const Tensor& x, int64_t n, int64_t m, const int64_t* order, const int64_t* perm,
                         Shape vshape, const Shape& inv_shape, bool want_inv, bool want_cnt) {
  Device dev = x.device();
  Tensor grp = empty({n}, DType::Int64, dev), first = empty({n}, DType::Int64, dev);
  int64_t ng = group_runs_cuda(x.dtype, x.data(), n, m, order, grp.ptr<int64_t>(), first.ptr<int64_t>(), dev.index);
  vshape[0] = ng;
  Tensor vals = empty(vshape, x.dtype, dev), cnt = empty({want_cnt ? ng : 0}, DType::Int64, dev);
  Tensor inv = empty(want_inv ? inv_shape : Shape{0}, DType::Int64, dev);
  group_outputs_cuda(x.dtype, x.data(), n, m, order, grp.ptr<int64_t>(), first.ptr<int64_t>(), ng, perm, vals.data(),
                     want_cnt ? cnt.ptr<int64_t>() : nullptr, want_inv ? inv.ptr<int64_t>() : nullptr, dev.index);
  return {vals, inv, cnt};
}

// flattened: groups of equal neighbours in `s` (1-D contiguous); perm maps s back to x (or null)
static Triple group_flat(const Tensor& s, const Tensor* perm, const Shape& xshape, bool want_inv, bool want_cnt) {
  int64_t n = s.numel();
  if (on_cuda(s))
    return group_cuda(s, n, 1, nullptr, perm ? perm->ptr<int64_t>() : nullptr, {n}, xshape, want_inv, want_cnt);
  Tensor vals = empty({n}, s.dtype), cnt = empty({n}, DType::Int64), grp = empty({n}, DType::Int64);
  int64_t ng = unique_consecutive_cpu(s.dtype, s.data(), n, vals.data(), cnt.ptr<int64_t>(), grp.ptr<int64_t>());
  Tensor inv = empty(want_inv ? xshape : Shape{0}, DType::Int64);
  if (want_inv) {
    int64_t* o = inv.ptr<int64_t>();
    const int64_t* g = grp.ptr<int64_t>();
    if (perm) { const int64_t* pi = perm->ptr<int64_t>(); for (int64_t i = 0; i < n; i++) o[pi[i]] = g[i]; }
    else for (int64_t i = 0; i < n; i++) o[i] = g[i];
  }
  return {slice(vals, 0, 0, ng, 1), inv, want_cnt ? slice(cnt, 0, 0, ng, 1) : empty({0}, DType::Int64)};
}

// along dim: rows are the slices x.select(dim, i), compared lexicographically
static Triple group_rows(const Tensor& x, int64_t dim, bool sorted, bool want_inv, bool want_cnt, const char* op) {
  dim = wrap_dim(dim, x.dim(), op);
  PYML_CHECK(x.dim() > 0, ValueError, op, ": dim= needs an input with at least one dim, got a 0-dim tensor");
  Shape perm{dim};
  for (int64_t d = 0; d < x.dim(); d++) if (d != dim) perm.push_back(d);
  Tensor rows = contiguous(permute(x, perm));  // (n, rest...)
  int64_t n = x.shape[dim], m = n ? rows.numel() / n : 0;
  Shape back(x.dim());
  for (int64_t d = 0; d < x.dim(); d++) back[perm[d]] = d;
  if (on_cuda(x)) {
    Tensor order = empty({n}, DType::Int64, x.device());
    if (sorted) sort_rows_cuda(x.dtype, rows.data(), n, m, order.ptr<int64_t>(), x.device().index);
    const int64_t* o = sorted ? order.ptr<int64_t>() : nullptr;
    auto [vals, inv, cnt] = group_cuda(rows, n, m, o, o, rows.shape, {n}, want_inv, want_cnt);
    return {permute(vals, back), inv, cnt};
  }
  Tensor order = empty({n}, DType::Int64), grp = empty({n}, DType::Int64);
  int64_t ng = unique_rows_cpu(x.dtype, rows.data(), n, m, sorted, order.ptr<int64_t>(), grp.ptr<int64_t>());
  const int64_t *o = order.ptr<int64_t>(), *g = grp.ptr<int64_t>();
  Shape vs = rows.shape;
  vs[0] = ng;
  Tensor vals = empty(vs, x.dtype), inv = empty({want_inv ? n : 0}, DType::Int64);
  Tensor cnt = full({ng}, Scalar::from_int(0), DType::Int64);
  int64_t* c = cnt.ptr<int64_t>();
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || g[i] != g[i - 1]) copy_(select(vals, 0, g[i]), select(rows, 0, o[i]), op);
    if (want_inv) inv.ptr<int64_t>()[o[i]] = g[i];
    c[g[i]]++;
  }
  return {permute(vals, back), inv, want_cnt ? cnt : empty({0}, DType::Int64)};
}

Triple unique(const Tensor& x, bool want_inv, bool want_cnt, std::optional<int64_t> dim) {
  check_input(x, "unique");
  if (dim) return group_rows(x, *dim, true, want_inv, want_cnt, "unique");
  auto [s, perm] = sort(reshape(x, {-1}), 0, false, true);
  return group_flat(s, &perm, x.shape, want_inv, want_cnt);
}

Triple unique_consecutive(const Tensor& x, bool want_inv, bool want_cnt, std::optional<int64_t> dim) {
  check_input(x, "unique_consecutive");
  if (dim) return group_rows(x, *dim, false, want_inv, want_cnt, "unique_consecutive");
  return group_flat(contiguous(reshape(x, {-1})), nullptr, x.shape, want_inv, want_cnt);
}

}  // namespace pyml
