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

// resample_point with the taps from tables: plane xp (D, H, W) at (od, oh, ow)
template <typename T, typename A>
A sample_point(const TapTable<A>* tt, const ResampleNdParams& p, const T* xp, int64_t od, int64_t oh, int64_t ow) {
  const TapTable<A>&td = tt[0], &th = tt[1], &tw = tt[2];
  A acc = 0;
  for (int64_t a = td.off[od]; a < td.off[od + 1]; a++) {
    A s1 = 0;
    for (int64_t b = th.off[oh]; b < th.off[oh + 1]; b++) {
      const T* row = xp + (td.idx[a] * p.in[1] + th.idx[b]) * p.in[2];
      A s2 = 0;
      for (int64_t c = tw.off[ow]; c < tw.off[ow + 1]; c++) s2 += A(row[tw.idx[c]]) * tw.w[c];
      s1 += s2 * th.w[b];
    }
    acc += s1 * td.w[a];
  }
  return acc;
}

}  // namespace

// x (planes, D, H, W) -> y (planes, OD, P, Q), both contiguous; one task per output row
template <typename T>
void resample_cpu(const ResampleNdParams& p, const T* x, T* y) {
  using A = typename OpMath<T>::type;
  const TapTable<A> tt[3] = {tap_table<A>(p, 0), tap_table<A>(p, 1), tap_table<A>(p, 2)};
  const int64_t OD = p.out[0], P = p.out[1], Q = p.out[2], in_plane = p.in[0] * p.in[1] * p.in[2];
  // taps per output row (tables hold every output index's taps)
  const double taps = double(tt[0].w.size()) * double(tt[1].w.size()) * double(tt[2].w.size()) / double(OD * P);
  const int64_t work = (int64_t)std::min(taps, 1e15);
  parallel_for(0, p.planes * OD * P, grain_for(work), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t plane = r / (OD * P), od = r / P % OD, oh = r % P;
      T* out = y + r * Q;
      for (int64_t q = 0; q < Q; q++) out[q] = T(sample_point(tt, p, x + plane * in_plane, od, oh, q));
    }
  });
}

// dx (planes, D, H, W) zeroed by the caller += the transpose of resample_cpu applied to dy
template <typename T>
void resample_backward_cpu(const ResampleNdParams& p, const T* dy, T* dx) {
  using A = typename OpMath<T>::type;
  const TapTable<A> tt[3] = {tap_table<A>(p, 0), tap_table<A>(p, 1), tap_table<A>(p, 2)};
  const TapTable<A>&td = tt[0], &th = tt[1], &tw = tt[2];
  const int64_t OD = p.out[0], P = p.out[1], Q = p.out[2], H = p.in[1], W = p.in[2];
  const int64_t out_plane = OD * P * Q, in_plane = p.in[0] * H * W;
  const int64_t work = (int64_t)std::min(double(td.w.size()) * double(th.w.size()) * double(tw.w.size()), 1e15);
  parallel_for(0, p.planes, grain_for(work), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const T* g = dy + i * out_plane;
      T* dxp = dx + i * in_plane;
      for (int64_t od = 0; od < OD; od++)
        for (int64_t oh = 0; oh < P; oh++)
          for (int64_t ow = 0; ow < Q; ow++) {
            A v = g[(od * P + oh) * Q + ow];
            for (int64_t a = td.off[od]; a < td.off[od + 1]; a++)
              for (int64_t b = th.off[oh]; b < th.off[oh + 1]; b++) {
                T* row = dxp + (td.idx[a] * H + th.idx[b]) * W;
                A vab = v * td.w[a] * th.w[b];
                for (int64_t c = tw.off[ow]; c < tw.off[ow + 1]; c++) row[tw.idx[c]] += T(vab * tw.w[c]);
              }
          }
    }
  });
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
