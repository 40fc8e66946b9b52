// Resampling kernels: nearest / nearest-exact / (bi)linear upsampling on planes (N*C, H, W), the
// separable resampler (planes (N*C, D, H, W): 3-D nearest and trilinear, bicubic, antialiased
// filters) and grid_sample (bilinear, nearest or bicubic; zeros/border/reflection padding) with
// their backward passes. Index and weight formulas are torch's (UpSample.h, GridSampler.h),
// including its float32 scale arithmetic for nearest, so outputs match torch bit for bit where
// rounding decides; they live in ops/resample.h, shared with the CUDA kernels.
// Threads: planes (upsample; every resampler backward), output rows (resampler forward), (image,
// output pixels) for grid_sample forward and grad-grid, (image, channel) planes for grid_sample
// grad-input, so no two threads scatter into one plane.
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

// ---------------------------------------------------------------- separable resampler
namespace {

// Every output index's taps along one dim, flattened: taps of o are [off[o], off[o + 1])
template <typename A> struct TapTable {
  std::vector<int64_t> off, idx;
  std::vector<A> w;
};

template <typename A> TapTable<A> tap_table(const ResampleNdParams& p, int d) {
  TapTable<A> t;
  t.off.push_back(0);
  for (int64_t o = 0; o < p.out[d]; o++) {
    Taps<A> k = axis_taps<A>(p, d, o);
    for (int j = 0; j < k.n; j++) t.idx.push_back(k.index(j)), t.w.push_back(k.weight(j));
    t.off.push_back((int64_t)t.idx.size());
  }
  return t;
}

template <typename A> bool is_identity(const TapTable<A>& t, int64_t in) {
  if ((int64_t)t.off.size() - 1 != in) return false;
  for (int64_t o = 0; o < in; o++)
    if (t.off[o + 1] - t.off[o] != 1 || t.idx[o] != o || t.w[o] != A(1)) return false;
  return true;
}

// Along the last dim: rows of `len` inputs -> rows of t's outputs, out[r][o] = sum_c in[r][idx_c] w_c
template <typename T, typename A> void forward_last(const TapTable<A>& t, const T* in, int64_t rows, int64_t len, T* out) {
  const int64_t n = (int64_t)t.off.size() - 1;
  parallel_for(0, rows, grain_for(n * 4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* x = in + r * len;
      T* y = out + r * n;
      for (int64_t o = 0; o < n; o++) {
        A s = 0;
        for (int64_t c = t.off[o]; c < t.off[o + 1]; c++) s += A(x[t.idx[c]]) * t.w[c];
        y[o] = T(s);
      }
    }
  });
}

// Along a middle dim of (outer, len, inner) -> (outer, n, inner): each output row is a weighted sum of
// whole input rows (contiguous inner vectors)
template <typename T, typename A>
void forward_middle(const TapTable<A>& t, const T* in, int64_t outer, int64_t len, int64_t inner, T* out) {
  const int64_t n = (int64_t)t.off.size() - 1;
  parallel_for(0, outer * n, grain_for(inner * 4), [&](int64_t r0, int64_t r1) {
    std::vector<A> acc(inner);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t o = r / n, m = r % n;
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t j = t.off[m]; j < t.off[m + 1]; j++) {
        const T* row = in + (o * len + t.idx[j]) * inner;
        const A w = t.w[j];
        for (int64_t k = 0; k < inner; k++) acc[k] += A(row[k]) * w;
      }
      T* y = out + r * inner;
      for (int64_t k = 0; k < inner; k++) y[k] = T(acc[k]);
    }
  });
}

// Transposes of the two passes: out (zeroed by the caller) += the adjoint applied to in
template <typename T, typename A> void backward_last(const TapTable<A>& t, const T* in, int64_t rows, int64_t len, T* out) {
  const int64_t n = (int64_t)t.off.size() - 1;
  parallel_for(0, rows, grain_for(n * 4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const T* g = in + r * n;
      T* dx = out + r * len;
      for (int64_t o = 0; o < n; o++)
        for (int64_t c = t.off[o]; c < t.off[o + 1]; c++) dx[t.idx[c]] += T(A(g[o]) * t.w[c]);
    }
  });
}

