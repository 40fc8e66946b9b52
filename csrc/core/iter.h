// Elementwise iteration over broadcast, arbitrarily strided operands without copying them.
// Operand 0 is the output. Dims are stored innermost-first, reordered so the output's smallest
// stride is innermost, and coalesced where every operand is contiguous across two dims; the
// kernel then sees rows: fn(ptrs, byte_strides_of_inner_dim, n, params).
#pragma once
#include <vector>
#include "core/tensor.h"

namespace pyml {

constexpr int kMaxOperands = 4;
using LoopFn = void (*)(char** data, const int64_t* strides, int64_t n, const double* params);

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

struct ElemIter {
  int nops = 0;
  Shape shape;                                  // innermost first
  std::vector<int64_t> strides[kMaxOperands];   // bytes, innermost first
  char* base[kMaxOperands] = {};
  int64_t numel = 0;

  // ops[0] is the output (its shape is the iteration shape); inputs broadcast to it.
  static ElemIter make(const std::vector<const Tensor*>& ops);
  void run(LoopFn fn, const double* params = nullptr, int64_t grain = 32768) const;
  // Serial row visitor for kernels that are not simple loops: f(ptrs, inner_strides, n).
  template <typename F> void for_each_row(int64_t begin, int64_t end, const F& f) const;
};

template <typename F>
void ElemIter::for_each_row(int64_t begin, int64_t end, const F& f) const {
  int nd = (int)shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t r = begin;
  for (int d = 0; d < nd; d++) { idx[d] = r % shape[d]; r /= shape[d]; }
  char* ptrs[kMaxOperands];
  int64_t inner[kMaxOperands];
  for (int k = 0; k < nops; k++) inner[k] = strides[k][0];
  int64_t cur = begin;
  while (cur < end) {
    for (int k = 0; k < nops; k++) {
      char* p = base[k];
      for (int d = 0; d < nd; d++) p += idx[d] * strides[k][d];
      ptrs[k] = p;
    }
    int64_t n = std::min(shape[0] - idx[0], end - cur);
    f(ptrs, inner, n);
    cur += n;
    idx[0] += n;
    for (int d = 0; d < nd - 1 && idx[d] >= shape[d]; d++) { idx[d] = 0; idx[d + 1]++; }
  }
}

}  // namespace pyml
