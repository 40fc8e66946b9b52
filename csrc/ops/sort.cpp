// Host entries of the sort family: sort, topk, kthvalue, median, mode, unique, unique_consecutive.
// Checks arguments, allocates contiguous (values, int64 indices) outputs and hands line geometry
// to cpu/sort.cpp. unique sorts the flattened input, then groups equal neighbours.
#include <cmath>
#include "ops/reduce.h"

namespace pyml {

static void check_input(const Tensor& t, const char* op) {
  check_cpu(t, op);
  PYML_CHECK(t.dim() <= kMaxReduceDims, ValueError, op, ": at most ", kMaxReduceDims,
             " dims are supported, got ", t.dim());
}

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

// runs `kernel` writing (values, indices) of shape out_shape
template <typename K>
static Pair run_lines(const Tensor& x, int64_t dim, const Shape& out_shape, bool removed, const K& kernel,
                      int64_t k = 0, bool flag = false) {
  Tensor v = empty(out_shape, x.dtype), i = empty(out_shape, DType::Int64);
  LineParams p = lines(x, dim, out_shape, removed);
  p.out = v.data(); p.idx = i.ptr<int64_t>(); p.k = k; p.flag = flag;
  if (v.numel() && p.n) kernel(p);
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
  return run_lines(x, dim, x.shape, false, sort_cpu, 0, descending);
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
  return run_lines(x, dim, s, false, topk_cpu, k, largest);
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
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, kthvalue_cpu, k);
}

Tensor median_all(const Tensor& x, bool ignore_nan) {
  const char* op = ignore_nan ? "nanmedian" : "median";
  check_input(x, op);
  if (x.numel() == 0) return full({}, Scalar::from_double(NAN), x.dtype);
  return reshape(median_dim(reshape(x, {-1}), 0, false, ignore_nan).first, {});
}

Pair median_dim(const Tensor& x, int64_t dim, bool keepdim, bool ignore_nan) {
  const char* op = ignore_nan ? "nanmedian" : "median";
  check_input(x, op);
  dim = reduced_dim(x, dim, op);
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, median_cpu, 0, ignore_nan);
}

Pair mode(const Tensor& x, int64_t dim, bool keepdim) {
  check_input(x, "mode");
  dim = reduced_dim(x, dim, "mode");
  return run_lines(x, dim, removed_shape(x, dim, keepdim), true, mode_cpu);
}

// ------------------------------------------------------------------------- unique
using Triple = std::tuple<Tensor, Tensor, Tensor>;

// flattened: groups of equal neighbours in `s` (1-D contiguous); perm maps s back to x (or null)
static Triple group_flat(const Tensor& s, const Tensor* perm, const Shape& xshape, bool want_inv, bool want_cnt) {
  int64_t n = s.numel();
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
  Shape back(x.dim());
  for (int64_t d = 0; d < x.dim(); d++) back[perm[d]] = d;
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
