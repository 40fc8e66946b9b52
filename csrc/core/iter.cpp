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

// One scratch buffer holds the broadcast strides, the reversed shape and the dim order, and the
// coalesced dims are written straight into the iterator: a tiny elementwise op is dominated by this
// set-up, and each heap allocation here cost about as much as its kernel.
ElemIter ElemIter::make(const std::vector<const Tensor*>& ops) {
  ElemIter it;
  it.nops = (int)ops.size();
  const Shape& out = ops[0]->shape;
  const int nd = (int)out.size(), nops = it.nops;
  it.numel = shape_numel(out);
  std::vector<int64_t> scratch((size_t)(nops + 2) * (size_t)std::max(nd, 1));
  int64_t* st = scratch.data();        // st[k * nd + d]: operand k's byte stride of dim d, innermost first
  int64_t* shp = st + nops * nd;       // output shape, innermost first
  int64_t* perm = shp + nd;            // dim order, innermost first
  for (int k = 0; k < nops; k++) {
    const Tensor& t = *ops[k];
    int off = nd - (int)t.dim();
    for (int i = 0; i < nd; i++) {
      int j = i - off;
      st[k * nd + nd - 1 - i] = (j < 0 || t.shape[j] == 1) ? 0 : t.strides[j] * t.itemsize();
    }
    it.base[k] = t.data();
  }
  for (int i = 0; i < nd; i++) shp[nd - 1 - i] = out[i];
  // order dims: smaller output (then input) strides innermost; insertion sort keeps it stable
  for (int i = 0; i < nd; i++) perm[i] = i;
  auto before = [&](int64_t a, int64_t b) {  // should dim b come before (be more inner than) dim a?
    for (int k = 0; k < nops; k++) {
      int64_t sa = std::abs(st[k * nd + a]), sb = std::abs(st[k * nd + b]);
      if (sa == 0 || sb == 0) continue;
      if (sb < sa) return true;
      if (sb > sa) return false;
    }
    return false;
  };
  for (int i = 1; i < nd; i++)
    for (int j = i; j > 0 && before(perm[j - 1], perm[j]); j--) std::swap(perm[j - 1], perm[j]);
  // coalesce
  Shape& cs = it.shape;
  cs.reserve(std::max(nd, 1));
  for (int k = 0; k < nops; k++) it.strides[k].reserve(std::max(nd, 1));
  for (int pi = 0; pi < nd; pi++) {
    int64_t d = perm[pi];
    if (shp[d] == 1) continue;
    bool merge = !cs.empty();
    for (int k = 0; k < nops && merge; k++) merge = it.strides[k].back() * cs.back() == st[k * nd + d];
    if (merge) { cs.back() *= shp[d]; continue; }
    cs.push_back(shp[d]);
    for (int k = 0; k < nops; k++) it.strides[k].push_back(st[k * nd + d]);
  }
  if (cs.empty()) {
    cs.push_back(1);
    for (int k = 0; k < nops; k++) it.strides[k].push_back(0);
  }
  return it;
}

void ElemIter::run(LoopFn fn, const double* params, int64_t grain) const {
  if (numel == 0) return;
  parallel_for(0, numel, grain, [&](int64_t b, int64_t e) {
    for_each_row(b, e, [&](char** p, const int64_t* s, int64_t n) { fn(p, s, n, params); });
  });
}

}  // namespace pyml
