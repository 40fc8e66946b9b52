// Index and weight math of resampling (torch's UpSample.h / GridSampler.h formulas), written once
// for the CPU kernels (cpu/vision.cpp) and the CUDA kernels (cuda/vision.cu) so both pick the same
// source pixels. nvcc would fuse a product followed by an add into an FMA (one rounding instead of
// two) and could land on the other side of a pixel boundary than the CPU; the products that decide
// an index therefore go through mul_rn, a plain multiply on the host and __fmul_rn/__dmul_rn
// (never fused) on the device.
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

// torch's compute_indices_weights_linear: the source index pair and weights in the math type A
template <typename A> struct Lin {
  int64_t i0, i1;
  A l0, l1;
};

template <typename A>
PYML_HOST_DEVICE inline Lin<A> linear_at(int64_t o, int64_t in, int64_t out, double user, bool align) {
  A scale = align ? (out > 1 ? A(in - 1) / A(out - 1) : A(0)) : (user > 0 ? A(1.0 / user) : A(in) / A(out));
  A src = align ? mul_rn(scale, A(o)) : mul_rn(scale, A(o) + A(0.5)) - A(0.5);
  src = src < A(0) ? A(0) : src;  // only the half-pixel form can go below 0
  int64_t i0 = (int64_t)src;
  A l1 = src - A(i0);
  l1 = l1 < A(0) ? A(0) : (A(1) < l1 ? A(1) : l1);
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), A(1) - l1, l1};
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
  Corners<T> k = corners(p, gp);
  for (int64_t c = 0; c < p.C; c++) {
    const T* xc = xn + c * HW;
    T s = 0;
    for (int j = 0; j < 4; j++)
      if (k.ok[j]) s += xc[k.h[j] * p.W + k.w[j]] * k.wt[j];
    yn[c * PQ] = s;
  }
}

// d(loss)/d(grid) of one output pixel it, a sum over channels (dy: (N, C, P, Q)). d/dix of the
// bilinear weights: nw -(1-fy), ne (1-fy), sw -fy, se fy; d/diy alike. Nearest: zero.
template <typename T>
PYML_HOST_DEVICE inline void grid_sample_dgrid_pixel(const GridSampleParams& p, const T* dy, const T* x, const T* grid,
                                                    T* dgrid, int64_t it) {
  const int64_t PQ = p.P * p.Q, HW = p.H * p.W, n = it / PQ, pix = it % PQ;
  T* dg = dgrid + it * 2;
  if (p.mode == 1) { dg[0] = dg[1] = 0; return; }
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
}  // namespace pyml