template <typename T, typename A>
void backward_middle(const TapTable<A>& t, const T* in, int64_t outer, int64_t len, int64_t inner, T* out) {
  const int64_t n = (int64_t)t.off.size() - 1;
  parallel_for(0, outer, grain_for(n * inner * 4), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; o++)
      for (int64_t m = 0; m < n; m++) {
        const T* g = in + (o * n + m) * inner;
        for (int64_t j = t.off[m]; j < t.off[m + 1]; j++) {
          T* dx = out + (o * len + t.idx[j]) * inner;
          const A w = t.w[j];
          for (int64_t k = 0; k < inner; k++) dx[k] += T(A(g[k]) * w);
        }
      }
  });
}

}  // namespace

// x (planes, D, H, W) -> y (planes, OD, P, Q), both contiguous. Separable: along W, then H, then D (the
// order in which a single output's taps would be summed), skipping dims the map leaves alone; each
// output of a pass costs its own dim's taps, not the product of all three.
template <typename T>
void resample_cpu(const ResampleNdParams& p, const T* x, T* y) {
  using A = typename OpMath<T>::type;
  const TapTable<A> td = tap_table<A>(p, 0), th = tap_table<A>(p, 1), tw = tap_table<A>(p, 2);
  const int64_t D = p.in[0], H = p.in[1], P = p.out[1], Q = p.out[2];
  const bool do_h = !is_identity(th, H), do_d = !is_identity(td, D);
  std::vector<T> t1, t2;
  T* a = (do_h || do_d) ? (t1.resize(p.planes * D * H * Q), t1.data()) : y;
  forward_last(tw, x, p.planes * D * H, p.in[2], a);
  if (do_h) {
    T* b = do_d ? (t2.resize(p.planes * D * P * Q), t2.data()) : y;
    forward_middle(th, a, p.planes * D, H, Q, b);
    a = b;
  }
  if (do_d) forward_middle(td, a, p.planes, D, P * Q, y);
}

// dx (planes, D, H, W) zeroed by the caller += the transpose of resample_cpu applied to dy: the passes'
// adjoints in reverse order
template <typename T>
void resample_backward_cpu(const ResampleNdParams& p, const T* dy, T* dx) {
  using A = typename OpMath<T>::type;
  const TapTable<A> td = tap_table<A>(p, 0), th = tap_table<A>(p, 1), tw = tap_table<A>(p, 2);
  const int64_t D = p.in[0], H = p.in[1], P = p.out[1], Q = p.out[2];
  const bool do_h = !is_identity(th, H), do_d = !is_identity(td, D);
  std::vector<T> t1, t2;
  const T* g = dy;
  if (do_d) {
    t2.assign(p.planes * D * P * Q, T(0));
    backward_middle(td, g, p.planes, D, P * Q, t2.data());
    g = t2.data();
  }
  if (do_h) {
    t1.assign(p.planes * D * H * Q, T(0));
    backward_middle(th, g, p.planes * D, H, Q, t1.data());
    g = t1.data();
  }
  backward_last(tw, g, p.planes * D * H, p.in[2], dx);
}

// ---------------------------------------------------------------- grid_sample
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
        if (p.mode == 2) {
          const CubicAxis<T> ax = cubic_axis(gp[0], p.W, p), ay = cubic_axis(gp[1], p.H, p);
          for (int j = 0; j < 4; j++)
            for (int q = 0; q < 4; q++)
              if (ay.ok[j] && ax.ok[q]) dxc[ay.idx[j] * p.W + ax.idx[q]] += ax.w[q] * ay.w[j] * g[pix];
          continue;
        }
        Corners<T> k = corners(p, gp);
        for (int j = 0; j < 4; j++)
          if (k.ok[j]) dxc[k.h[j] * p.W + k.w[j]] += k.wt[j] * g[pix];
      }
    }
  });
}

#define PYML_VISION_INST(T)                                                                                 \
  template void upsample_cpu<T>(const ResampleParams&, const T*, T*);                                       \
  template void upsample_backward_cpu<T>(const ResampleParams&, const T*, T*);                              \
  template void grid_sample_cpu<T>(const GridSampleParams&, const T*, const T*, T*);                        \
  template void grid_sample_backward_cpu<T>(const GridSampleParams&, const T*, const T*, const T*, T*, T*); \
  template void resample_cpu<T>(const ResampleNdParams&, const T*, T*);                                     \
  template void resample_backward_cpu<T>(const ResampleNdParams&, const T*, T*);
PYML_VISION_INST(float)
PYML_VISION_INST(double)

}  // namespace pyml
