// Index and weight math of resampling (torch's UpSample.h / GridSampler.h formulas), written once
// for the CPU kernels (cpu/vision.cpp) and the CUDA kernels (cuda/vision.cu) so both pick the same
// source pixels. nvcc would fuse a product followed by an add into an FMA (one rounding instead of
// two) and could land on the other side of a pixel boundary than the CPU; the products that decide
// an index therefore go through mul_rn, a plain multiply on the host and __fmul_rn/__dmul_rn
// (never fused) on the device.
// Also declares the separable resampler (5-D nearest/trilinear, bicubic, antialiased filters:
// ResampleNdParams, resample_forward/backward and their CPU kernels); ops/conv.h holds the rest.
#pragma once
#include <cmath>
#include <cstdint>
#include "ops/conv.h"

#ifndef PYML_HOST_DEVICE
#ifdef __CUDACC__
#define PYML_HOST_DEVICE __host__ __device__
#else
#define PYML_HOST_DEVICE
#endif
#endif

namespace pyml {
namespace resample {

PYML_HOST_DEVICE inline float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
PYML_HOST_DEVICE inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// torch's nearest_idx / nearest_neighbor_exact_compute_source_index (scale in float32)
PYML_HOST_DEVICE inline int64_t nearest_src(int64_t o, int64_t in, int64_t out, double user, bool exact) {
  float scale = user > 0 ? float(1.0 / user) : float(in) / float(out);
  if (!exact && out == in) return o;
  if (!exact && out == 2 * in) return o >> 1;
  int64_t s = (int64_t)floorf(exact ? mul_rn(float(o) + 0.5f, scale) : mul_rn(float(o), scale));
  return s < in - 1 ? s : in - 1;
}

// torch's compute_indices_weights_linear: the source index pair and weights in the math type A. A dim
// that keeps its size is copied, whatever the scale factor (torch's compute_source_index_and_lambda).
template <typename A> struct Lin {
  int64_t i0, i1;
  A l0, l1;
};

template <typename A>
PYML_HOST_DEVICE inline Lin<A> linear_at(int64_t o, int64_t in, int64_t out, double user, bool align) {
  if (in == out) return {o, o, A(1), A(0)};
  A scale = align ? (out > 1 ? A(in - 1) / A(out - 1) : A(0)) : (user > 0 ? A(1.0 / user) : A(in) / A(out));
  A src = align ? mul_rn(scale, A(o)) : mul_rn(scale, A(o) + A(0.5)) - A(0.5);
  src = src < A(0) ? A(0) : src;  // only the half-pixel form can go below 0
  int64_t i0 = (int64_t)src;
  A l1 = src - A(i0);
  l1 = l1 < A(0) ? A(0) : (A(1) < l1 ? A(1) : l1);
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), A(1) - l1, l1};
}

