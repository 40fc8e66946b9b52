// ElemIter construction (broadcast strides, dim reordering, coalescing) and the parallel driver.
#include "core/iter.h"
#include "core/parallel.h"

namespace pyml {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; i++) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PYML_CHECK(da == db || da == 1 || db == 1, ValueError, op,
               ": shapes must be broadcastable (sizes must match or be 1 at dim ", (int64_t)i - (int64_t)n,
               "), got ", a, " and ", b);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

ElemIter ElemIter::make(const std::vector<const Tensor*>& ops) {
  ElemIter it;
  it.nops = (int)ops.size();
  const Shape& out = ops[0]->shape;
  int nd = (int)out.size();
  it.numel = shape_numel(out);
  // innermost-first broadcast strides in bytes
  std::vector<std::vector<int64_t>> st(it.nops, std::vector<int64_t>(nd, 0));
  for (int k = 0; k < it.nops; k++) {
    const Tensor& t = *ops[k];
    int off = nd - (int)t.dim();
    for (int i = 0; i < nd; i++) {
      int j = i - off;
      int64_t s = (j < 0 || t.shape[j] == 1) ? 0 : t.strides[j] * t.itemsize();
      st[k][nd - 1 - i] = s;
    }
    it.base[k] = t.data();
  }
  Shape shp(nd);
  for (int i = 0; i < nd; i++) shp[nd - 1 - i] = out[i];
  // order dims: smaller output (then input) strides innermost; insertion sort keeps it stable
  std::vector<int> perm(nd);
  for (int i = 0; i < nd; i++) perm[i] = i;
  auto before = [&](int a, int b) {  // should dim b come before (be more inner than) dim a?
    for (int k = 0; k < it.nops; k++) {
      int64_t sa = std::abs(st[k][a]), sb = std::abs(st[k][b]);
      if (sa == 0 || sb == 0) continue;
      if (sb < sa) return true;
      if (sb > sa) return false;
    }
    return false;
  };
  for (int i = 1; i < nd; i++)
    for (int j = i; j > 0 && before(perm[j - 1], perm[j]); j--) std::swap(perm[j - 1], perm[j]);
  // coalesce
  Shape cs;
  std::vector<std::vector<int64_t>> cst(it.nops);
  for (int pi = 0; pi < nd; pi++) {
    int d = perm[pi];
    if (shp[d] == 1) continue;
    bool merge = !cs.empty();
    for (int k = 0; k < it.nops && merge; k++) merge = cst[k].back() * cs.back() == st[k][d];
    if (merge) { cs.back() *= shp[d]; continue; }
    cs.push_back(shp[d]);
    for (int k = 0; k < it.nops; k++) cst[k].push_back(st[k][d]);
  }
  if (cs.empty()) {
    cs.push_back(1);
    for (int k = 0; k < it.nops; k++) cst[k].push_back(0);
  }
  it.shape = cs;
  for (int k = 0; k < it.nops; k++) it.strides[k] = cst[k];
  return it;
}

void ElemIter::run(LoopFn fn, const double* params, int64_t grain) const {
  if (numel == 0) return;
  parallel_for(0, numel, grain, [&](int64_t b, int64_t e) {
    for_each_row(b, e, [&](char** p, const int64_t* s, int64_t n) { fn(p, s, n, params); });
  });
}

}  // namespace pyml
