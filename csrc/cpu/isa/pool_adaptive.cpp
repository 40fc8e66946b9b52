// Adaptive average pooling forward and backward, float32, W-contiguous planes. Output o along a dim
// of n inputs and m outputs averages inputs [floor(o*n/m), ceil((o+1)*n/m)); both ends are
// precomputed per call, so the loops never divide. Forward: per output row, the window sums of
// each of its input rows (SIMD over wide windows, e.g. global pooling), then one divide. Backward:
// per input row, g = sum over the output rows holding it of dy / area, then each dx column is the g
// of its window (a fill per window; columns shared by two windows get both), so dx needs no zeroing.
#include <vector>
#include "cpu/isa/pool_simd.h"
#include "cpu/pool_fast.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {
using namespace pool;

struct AdaptDim {
  std::vector<int64_t> lo, hi;  // per output: window [lo, hi)
  std::vector<int64_t> cover;   // per input i: outputs [cover[2i], cover[2i+1]) hold i
};

AdaptDim adapt_dim(int64_t out, int64_t in) {
  AdaptDim a{std::vector<int64_t>(out), std::vector<int64_t>(out), std::vector<int64_t>(2 * in)};
  for (int64_t o = 0; o < out; o++) a.lo[o] = o * in / out, a.hi[o] = ((o + 1) * in + out - 1) / out;
  for (int64_t i = 0, o0 = 0; i < in; i++) {
    while (a.hi[o0] <= i) o0++;  // windows cover every input, so o0 < out
    int64_t o1 = o0;
    while (o1 < out && a.lo[o1] <= i) o1++;
    a.cover[2 * i] = o0, a.cover[2 * i + 1] = o1;
  }
  return a;
}

static inline float range_sum(const float* r, int64_t a, int64_t b) {
  float s = 0;
  if (b - a >= 2 * kVF) {
    VF acc = vld<VF>(r + a);
    for (a += kVF; a + kVF <= b; a += kVF) acc += vld<VF>(r + a);
    for (int j = 0; j < kVF; j++) s += acc[j];
  }
  for (; a < b; a++) s += r[a];
  return s;
}

void adaptive_row(const PoolParams& p, const AdaptDim& rows, const AdaptDim& cols, const float* xp, int64_t oh,
                  float* acc, float* y) {
  std::fill(acc, acc + p.Q, 0.0f);
  for (int64_t h = rows.lo[oh]; h < rows.hi[oh]; h++)
    for (int64_t ow = 0; ow < p.Q; ow++) acc[ow] += range_sum(xp + h * p.xs_h, cols.lo[ow], cols.hi[ow]);
  float rh = float(rows.hi[oh] - rows.lo[oh]);
  for (int64_t ow = 0; ow < p.Q; ow++) y[ow] = acc[ow] / (rh * float(cols.hi[ow] - cols.lo[ow]));
}

bool adaptive_avg_f32(const PoolParams& p, const float* x, float* y) {
  if (p.xs_w != 1 || p.P == 0 || p.Q == 0) return false;
  AdaptDim rows = adapt_dim(p.P, p.H), cols = adapt_dim(p.Q, p.W);
  for_items(p.planes * p.P, planes_grain(p.W * (p.H / p.P + 2)), [&](int64_t i0, int64_t i1) {
    float* acc = scratch<float, 3>(p.Q);
    for (int64_t i = i0; i < i1; i++) {
      int64_t plane = i / p.P, oh = i % p.P;
      const float* xp = x + plane / p.C * p.xs_n + plane % p.C * p.xs_c;
      adaptive_row(p, rows, cols, xp, oh, acc, y + i * p.Q);
    }
  });
  return true;
}

// dx row h of one plane: g[ow] = sum over the output rows holding h of dy / area, then spread
void adaptive_grad_row(const PoolParams& p, const AdaptDim& rows, const AdaptDim& cols, const float* dy, int64_t h,
                       float* g, float* dxr) {
  std::fill(g, g + p.Q, 0.0f);
  for (int64_t oh = rows.cover[2 * h]; oh < rows.cover[2 * h + 1]; oh++) {
    float rh = float(rows.hi[oh] - rows.lo[oh]);
    for (int64_t ow = 0; ow < p.Q; ow++) g[ow] += dy[oh * p.Q + ow] / (rh * float(cols.hi[ow] - cols.lo[ow]));
  }
  int64_t done = 0;  // dx[0, done) already written
  for (int64_t ow = 0; ow < p.Q; ow++) {
    for (int64_t w = cols.lo[ow]; w < done; w++) dxr[w] += g[ow];
    done = std::max(done, cols.lo[ow]);
    std::fill(dxr + done, dxr + cols.hi[ow], g[ow]);
    done = std::max(done, cols.hi[ow]);
  }
}

bool adaptive_avg_backward_f32(const PoolParams& p, const float* dy, float* dx) {
  if (p.P == 0 || p.Q == 0) return false;
  AdaptDim rows = adapt_dim(p.P, p.H), cols = adapt_dim(p.Q, p.W);
  for_items(p.planes * p.H, planes_grain(2 * p.W + p.Q), [&](int64_t i0, int64_t i1) {
    float* g = scratch<float, 3>(p.Q);
    for (int64_t i = i0; i < i1; i++) {
      int64_t plane = i / p.H, h = i % p.H;
      adaptive_grad_row(p, rows, cols, dy + plane * p.P * p.Q, h, g, dx + i * p.W);
    }
  });
  return true;
}

}  // namespace

void fill_adaptive_pool_kernels(PoolFastKernels& k) {
  k.adaptive_avg_pool = adaptive_avg_f32;
  k.adaptive_avg_pool_backward = adaptive_avg_backward_f32;
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