// ---- cubic convolution (Keys): weights of the taps at floor(s) - 1 .. floor(s) + 2 for the fraction t;
// a = -0.75 for bicubic (as torch and OpenCV), -0.5 for the antialiased filter (as PIL)
template <typename A> PYML_HOST_DEVICE inline A cubic_near(A x, A a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }
template <typename A> PYML_HOST_DEVICE inline A cubic_far(A x, A a) {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

template <typename A> PYML_HOST_DEVICE inline void cubic_weights(A t, A* w) {
  const A a = A(-0.75), s = 1 - t;  // the last weight at (1 - t) + 1 as torch rounds it
  w[0] = cubic_far(t + 1, a), w[1] = cubic_near(t, a), w[2] = cubic_near(s, a), w[3] = cubic_far(s + 1, a);
}

// d/dt of cubic_weights, from the derivatives of the two pieces
template <typename A> PYML_HOST_DEVICE inline A cubic_near_dx(A x, A a) { return (3 * (a + 2) * x - 2 * (a + 3)) * x; }
template <typename A> PYML_HOST_DEVICE inline A cubic_far_dx(A x, A a) { return (3 * a * x - 10 * a) * x + 8 * a; }

template <typename A> PYML_HOST_DEVICE inline void cubic_weights_dt(A t, A* d) {
  const A a = A(-0.75);
  d[0] = cubic_far_dx(t + 1, a), d[1] = cubic_near_dx(t, a), d[2] = -cubic_near_dx(1 - t, a);
  d[3] = -cubic_far_dx(2 - t, a);
}

// ---- separable resampling of up to 3 spatial dims (ops/vision.cpp resample_forward): planes
// (planes, D, H, W) -> (planes, OD, P, Q), one output value = sum over the taps of each dim of
// w_d * w_h * w_w * x. Dims in front of the nd spatial ones have in = out = 1.
struct ResampleNdParams {
  int64_t planes;
  int64_t in[3], out[3];  // (D, H, W) and (OD, P, Q)
  double user[3];         // scale factors the user gave (0: none)
  int nd;                 // spatial dims, 1..3
  int mode;               // 0 nearest, 1 nearest-exact, 2 linear, 3 cubic, 4 lanczos (antialias only)
  bool align_corners, antialias;
};

// torch's area_pixel_compute_scale
template <typename A> PYML_HOST_DEVICE inline A area_scale(int64_t in, int64_t out, double user, bool align) {
  return align ? (out > 1 ? A(in - 1) / A(out - 1) : A(0)) : (user > 0 ? A(1.0 / user) : A(in) / A(out));
}

// torch's generic CPU nearest (HelperInterpNearest, HelperInterpNearestExact), its 1-D and 3-D kernel:
// nearest_src without the special cases, the source coordinate in the math type A floored as float.
template <typename A>
PYML_HOST_DEVICE inline int64_t nearest_src_plain(int64_t o, int64_t in, int64_t out, double user, bool exact) {
  const A scale = area_scale<A>(in, out, user, false);
  A src = exact ? mul_rn(scale, A(o) + A(0.5)) - A(0.5) : mul_rn(scale, A(o));
  if (exact) src = (src < A(0) ? A(0) : src) + A(0.5);
  int64_t s = (int64_t)floorf(float(src));
  return s < in - 1 ? s : in - 1;
}

// Antialiasing filters at distance x (in output pixels): triangle (linear), cubic with a = -0.5,
// Lanczos-3. Their half widths in source pixels before widening are 1, 2 and 3.
template <typename A> PYML_HOST_DEVICE inline A aa_filter(int mode, A x) {
  x = x < 0 ? -x : x;
  if (mode == 2) return x < 1 ? 1 - x : A(0);
  if (mode == 3) return x < 1 ? cubic_near(x, A(-0.5)) : (x < 2 ? cubic_far(x, A(-0.5)) : A(0));
  if (x >= 3) return 0;
  if (x == 0) return 1;
  const double px = 3.14159265358979323846 * double(x);  // sin in double on both devices
  return A(sin(px) / px * (sin(px / 3) / (px / 3)));
}

// The taps of one output index along one dim: source indices lo + j (clamped into [0, last]) for
// j < n, weights w[j] (fixed kinds) or the normalised antialiasing filter.
template <typename A> struct Taps {
  int64_t lo, last;
  int n, filter;  // filter: -1 fixed weights, else the antialiasing mode
  A w[4];
  A center, inv, total;  // antialias: weight j = filter((lo + j - center + 0.5) * inv) / total

  PYML_HOST_DEVICE int64_t index(int j) const {
    int64_t i = lo + j;
    return i < 0 ? 0 : (i > last ? last : i);
  }
  PYML_HOST_DEVICE A raw(int j) const {  // the filter's argument rounded once from double, as in torch
    return aa_filter(filter, A((double(A(lo + j) - center) + 0.5) * double(inv)));
  }
  PYML_HOST_DEVICE A weight(int j) const {
    if (filter < 0) return w[j];
    return total != A(0) ? raw(j) / total : raw(j);
  }
};

// torch's antialiased taps (_compute_weights_aa): the filter widens by the downscale factor, the
// truncating casts are torch's, and the weights are normalised to sum to one.
template <typename A>
PYML_HOST_DEVICE inline void aa_taps(Taps<A>& t, int mode, int64_t o, int64_t in, int64_t out, double user,
                                     bool align) {
  const A scale = area_scale<A>(in, out, user, align), half = A(mode == 2 ? 1 : (mode == 3 ? 2 : 3));
  const A support = scale >= A(1) ? half * scale : half;
  t.filter = mode;
  t.center = mul_rn(scale, A(o) + A(0.5));
  t.inv = scale >= A(1) ? A(1) / scale : A(1);
  int64_t lo = (int64_t)(t.center - support + A(0.5)), hi = (int64_t)(t.center + support + A(0.5));
  t.lo = lo > 0 ? lo : 0;
  t.n = int((hi < in ? hi : in) - t.lo);
  t.total = 0;
  for (int j = 0; j < t.n; j++) t.total += t.raw(j);
}

// torch's bicubic taps (compute_indices_weights_cubic): the unclamped half-pixel source coordinate
template <typename A> PYML_HOST_DEVICE inline void cubic_taps(Taps<A>& t, int64_t o, int64_t in, int64_t out,
                                                              double user, bool align) {
  const A scale = area_scale<A>(in, out, user, align);
  const A src = align ? mul_rn(scale, A(o)) : mul_rn(scale, A(o) + A(0.5)) - A(0.5);
  int64_t i0 = (int64_t)floor(src);
  i0 = i0 < in - 1 ? i0 : in - 1;
  A f = src - A(i0);
  f = f < A(0) ? A(0) : (A(1) < f ? A(1) : f);
  t.lo = i0 - 1, t.n = 4;
  cubic_weights(f, t.w);
}

// Dim d (0: D, 1: H, 2: W) of output index o. torch's antialiased kernel leaves a dim whose size
// does not change alone (even with a scale factor other than 1), so does this one.
template <typename A> PYML_HOST_DEVICE inline Taps<A> axis_taps(const ResampleNdParams& p, int d, int64_t o) {
  const int64_t in = p.in[d], out = p.out[d];
  Taps<A> t{};
  t.lo = o, t.last = in - 1, t.n = 1, t.filter = -1, t.w[0] = A(1);
  if (d < 3 - p.nd || (p.antialias && in == out)) return t;
  if (p.antialias) {
    aa_taps(t, p.mode, o, in, out, p.user[d], p.align_corners);
  } else if (p.mode < 2) {
    t.lo = nearest_src_plain<A>(o, in, out, p.user[d], p.mode == 1);
  } else if (p.mode == 2) {
    Lin<A> l = linear_at<A>(o, in, out, p.user[d], p.align_corners);
    t.lo = l.i0, t.n = 2, t.w[0] = l.l0, t.w[1] = l.l1;
  } else {
    cubic_taps(t, o, in, out, p.user[d], p.align_corners);
  }
  return t;
}

// One output value of plane xp (D, H, W) at (od, oh, ow), summed W-taps first, then H, then D
// (torch's order); the CUDA kernel's body, and the CPU kernel's with its taps from tables.
template <typename T, typename A>
PYML_HOST_DEVICE inline A resample_point(const ResampleNdParams& p, const T* xp, int64_t od, int64_t oh, int64_t ow) {
  const Taps<A> td = axis_taps<A>(p, 0, od), th = axis_taps<A>(p, 1, oh), tw = axis_taps<A>(p, 2, ow);
  A acc = 0;
  for (int a = 0; a < td.n; a++) {
    A s1 = 0;
    for (int b = 0; b < th.n; b++) {
      const T* row = xp + (td.index(a) * p.in[1] + th.index(b)) * p.in[2];
      A s2 = 0;
      for (int c = 0; c < tw.n; c++) s2 += A(row[tw.index(c)]) * tw.weight(c);
      s1 += s2 * th.weight(b);
    }
    acc += s1 * td.weight(a);
  }
  return acc;
}

// ---- grid_sample coordinate maps; g receives d(source)/d(grid coord)
template <typename T> PYML_HOST_DEVICE inline T unnormalize(T c, int64_t size, bool align, T* g) {
  if (align) {
    *g = T(size - 1) / 2;
    return (c + 1) / 2 * T(size - 1);
  }
  *g = T(size) / 2;
  return (mul_rn(c + 1, T(size)) - 1) / 2;
}

template <typename T> PYML_HOST_DEVICE inline T clip(T c, int64_t size, T* g) {
  if (c <= T(0)) { *g = 0; return T(0); }
  if (c >= T(size - 1)) { *g = 0; return T(size - 1); }
  *g = 1;
  return c;
}

template <typename T> PYML_HOST_DEVICE inline T reflect(T c, int64_t twice_low, int64_t twice_high, T* g) {
  if (twice_low == twice_high) { *g = 0; return T(0); }
  T mn = T(twice_low) / 2, span = T(twice_high - twice_low) / 2;
  c -= mn;
  T mult = 1;
  if (c < 0) { mult = -1; c = -c; }
  T extra = fmod(c, span);
  int64_t flips = (int64_t)floor(c / span);
  if (flips % 2 == 0) { *g = mult; return extra + mn; }
  *g = -mult;
  return span - extra + mn;
}

template <typename T> PYML_HOST_DEVICE inline T source_index(T c, int64_t size, int padding, bool align, T* g) {
  T gu, gc = 1, gr = 1;
  c = unnormalize(c, size, align, &gu);
  if (padding == 1) {
    c = clip(c, size, &gc);
  } else if (padding == 2) {
    c = align ? reflect(c, 0, 2 * (size - 1), &gr) : reflect(c, -1, 2 * size - 1, &gr);
    c = clip(c, size, &gc);
  }
  *g = gu * gc * gr;
  return c;
}

// Coordinates far outside the image (or NaN) become -2: every corner is then out of bounds, and
// the int64 casts below stay defined.
template <typename T> PYML_HOST_DEVICE inline T tame(T v, int64_t size) {
  return (v > T(-2) && v < T(size + 1)) ? v : T(-2);
}

PYML_HOST_DEVICE inline bool inside(int64_t h, int64_t w, int64_t H, int64_t W) {
  return h >= 0 && h < H && w >= 0 && w < W;
}

// Bilinear corners of one sample: positions (nw, ne, sw, se) and weights; invalid corners get weight 0.
template <typename T> struct Corners {
  int64_t h[4], w[4];
  T wt[4];
  bool ok[4];
  T ix, iy, gx, gy;  // source coordinates and their grid multipliers
};

template <typename T> PYML_HOST_DEVICE inline Corners<T> corners(const GridSampleParams& p, const T* gp) {
  Corners<T> c;
  c.ix = tame(source_index(gp[0], p.W, p.padding, p.align_corners, &c.gx), p.W);
  c.iy = tame(source_index(gp[1], p.H, p.padding, p.align_corners, &c.gy), p.H);
  int64_t x0 = (int64_t)floor(c.ix), y0 = (int64_t)floor(c.iy);
  T fx = c.ix - T(x0), fy = c.iy - T(y0);
  const int64_t hs[4] = {y0, y0, y0 + 1, y0 + 1}, ws[4] = {x0, x0 + 1, x0, x0 + 1};
  const T wts[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
  for (int k = 0; k < 4; k++) {
    c.h[k] = hs[k], c.w[k] = ws[k], c.wt[k] = wts[k];
    c.ok[k] = inside(hs[k], ws[k], p.H, p.W);
  }
  return c;
}

template <typename T> PYML_HOST_DEVICE inline bool nearest_at(const GridSampleParams& p, const T* gp, int64_t& h,
                                                              int64_t& w) {
  T g;
  w = (int64_t)nearbyint(tame(source_index(gp[0], p.W, p.padding, p.align_corners, &g), p.W));
  h = (int64_t)nearbyint(tame(source_index(gp[1], p.H, p.padding, p.align_corners, &g), p.H));
  return inside(h, w, p.H, p.W);
}

// ---- bicubic grid_sample: the taps floor(u) - 1 .. floor(u) + 2 of the unnormalised coordinate u,
// each padded on its own (torch pads the taps, not u); ok[j] false where a tap is outside (zeros).
template <typename T> struct CubicAxis {
  int64_t idx[4];
  bool ok[4];
  T w[4], dw[4], g;  // weights, their d/du, and du/d(grid coord)
};

template <typename T> PYML_HOST_DEVICE inline int64_t pad_tap(int64_t c, int64_t size, int padding, bool align,
                                                              bool* ok) {
  *ok = padding != 0 || (c >= 0 && c < size);
  if (padding == 0) return c;
  T g, v = T(c);
  if (padding == 2) v = align ? reflect(v, 0, 2 * (size - 1), &g) : reflect(v, -1, 2 * size - 1, &g);
  return (int64_t)clip(v, size, &g);
}

// A non-finite coordinate gives NaN weights (as in torch); a far one keeps its fraction but its taps
// stop a little outside the image (zeros, border) or at +-2^50 (reflection) so the casts stay defined.
template <typename T> PYML_HOST_DEVICE inline CubicAxis<T> cubic_axis(T c, int64_t size, const GridSampleParams& p) {
  CubicAxis<T> a;
  T u = unnormalize(c, size, p.align_corners, &a.g), f = floor(u), t = u - f;
  const T lo = p.padding == 2 ? T(-1125899906842624.0) : T(-3), hi = p.padding == 2 ? -lo : T(size + 2);
  if (!(u - u == T(0))) f = T(-3), t = u - u;
  f = f < lo ? lo : (f > hi ? hi : f);
  cubic_weights(t, a.w);
  cubic_weights_dt(t, a.dw);
  for (int j = 0; j < 4; j++) a.idx[j] = pad_tap<T>((int64_t)f - 1 + j, size, p.padding, p.align_corners, &a.ok[j]);
  return a;
}

// x at tap (j, i) of plane xc (H, W): 0 outside
template <typename T> PYML_HOST_DEVICE inline T cubic_tap(const T* xc, int64_t W, const CubicAxis<T>& ay,
                                                          const CubicAxis<T>& ax, int j, int i) {
  return ay.ok[j] && ax.ok[i] ? xc[ay.idx[j] * W + ax.idx[i]] : T(0);
}

// Rows of four taps weighted by wx, then the rows by wy (torch's cubic_interp1d twice)
template <typename T> PYML_HOST_DEVICE inline T cubic_sample(const T* xc, int64_t W, const CubicAxis<T>& ay,
                                                             const CubicAxis<T>& ax, const T* wy, const T* wx) {
  T s = 0;
  for (int j = 0; j < 4; j++) {
    T r = 0;
    for (int i = 0; i < 4; i++) r += cubic_tap(xc, W, ay, ax, j, i) * wx[i];
    s += r * wy[j];
  }
  return s;
}

// grid_sample forward of one output pixel it = n * P * Q + pix over all channels:
// x (N, C, H, W), grid (N, P, Q, 2), y (N, C, P, Q), all contiguous
template <typename T>
PYML_HOST_DEVICE inline void grid_sample_pixel(const GridSampleParams& p, const T* x, const T* grid, T* y, int64_t it) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, n = it / PQ, pix = it % PQ;
  const T* gp = grid + it * 2;
  const T* xn = x + n * p.C * HW;
  T* yn = y + n * p.C * PQ + pix;
  if (p.mode == 1) {
    int64_t h, w;
    bool ok = nearest_at(p, gp, h, w);
    for (int64_t c = 0; c < p.C; c++) yn[c * PQ] = ok ? xn[c * HW + h * p.W + w] : T(0);
    return;
  }
  if (p.mode == 2) {
    const CubicAxis<T> ax = cubic_axis(gp[0], p.W, p), ay = cubic_axis(gp[1], p.H, p);
    for (int64_t c = 0; c < p.C; c++) yn[c * PQ] = cubic_sample(xn + c * HW, p.W, ay, ax, ay.w, ax.w);
    return;
  }
  Corners<T> k = corners(p, gp);
  for (int64_t c = 0; c < p.C; c++) {
    const T* xc = xn + c * HW;
    T s = 0;
    for (int j = 0; j < 4; j++)
      if (k.ok[j]) s += xc[k.h[j] * p.W + k.w[j]] * k.wt[j];
    yn[c * PQ] = s;
  }
}

// d(loss)/d(grid) of one bicubic output pixel: the sample with the weights of one axis replaced by
// their derivatives, summed over channels, times du/d(grid)
template <typename T>
PYML_HOST_DEVICE inline void grid_sample_dgrid_cubic(const GridSampleParams& p, const T* dy, const T* x,
                                                     const T* grid, T* dg, int64_t it) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, n = it / PQ, pix = it % PQ;
  const CubicAxis<T> ax = cubic_axis(grid[it * 2], p.W, p), ay = cubic_axis(grid[it * 2 + 1], p.H, p);
  T gx = 0, gy = 0;
  for (int64_t c = 0; c < p.C; c++) {
    const T* xc = x + (n * p.C + c) * HW;
    T g = dy[(n * p.C + c) * PQ + pix];
    gx += cubic_sample(xc, p.W, ay, ax, ay.w, ax.dw) * g;
    gy += cubic_sample(xc, p.W, ay, ax, ay.dw, ax.w) * g;
  }
  dg[0] = gx * ax.g;
  dg[1] = gy * ay.g;
}

