// Sort family on CPU: sort, topk, kthvalue, median, mode along a dim of any strides, and the
// grouping steps of unique. Each line is gathered into (key, index) items, ordered, and written
// to contiguous outputs; lines run in parallel. Keys are float (float16/bfloat16/float32),
// double or int64, so the ordering code exists for three key types only. NaN orders above
// every number (last ascending, first descending), as in PyTorch. Comparators that break ties
// by index give a total order, so every result is deterministic.
#include <algorithm>
#include <limits>
#include <vector>
#include "ops/reduce.h"

namespace pyml {
namespace {

template <typename T> using om_t = typename OpMath<T>::type;
template <typename T> using key_of = std::conditional_t<std::is_same_v<T, double>, double,
    std::conditional_t<std::is_floating_point_v<om_t<T>>, float, int64_t>>;
template <typename K> struct Item { K k; int64_t i; };

template <typename K> inline bool lt(K a, K b) { return a < b || (b != b && a == a); }
template <typename K> inline bool eqv(K a, K b) { return !lt(a, b) && !lt(b, a); }
template <typename K> struct Asc {  // ascending, ties by index
  bool operator()(const Item<K>& a, const Item<K>& b) const { return lt(a.k, b.k) || (!lt(b.k, a.k) && a.i < b.i); }
};
template <typename K> struct Desc {  // descending, ties by index
  bool operator()(const Item<K>& a, const Item<K>& b) const { return lt(b.k, a.k) || (!lt(a.k, b.k) && a.i < b.i); }
};

template <typename T>
void gather(std::vector<Item<key_of<T>>>& v, const T* x, int64_t n, int64_t s) {
  v.resize(n);
  for (int64_t i = 0; i < n; i++) v[i] = {key_of<T>(om_t<T>(x[i * s])), i};
}
template <typename T> inline T from_key(key_of<T> k) { return static_cast<T>(static_cast<om_t<T>>(k)); }

// Per-line driver: f(x_line, y_off) with a per-thread item buffer.
template <typename T, typename F> void lines(const LineParams& p, const F& f) {
  const T* x = (const T*)p.in;
  for_line_groups(p, 1, 1, [&](int64_t ia, int64_t ob, int64_t, int64_t, int64_t) {
    thread_local std::vector<Item<key_of<T>>> buf;
    gather(buf, x + ia, p.n, p.sin);
    f(buf, ob);
  });
}

template <typename K> void order_all(std::vector<Item<K>>& v, bool desc) {
  // the index tie-break makes std::sort stable in effect
  if (desc) std::sort(v.begin(), v.end(), Desc<K>()); else std::sort(v.begin(), v.end(), Asc<K>());
}

// small k: a sorted buffer of the best k so far; most items fail one comparison with the k-th
template <typename K, class C> void best_k(std::vector<Item<K>>& v, int64_t k, C better) {
  std::sort(v.begin(), v.begin() + k, better);
  for (size_t i = k; i < v.size(); i++) {
    if (!better(v[i], v[k - 1])) continue;
    Item<K> it = v[i];
    auto pos = std::upper_bound(v.begin(), v.begin() + (k - 1), it, better);
    std::move_backward(pos, v.begin() + (k - 1), v.begin() + k);
    *pos = it;
  }
}

// v[0, k) = the first k items of the order, sorted
template <typename K> void order_first(std::vector<Item<K>>& v, int64_t k, bool desc) {
  int64_t n = (int64_t)v.size();
  if (k == 0) return;
  if (k * 4 >= n) return order_all(v, desc);
  auto run = [&](auto cmp) {
    if (k <= 64 && n >= 16 * k) return best_k(v, k, cmp);
    std::nth_element(v.begin(), v.begin() + k, v.end(), cmp);
    std::sort(v.begin(), v.begin() + k, cmp);
  };
  if (desc) run(Desc<K>()); else run(Asc<K>());
}

template <typename T> void write_items(const LineParams& p, const std::vector<Item<key_of<T>>>& v, int64_t cnt,
                                       int64_t ob) {
  T* y = (T*)p.out;
  for (int64_t r = 0; r < cnt; r++) {
    y[ob + r * p.sout] = from_key<T>(v[r].k);
    p.idx[ob + r * p.sout] = v[r].i;
  }
}

template <typename T> void sort_run(const LineParams& p) {
  lines<T>(p, [&](auto& v, int64_t ob) { order_all(v, p.flag); write_items<T>(p, v, p.n, ob); });
}
template <typename T> void topk_run(const LineParams& p) {
  lines<T>(p, [&](auto& v, int64_t ob) { order_first(v, p.k, p.flag); write_items<T>(p, v, p.k, ob); });
}
template <typename T> void kth_run(const LineParams& p) {
  using K = key_of<T>;
  lines<T>(p, [&](auto& v, int64_t ob) {
    std::nth_element(v.begin(), v.begin() + (p.k - 1), v.end(), Asc<K>());
    write_items<T>(p, {v[p.k - 1]}, 1, ob);
  });
}

// lower median; with a NaN in the line: NaN at the first NaN's index, unless NaNs are ignored
template <typename T> void median_run(const LineParams& p) {
  using K = key_of<T>;
  lines<T>(p, [&](auto& v, int64_t ob) {
    int64_t nans = 0, first = -1;
    for (auto& it : v) if (it.k != it.k) { if (first < 0) first = it.i; nans++; }
    int64_t m = p.flag ? (int64_t)v.size() - nans : (nans ? 0 : (int64_t)v.size());
    if (m == 0) return write_items<T>(p, {Item<K>{std::numeric_limits<K>::quiet_NaN(), std::max<int64_t>(first, 0)}}, 1, ob);
    std::nth_element(v.begin(), v.begin() + (m - 1) / 2, v.end(), Asc<K>());
    write_items<T>(p, {v[(m - 1) / 2]}, 1, ob);
  });
}

// most frequent value (the smallest among equally frequent), at its last index
template <typename T> void mode_run(const LineParams& p) {
  using K = key_of<T>;
  lines<T>(p, [&](auto& v, int64_t ob) {
    order_all(v, false);
    int64_t best = 0, best_len = 0, n = (int64_t)v.size();
    for (int64_t a = 0, b; a < n; a = b) {
      for (b = a + 1; b < n && eqv<K>(v[a].k, v[b].k);) b++;
      if (b - a > best_len) { best_len = b - a; best = b - 1; }
    }
    write_items<T>(p, {v[best]}, 1, ob);
  });
}

template <typename T>
int64_t unique_consecutive_run(const T* x, int64_t n, T* values, int64_t* counts, int64_t* group) {
  using U = om_t<T>;
  int64_t g = -1, start = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i == 0 || !(U(x[i]) == U(x[i - 1]))) {
      if (g >= 0 && counts) counts[g] = i - start;
      g++; start = i;
      if (values) values[g] = x[i];
    }
    if (group) group[i] = g;
  }
  if (g >= 0 && counts) counts[g] = n - start;
  return g + 1;
}

