// Memory formats and the layout of fresh outputs (see memory_format.h). The rules follow torch's
// so that strides a user can observe (stride(), is_contiguous(memory_format=...)) agree.
#include <algorithm>
#include "core/memory_format.h"

namespace pyml {

namespace {
// Dims from innermost to outermost in memory for each channels-last format
constexpr int kOrder4[] = {1, 3, 2, 0};
constexpr int kOrder5[] = {1, 4, 3, 2, 0};

const int* order_of(MemoryFormat f, size_t rank) {
  if (f == MemoryFormat::ChannelsLast && rank == 4) return kOrder4;
  if (f == MemoryFormat::ChannelsLast3d && rank == 5) return kOrder5;
  return nullptr;
}

// Whether t's strides put its dims in the given inner-to-outer order. Ties (size-1 dims sharing a
// stride, as in (N, 1, 1, 1) or a sliced (N, 1, 1, W)) resolve to the ordinary layout, and a
// zero-stride channel dim never counts as channels-last.
bool ordered_like(const Tensor& t, const int* order) {
  if (t.strides[1] == 0) return false;
  int64_t floor = 0;
  for (size_t i = 0; i < t.shape.size(); i++) {
    int d = order[i];
    if (t.shape[d] == 0 || t.strides[d] < floor) return false;
    if (d == 0 && floor == t.strides[1]) return false;
    floor = t.strides[d] * std::max<int64_t>(t.shape[d], 1);
  }
  return true;
}
}  // namespace

Shape format_strides(const Shape& shape, MemoryFormat f, const char* op) {
  if (f == MemoryFormat::Contiguous) return contiguous_strides(shape);
  const int* order = order_of(f, shape.size());
  PYML_CHECK(order, ValueError, op, ": required rank ", f == MemoryFormat::ChannelsLast ? 4 : 5,
             " tensor to use ", f == MemoryFormat::ChannelsLast ? "channels_last" : "channels_last_3d",
             " format, got shape ", shape);
  Shape st(shape.size());
  int64_t acc = 1;
  for (size_t i = 0; i < shape.size(); i++) {
    st[order[i]] = acc;
    acc *= std::max<int64_t>(shape[order[i]], 1);
  }
  return st;
}

bool is_contiguous_as(const Tensor& t, MemoryFormat f) {
  if (f == MemoryFormat::Contiguous || f == MemoryFormat::Preserve) return t.is_contiguous();
  const int* order = order_of(f, t.shape.size());
  if (!order) return false;
  int64_t expect = 1;
  for (size_t i = 0; i < t.shape.size(); i++) {
    int d = order[i];
    if (t.shape[d] == 1) continue;
    if (t.strides[d] != expect) return t.numel() == 0;
    expect *= t.shape[d];
  }
  return true;
}

MemoryFormat suggest_format(const Tensor& t) {
  if (t.dim() == 4 && ordered_like(t, kOrder4)) return MemoryFormat::ChannelsLast;
  if (t.dim() == 5 && ordered_like(t, kOrder5)) return MemoryFormat::ChannelsLast3d;
  return MemoryFormat::Contiguous;
}

bool non_overlapping_dense(const Tensor& t) {
  if (t.numel() == 0) return true;
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < t.dim(); d++)
    if (t.shape[d] > 1) dims.push_back(d);
  std::stable_sort(dims.begin(), dims.end(), [&](int64_t a, int64_t b) { return t.strides[a] < t.strides[b]; });
  int64_t expect = 1;
  for (int64_t d : dims) {
    if (t.strides[d] != expect) return false;
    expect *= t.shape[d];
  }
  return true;
}

Shape preserve_strides(const Tensor& t) {
  return non_overlapping_dense(t) ? t.strides : elementwise_strides(t.shape, {&t});
}

Shape like_strides(const Tensor& t, MemoryFormat f, const char* op) {
  return f == MemoryFormat::Preserve ? preserve_strides(t) : format_strides(t.shape, f, op);
}

Tensor empty_strided(const Shape& shape, const Shape& strides, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  return strides == t.strides ? t : t.view_as(shape, strides, 0);
}

Shape elementwise_strides(const Shape& shape, std::initializer_list<const Tensor*> ins) {
  const int nd = (int)shape.size();
  bool all_contiguous = true;
  for (const Tensor* t : ins) all_contiguous = all_contiguous && t->is_contiguous();
  if (nd < 2 || all_contiguous) return contiguous_strides(shape);
  auto stride_of = [&](const Tensor* t, int d) -> int64_t {  // 0 for a broadcast (or missing) dim
    int j = d - (nd - (int)t->dim());
    return (j < 0 || (t->shape[j] == 1 && shape[d] != 1)) ? 0 : t->strides[j];
  };
  // +1: dim a (now inside b) belongs outside it; -1: it stays inside; 0: no input tells.
  auto outward = [&](int a, int b) {
    for (const Tensor* t : ins) {
      int64_t sa = stride_of(t, a), sb = stride_of(t, b);
      if (sa == 0 || sb == 0) continue;
      if (sa != sb) return sa > sb ? 1 : -1;
      if (shape[a] > shape[b]) return 1;  // equal strides: the smaller dim goes inside
    }
    return 0;
  };
  std::vector<int> perm(nd);  // innermost first; starts as the contiguous order
  for (int i = 0; i < nd; i++) perm[i] = nd - 1 - i;
  // insertion sort that looks past undecided pairs, so a dim can move over a size-1 neighbour
  for (int i = 1; i < nd; i++) {
    int cur = i;
    for (int j = i - 1; j >= 0; j--) {
      int c = outward(perm[j], perm[cur]);
      if (c < 0) break;
      if (c > 0) { std::swap(perm[j], perm[cur]); cur = j; }
    }
  }
  Shape st(nd);
  int64_t acc = 1;
  for (int d : perm) { st[d] = acc; acc *= std::max<int64_t>(shape[d], 1); }
  return st;
}

Tensor empty_for(const Shape& shape, DType dtype, Device dev, std::initializer_list<const Tensor*> ins) {
  return empty_strided(shape, elementwise_strides(shape, ins), dtype, dev);
}

}  // namespace pyml
