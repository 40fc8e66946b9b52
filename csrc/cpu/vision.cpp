// Resampling kernels: nearest / nearest-exact / (bi)linear upsampling on planes (N*C, H, W) and
// grid_sample (bilinear or nearest, zeros/border/reflection padding) with their backward passes.
// Index and weight formulas are torch's (UpSample.h, GridSampler.h), including its float32
// scale arithmetic for nearest, so outputs match torch bit for bit where rounding decides; they
// live in ops/resample.h, shared with the CUDA kernels.
// Threads: planes (upsample), (image, output pixels) for grid_sample forward and grad-grid,
// (image, channel) planes for grid_sample grad-input so no two threads scatter into one plane.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops/resample.h"
#include "core/parallel.h"

namespace pyml {
using namespace resample;
namespace {

int64_t grain_for(int64_t work) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(work, 1)); }

template <typename A>
std::vector<Lin<A>> linear_table(int64_t in, int64_t out, double user, bool align) {
  std::vector<Lin<A>> t(out);
  for (int64_t o = 0; o < out; o++) t[o] = linear_at<A>(o, in, out, user, align);
  return t;
}

std::vector<int64_t> nearest_table(int64_t in, int64_t out, double user, bool exact) {
  std::vector<int64_t> t(out);
  for (int64_t o = 0; o < out; o++) t[o] = nearest_src(o, in, out, user, exact);
  return t;
}

}  // namespace

template <typename T>
void upsample_cpu(const ResampleParams& p, const T* x, T* y) {
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  if (p.mode < 2) {
    auto th = nearest_table(p.H, p.P, p.user_sh, p.mode == 1), tw = nearest_table(p.W, p.Q, p.user_sw, p.mode == 1);
    parallel_for(0, p.planes, grain_for(PQ), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        for (int64_t o = 0; o < p.P; o++) {
          const T* row = x + i * HW + th[o] * p.W;
          T* out = y + i * PQ + o * p.Q;
          for (int64_t q = 0; q < p.Q; q++) out[q] = row[tw[q]];
        }
    });
    return;
  }
  using A = typename OpMath<T>::type;
  auto th = linear_table<A>(p.H, p.P, p.user_sh, p.align_corners);
  auto tw = linear_table<A>(p.W, p.Q, p.user_sw, p.align_corners);
  parallel_for(0, p.planes, grain_for(4 * PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      for (int64_t o = 0; o < p.P; o++) {
        const T* r0 = x + i * HW + th[o].i0 * p.W;
        const T* r1 = x + i * HW + th[o].i1 * p.W;
        A a = th[o].l0, b = th[o].l1;
        T* out = y + i * PQ + o * p.Q;
        for (int64_t q = 0; q < p.Q; q++) {
          const Lin<A>& c = tw[q];
          out[q] = T(a * (c.l0 * r0[c.i0] + c.l1 * r0[c.i1]) + b * (c.l0 * r1[c.i0] + c.l1 * r1[c.i1]));
        }
      }
  });
}

// dx (planes, H, W) zeroed by the caller
template <typename T>
void upsample_backward_cpu(const ResampleParams& p, const T* dy, T* dx) {
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  if (p.mode < 2) {
    auto th = nearest_table(p.H, p.P, p.user_sh, p.mode == 1), tw = nearest_table(p.W, p.Q, p.user_sw, p.mode == 1);
    parallel_for(0, p.planes, grain_for(PQ), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        for (int64_t o = 0; o < p.P; o++) {
          T* row = dx + i * HW + th[o] * p.W;
          const T* g = dy + i * PQ + o * p.Q;
          for (int64_t q = 0; q < p.Q; q++) row[tw[q]] += g[q];
        }
    });
    return;
  }
  using A = typename OpMath<T>::type;
  auto th = linear_table<A>(p.H, p.P, p.user_sh, p.align_corners);
  auto tw = linear_table<A>(p.W, p.Q, p.user_sw, p.align_corners);
  parallel_for(0, p.planes, grain_for(4 * PQ), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++)
      for (int64_t o = 0; o < p.P; o++) {
        T* r0 = dx + i * HW + th[o].i0 * p.W;
        T* r1 = dx + i * HW + th[o].i1 * p.W;
        A a = th[o].l0, b = th[o].l1;
        const T* g = dy + i * PQ + o * p.Q;
        for (int64_t q = 0; q < p.Q; q++) {
          const Lin<A>& c = tw[q];
          A v = g[q];
          r0[c.i0] += T(a * c.l0 * v);
          r0[c.i1] += T(a * c.l1 * v);
          r1[c.i0] += T(b * c.l0 * v);
          r1[c.i1] += T(b * c.l1 * v);
        }
      }
  });
}

// x (N, C, H, W), grid (N, P, Q, 2), y (N, C, P, Q): all contiguous
template <typename T>
void grid_sample_cpu(const GridSampleParams& p, const T* x, const T* grid, T* y) {
  parallel_for(0, p.N * p.P * p.Q, grain_for(4 * p.C), [&](int64_t a, int64_t e) {
    for (int64_t it = a; it < e; it++) grid_sample_pixel(p, x, grid, y, it);
  });
}

template <typename T>
void grid_sample_backward_cpu(const GridSampleParams& p, const T* dy, const T* x, const T* grid, T* dx, T* dgrid) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W;
  if (dgrid) {
    parallel_for(0, p.N * PQ, grain_for(8 * p.C), [&](int64_t a, int64_t e) {
      for (int64_t it = a; it < e; it++) grid_sample_dgrid_pixel(p, dy, x, grid, dgrid, it);
    });
  }
  if (!dx) return;
  parallel_for(0, p.N * p.C, grain_for(4 * PQ), [&](int64_t a, int64_t e) {
    for (int64_t pl = a; pl < e; pl++) {
      int64_t n = pl / p.C;
      T* dxc = dx + pl * HW;
      const T* g = dy + pl * PQ;
      for (int64_t pix = 0; pix < PQ; pix++) {
        const T* gp = grid + (n * PQ + pix) * 2;
        if (p.mode == 1) {
          int64_t h, w;
          if (nearest_at(p, gp, h, w)) dxc[h * p.W + w] += g[pix];
          continue;
        }
        Corners<T> k = corners(p, gp);
        for (int j = 0; j < 4; j++)
          if (k.ok[j]) dxc[k.h[j] * p.W + k.w[j]] += k.wt[j] * g[pix];
      }
    }
  });
}

#define PYML_VISION_INST(T)                                                                          \
  template void upsample_cpu<T>(const ResampleParams&, const T*, T*);                               \
  template void upsample_backward_cpu<T>(const ResampleParams&, const T*, T*);                      \
  template void grid_sample_cpu<T>(const GridSampleParams&, const T*, const T*, T*);               \
  template void grid_sample_backward_cpu<T>(const GridSampleParams&, const T*, const T*, const T*, T*, T*);
PYML_VISION_INST(float)
PYML_VISION_INST(double)

}  // namespace pyml
