// Shared by the per-ISA pooling kernels (pool_max.cpp, pool_avg.cpp): vector load/store helpers
// on GCC vector types (kVF float32 lanes: 16 AVX-512, 8 AVX2, 4 generic), strided tap loads, and
// the window geometry of one pooled dim precomputed once per call, so inner loops never divide.
// A window along a dim covers positions start + t*d (t < k); `first`/`count` keep its clipped part.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstring>
#include <omp.h>
#include <vector>
#include "cpu/isa/vmath.h"
#include "cpu/prefetch.h"
#include "ops/conv.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace pool {

template <typename V, typename T> static inline V vld(const T* p) { V v; std::memcpy(&v, p, sizeof(V)); return v; }
template <typename V, typename T> static inline void vst(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }

static inline VI lane_ids() {
  VI v;
  for (int j = 0; j < kVF; j++) v[j] = j;
  return v;
}

// Lanes 0, 2, 4, ... (odd = 0) or 1, 3, 5, ... (odd = 1) of the 2*kVF floats lo:hi.
static inline VF pick_every_other(VF lo, VF hi, int odd) {
#if defined(__AVX512F__)
  const VI ev = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
#elif defined(__AVX2__)
  const VI ev = {0, 2, 4, 6, 8, 10, 12, 14};
#else
  const VI ev = {0, 2, 4, 6};
#endif
  return odd ? __builtin_shuffle(lo, hi, ev + 1) : __builtin_shuffle(lo, hi, ev);
}

// kVF floats row[s + j*step] one by one (any step; kept out of line so the fast loads below stay
// free of its address setup)
__attribute__((noinline)) static VF load_strided(const float* row, int64_t s, int64_t step) {
  VF v;
  for (int j = 0; j < kVF; j++) v[j] = row[s + j * step];
  return v;
}

// kVF floats row[s + j*step], j < kVF, reading only inside row[0, n) (the caller guarantees the
// wanted elements are inside). kStep is the step when known at compile time (1 or 2), else 0.
// Stride 2 reads two vectors and keeps every other lane.
template <int kStep> static inline VF load_taps(const float* row, int64_t s, int64_t step, int64_t n) {
  if constexpr (kStep == 1) {
    return vld<VF>(row + s);
  } else if constexpr (kStep == 2) {
    if (__builtin_expect(s + 2 * kVF <= n, 1)) return pick_every_other(vld<VF>(row + s), vld<VF>(row + s + kVF), 0);
    if (__builtin_expect(s >= 1, 1)) return pick_every_other(vld<VF>(row + s - 1), vld<VF>(row + s - 1 + kVF), 1);
  }
  return load_strided(row, s, step);
}

// One dim of a pooling window grid: out windows of k taps, step stride, dilation d, left pad.
struct Taps { int64_t first, count; };

struct DimGeo {
  std::vector<Taps> taps;  // per output position: first valid input position, valid taps
  int64_t lo = 0, hi = 0;  // outputs [lo, hi) keep all k taps inside the input (interior)
  bool any_empty = false;  // some window holds no input position (torch's -inf / index quirk)
};

static inline Taps clip_window(int64_t start, int64_t k, int64_t d, int64_t n) {
  int64_t t0 = start < 0 ? (-start + d - 1) / d : 0;
  int64_t t1 = start > n - 1 ? 0 : std::min(k, (n - 1 - start) / d + 1);
  return t1 > t0 ? Taps{start + t0 * d, t1 - t0} : Taps{0, 0};
}

static inline DimGeo dim_geometry(int64_t out, int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t d) {
  DimGeo g;
  g.taps.resize(out);
  g.lo = out;
  for (int64_t o = 0; o < out; o++) {
    int64_t start = o * stride - pad;
    g.taps[o] = clip_window(start, k, d, in);
    g.any_empty |= g.taps[o].count == 0;
    bool inside = g.taps[o].count == k && g.taps[o].first == start;
    if (inside && g.lo == out) g.lo = o;
    if (inside) g.hi = o + 1;
  }
  if (g.lo == out) g.lo = g.hi = 0;
  return g;
}

// Vector blocks covering [lo, hi): starts lo, lo + kVF, ... and one last block ending at hi that
// may overlap the previous one (recomputing a few outputs is cheaper than a scalar tail).
template <class F> static inline void for_blocks(int64_t lo, int64_t hi, const F& f) {
  if (hi - lo < kVF) return;
  int64_t o = lo;
  for (; o + kVF <= hi; o += kVF) f(o);
  if (o < hi) f(hi - kVF);
}

static inline int64_t planes_grain(int64_t work_per_item) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(work_per_item, 1));
}

// Per-thread scratch of at least n elements, kept between calls (kTag separates the buffers of one
// kernel). Contents are whatever the last user left.
template <typename T, int kTag> static inline T* scratch(size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// f(i0, i1) over [0, n) in batches of about `grain` items handed out from a shared counter, so a
// thread that the OS deschedules on a busy machine leaves its share to the others instead of
// stalling the join. Each item's result does not depend on which thread computes it.
template <class F> static void for_items(int64_t n, int64_t grain, const F& f) {
  int nt = omp_get_max_threads();
  if (nt <= 1 || n <= grain || omp_in_parallel()) {
    if (n > 0) f(0, n);
    return;
  }
  int64_t teams = std::min<int64_t>(nt, (n + grain - 1) / grain);
  int64_t batch = std::max<int64_t>(1, std::min(grain, n / (teams * 8)));
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads((int)teams)
  for (int64_t b = next.fetch_add(batch); b < n; b = next.fetch_add(batch)) f(b, std::min(n, b + batch));
}

}  // namespace pool
}  // namespace PYML_ISA_NS
}  // namespace pyml
