// Max-pool backward from window codes, float32: dx (planes, H, W) = 0, then dx[tap of code[o]] +=
// dy[o] for each plane in output order (the same sums, in the same order, as the int64 scatter).
// Codes (uint8, r*S + s in the unclipped window) are an eighth of the indices' bytes: the whole
// point, as the scatter is bound by memory. Interior windows (every tap inside the input) need
// one compare per code (code < R*S) and a table of tap offsets; border windows check the tap.
// (A gather by input rows, SIMD over the stride's column classes, was tried: it writes dx once
// but tests up to R*S/(sh*sw) candidates per element and ran 1.6 ms against the scatter's 1.1 ms.)
#include <vector>
#include "cpu/isa/pool_simd.h"
#include "cpu/pool_fast.h"

namespace pyml {
namespace PYML_ISA_NS {
namespace {
using namespace pool;

struct CodePlan {
  const PoolParams& p;
  int64_t taps;                            // R * S
  int64_t tap_r[kMaxCodeTaps], tap_s[kMaxCodeTaps], off[kMaxCodeTaps];  // off: tap_r*dh*W + tap_s*dw
  DimGeo rows, cols;                       // interior output rows / columns
};

static bool tap_inside(const CodePlan& c, int64_t oh, int64_t ow, uint8_t code) {
  const PoolParams& p = c.p;
  if (code >= c.taps) return false;
  int64_t h = oh * p.sh - p.ph + c.tap_r[code] * p.dh, w = ow * p.sw - p.pw + c.tap_s[code] * p.dw;
  return h >= 0 && h < p.H && w >= 0 && w < p.W;
}

// Outputs [lo, hi) of output row oh, any window: each tap checked.
static int64_t scatter_checked(const CodePlan& c, int64_t oh, int64_t lo, int64_t hi, const float* dr,
                               const uint8_t* cr, float* dp) {
  const PoolParams& p = c.p;
  for (int64_t ow = lo; ow < hi; ow++) {
    uint8_t k = cr[ow];
    if (!tap_inside(c, oh, ow, k)) return ow;
    dp[(oh * p.sh - p.ph) * p.W + ow * p.sw - p.pw + c.off[k]] += dr[ow];
  }
  return -1;
}

// One plane: returns the first bad output position or -1.
int64_t scatter_codes(const CodePlan& c, const float* dy, const uint8_t* code, float* dp) {
  const PoolParams& p = c.p;
  std::memset(dp, 0, p.H * p.W * sizeof(float));
  for (int64_t oh = 0; oh < p.P; oh++) {
    const float* dr = dy + oh * p.Q;
    const uint8_t* cr = code + oh * p.Q;
    bool inner = oh >= c.rows.lo && oh < c.rows.hi;
    int64_t lo = inner ? c.cols.lo : p.Q, hi = inner ? c.cols.hi : p.Q, bad;
    if ((bad = scatter_checked(c, oh, 0, lo, dr, cr, dp)) >= 0) return oh * p.Q + bad;
    float* base = dp + (oh * p.sh - p.ph) * p.W - p.pw;  // + ow*sw: the window's first tap
    for (int64_t ow = lo; ow < hi; ow++) {
      uint8_t k = cr[ow];
      if (__builtin_expect(k >= c.taps, 0)) return oh * p.Q + ow;
      base[ow * p.sw + c.off[k]] += dr[ow];
    }
    if ((bad = scatter_checked(c, oh, hi, p.Q, dr, cr, dp)) >= 0) return oh * p.Q + bad;
  }
  return -1;
}

int64_t max_pool_grad_codes_f32(const PoolParams& p, const float* dy, const uint8_t* codes, float* dx) {
  CodePlan c{p, p.R * p.S, {}, {}, {}, dim_geometry(p.P, p.H, p.R, p.sh, p.ph, p.dh),
             dim_geometry(p.Q, p.W, p.S, p.sw, p.pw, p.dw)};
  for (int64_t k = 0; k < c.taps; k++) {
    c.tap_r[k] = k / p.S, c.tap_s[k] = k % p.S;
    c.off[k] = c.tap_r[k] * p.dh * p.W + c.tap_s[k] * p.dw;
  }
  const int64_t in_n = p.H * p.W, out_n = p.P * p.Q;
  std::atomic<int64_t> first_bad{INT64_MAX};
  for_items(p.planes, planes_grain(in_n + 2 * out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      int64_t bad = scatter_codes(c, dy + i * out_n, codes + i * out_n, dx + i * in_n);
      int64_t seen = first_bad.load();
      while (bad >= 0 && i * out_n + bad < seen && !first_bad.compare_exchange_weak(seen, i * out_n + bad)) {}
    }
  });
  int64_t bad = first_bad.load();
  return bad == INT64_MAX ? -1 : bad;
}

}  // namespace

void fill_max_pool_code_kernels(PoolFastKernels& k) { k.max_pool_backward_codes = max_pool_grad_codes_f32; }

}  // namespace PYML_ISA_NS
}  // namespace pyml
