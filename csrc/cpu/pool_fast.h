// Fast float32 pooling kernels compiled once per instruction set (csrc/cpu/isa/pool_*.cpp) and
// the table that picks the copy matching this CPU (same choice as the elementwise kernels). Each
// kernel returns false when it does not handle the params (a non-unit W stride, a window with no
// input element, planes of 2^31 elements or more); the caller then runs the generic loop in
// csrc/cpu/pool.cpp, which is also the reference the fast paths are tested against.
#pragma once
#include <atomic>
#include <cstdint>
#include "ops/conv.h"

namespace pyml {

// The first bad element a max-pool backward meets, as a flat position plane * per_plane + o: the
// smallest one reported, whichever thread reports it (planes run in parallel).
class FirstBad {
 public:
  explicit FirstBad(int64_t per_plane) : per_plane_(per_plane) {}
  void report(int64_t plane, int64_t o) {  // o < 0: the plane was fine
    if (o < 0) return;
    int64_t at = plane * per_plane_ + o, seen = first_.load();
    while (at < seen && !first_.compare_exchange_weak(seen, at)) {}
  }
  int64_t get() const {  // -1: none
    int64_t b = first_.load();
    return b == INT64_MAX ? -1 : b;
  }

 private:
  int64_t per_plane_;
  std::atomic<int64_t> first_{INT64_MAX};
};

// Window codes: a max-pool winner saved as its tap r*S + s in the unclipped window (uint8), for
// windows of at most kMaxCodeTaps taps (255 is free for "no window").
constexpr int64_t kMaxCodeTaps = 255;

struct PoolFastKernels {
  // x (planes, H, W) through PoolParams strides -> y, idx (planes, P, Q) contiguous
  bool (*max_pool)(const PoolParams& p, const float* x, float* y, int64_t* idx) = nullptr;
  // the same with window codes (planes, P, Q) instead of indices
  bool (*max_pool_codes)(const PoolParams& p, const float* x, float* y, uint8_t* codes) = nullptr;
  // dx (planes, H, W) contiguous from dy and codes (planes, P, Q): the sum over outputs in output
  // order, as max_pool_backward. Returns the flat position of the first code naming no input
  // element (the caller raises), or -1.
  int64_t (*max_pool_backward_codes)(const PoolParams& p, const float* dy, const uint8_t* codes, float* dx) = nullptr;
  // dx (planes, in_n) = 0, then dx[idx] += dy per plane; returns the flat position of the first
  // index outside [0, in_n) or -1 (max_pool_grad_cpu's contract; always handles its input)
  int64_t (*max_pool_backward)(int64_t planes, int64_t in_n, int64_t out_n, const float* dy, const int64_t* idx,
                               float* dx) = nullptr;
  // y (planes, P, Q) contiguous
  bool (*avg_pool)(const PoolParams& p, const float* x, float* y) = nullptr;
  // dy (planes, P, Q) -> dx (planes, H, W), both contiguous; dx need not be zeroed
  bool (*avg_pool_backward)(const PoolParams& p, const float* dy, float* dx) = nullptr;
  // adaptive windows (P, Q are the output sizes); same layouts as avg_pool / avg_pool_backward
  bool (*adaptive_avg_pool)(const PoolParams& p, const float* x, float* y) = nullptr;
  bool (*adaptive_avg_pool_backward)(const PoolParams& p, const float* dy, float* dx) = nullptr;
};

const PoolFastKernels& pool_fast_kernels();

namespace isa_generic { void fill_pool_kernels(PoolFastKernels& k); }
namespace isa_avx2 { void fill_pool_kernels(PoolFastKernels& k); }
namespace isa_avx512 { void fill_pool_kernels(PoolFastKernels& k); }

// Max-pool backward for every max pooling: dx (planes, in_n) = 0, then dx[idx] += dy per plane,
// planes in parallel (each plane's sum runs in output order: the result never depends on the
// thread count). Indices outside [0, in_n) are skipped; returns the flat position in idx of the
// first one, or -1 when all are valid.
template <typename T>
int64_t max_pool_grad_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* dy, const int64_t* idx, T* dx);

}  // namespace pyml