// d(loss)/d(grid) of one output pixel it, a sum over channels (dy: (N, C, P, Q)). d/dix of the
// bilinear weights: nw -(1-fy), ne (1-fy), sw -fy, se fy; d/diy alike. Nearest: zero.
template <typename T>
PYML_HOST_DEVICE inline void grid_sample_dgrid_pixel(const GridSampleParams& p, const T* dy, const T* x, const T* grid,
                                                    T* dgrid, int64_t it) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, n = it / PQ, pix = it % PQ;
  T* dg = dgrid + it * 2;
  if (p.mode == 1) { dg[0] = dg[1] = 0; return; }
  if (p.mode == 2) { grid_sample_dgrid_cubic(p, dy, x, grid, dg, it); return; }
  Corners<T> k = corners(p, grid + it * 2);
  T fx = k.ix - T(k.w[0]), fy = k.iy - T(k.h[0]);
  const T dwx[4] = {-(1 - fy), 1 - fy, -fy, fy}, dwy[4] = {-(1 - fx), -fx, 1 - fx, fx};
  T gx = 0, gy = 0;
  for (int64_t c = 0; c < p.C; c++) {
    const T* xc = x + (n * p.C + c) * HW;
    T g = dy[(n * p.C + c) * PQ + pix];
    for (int j = 0; j < 4; j++)
      if (k.ok[j]) {
        T v = xc[k.h[j] * p.W + k.w[j]] * g;
        gx += v * dwx[j];
        gy += v * dwy[j];
      }
  }
  dg[0] = gx * k.gx;
  dg[1] = gy * k.gy;
}

}  // namespace resample

using resample::ResampleNdParams;

// interpolate's entry for every mode and rank (the 1-D/2-D nearest and linear cases go on to
// upsample_forward's kernels); mode as in ResampleNdParams, scales as in upsample_forward.
Tensor resample_forward(const Tensor& x, const IntList& output_size, const std::vector<double>& scales,
                        int64_t mode, bool align_corners, bool antialias);
Tensor resample_backward(const Tensor& dy, const IntList& input_size, const std::vector<double>& scales,
                         int64_t mode, bool align_corners, bool antialias);
// x (planes, D, H, W) -> y (planes, OD, P, Q); dx zero-filled by the caller
template <typename T> void resample_cpu(const ResampleNdParams& p, const T* x, T* y);
template <typename T> void resample_backward_cpu(const ResampleNdParams& p, const T* dy, T* dx);

}  // namespace pyml