template <typename T>
int64_t unique_rows_run(const T* x, int64_t n, int64_t m, bool sorted, int64_t* order, int64_t* group) {
  using K = key_of<T>;
  auto key = [&](int64_t r, int64_t c) { return K(om_t<T>(x[r * m + c])); };
  for (int64_t i = 0; i < n; i++) order[i] = i;
  if (sorted) std::stable_sort(order, order + n, [&](int64_t a, int64_t b) {
    for (int64_t c = 0; c < m; c++) {
      K ka = key(a, c), kb = key(b, c);
      if (lt(ka, kb)) return true;
      if (lt(kb, ka)) return false;
    }
    return false;
  });
  int64_t g = -1;
  for (int64_t i = 0; i < n; i++) {
    bool same = i > 0;
    for (int64_t c = 0; c < m && same; c++) same = key(order[i], c) == key(order[i - 1], c);
    if (!same) g++;
    group[i] = g;
  }
  return g + 1;
}

}  // namespace

void sort_cpu(const LineParams& p) { PYML_DISPATCH_ALL(p.dtype, "sort", [&] { sort_run<scalar_t>(p); }); }
void topk_cpu(const LineParams& p) { PYML_DISPATCH_ALL(p.dtype, "topk", [&] { topk_run<scalar_t>(p); }); }
void kthvalue_cpu(const LineParams& p) { PYML_DISPATCH_ALL(p.dtype, "kthvalue", [&] { kth_run<scalar_t>(p); }); }
void median_cpu(const LineParams& p) { PYML_DISPATCH_ALL(p.dtype, "median", [&] { median_run<scalar_t>(p); }); }
void mode_cpu(const LineParams& p) { PYML_DISPATCH_ALL(p.dtype, "mode", [&] { mode_run<scalar_t>(p); }); }

int64_t unique_consecutive_cpu(DType dtype, const char* x, int64_t n, char* values, int64_t* counts,
                               int64_t* group) {
  int64_t r = 0;
  PYML_DISPATCH_ALL(dtype, "unique", [&] {
    r = unique_consecutive_run<scalar_t>((const scalar_t*)x, n, (scalar_t*)values, counts, group);
  });
  return r;
}

int64_t unique_rows_cpu(DType dtype, const char* x, int64_t n, int64_t m, bool sorted, int64_t* order,
                        int64_t* group) {
  int64_t r = 0;
  PYML_DISPATCH_ALL(dtype, "unique", [&] {
    r = unique_rows_run<scalar_t>((const scalar_t*)x, n, m, sorted, order, group);
  });
  return r;
}

}  // namespace pyml
