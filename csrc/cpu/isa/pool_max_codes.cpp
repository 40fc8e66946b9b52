// Max-pool backward from window codes, float32: dx (planes, H, W) = 0, then dx[tap of code[o]] +=
// dy[o] for each plane in output order (the same sums, in the same order, as the int64 scatter).
// Codes (uint8, r*S + s in the unclipped window) are an eighth of the indices' bytes: the whole
// point, as the scatter is bound by memory. Interior windows (every tap inside the input) need
// one compare per code (code < R*S) and a table of tap offsets; border windows check the tap.
// (A gather by input rows, SIMD over the stride's column classes, was tried: it writes dx once
// but tests up to R*S/(sh*sw) candidates per element and ran 1.6 ms against the scatter's 1.1 ms.)
// Windows that tile the input (stride = kernel, no padding or dilation: MaxPool2d(2)) give each
// element at most one gradient: dx is written once, window by window, with no zero fill.
#include <immintrin.h>
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
  std::vector<int64_t> base;               // all windows inside, small planes: first tap of each window
};

constexpr int64_t kFlatOutputs = 4096;  // planes of at most this many outputs use CodePlan::base

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

// Every window inside the input, one small plane: one flat loop (a loop per output row costs as
// much as the scatter itself on planes like 10x10).
int64_t scatter_flat(const CodePlan& c, const float* dy, const uint8_t* code, float* dp) {
  const PoolParams& p = c.p;
  std::memset(dp, 0, p.H * p.W * sizeof(float));
  const int64_t* base = c.base.data();
  for (int64_t o = 0, n = p.P * p.Q; o < n; o++) {
    uint8_t k = code[o];
    if (__builtin_expect(k >= c.taps, 0)) return o;
    dp[base[o] + c.off[k]] += dy[o];
  }
  return -1;
}

// kVF codes widened to int32 lanes
static inline VI load_codes(const uint8_t* c) {
#if defined(__AVX512F__)
  // the zero-masked form: the plain one passes GCC 12 an undefined source it warns about
  return (VI)_mm512_maskz_cvtepu8_epi32(0xffff, _mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
#elif defined(__AVX2__)
  return (VI)_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c)));
#else
  VI v;
  for (int j = 0; j < kVF; j++) v[j] = c[j];
  return v;
#endif
}

// Tiled 2-wide windows (sh == R, sw == S == 2, every window inside the input), one plane: each covered element
// is dy where its window's code names it, else 0 (0 + dy, as the scatter sums); the rows and
// columns no window covers are zeroed. Rows are built in an L1 buffer and copied out whole: scalar
// stores straight into dx, 16 per cache line, filled the store buffer waiting for lines (4x slower).
int64_t tiled_codes(const CodePlan& c, const float* dy, const uint8_t* code, float* dp) {
  const PoolParams& p = c.p;
  float* row = scratch<float, 6>(p.W + 2 * kVF);
  std::fill(row + 2 * p.Q, row + p.W, 0.0f);  // the columns past the last window stay zero
  const VI lo = (lane_ids() >> 1) + (lane_ids() & 1) * kVF, hi = lo + kVF / 2;  // interleave e and o
  for (int64_t oh = 0; oh < p.P; oh++) {
    const float* dr = dy + oh * p.Q;
    const uint8_t* cr = code + oh * p.Q;
    for (int64_t ow = 0; ow < p.Q; ow++)
      if (cr[ow] >= c.taps) return oh * p.Q + ow;
    for (int64_t r = 0; r < p.R; r++) {
      int64_t ow = 0;
      for (; ow + kVF <= p.Q; ow += kVF) {  // two lanes per window, interleaved by a shuffle
        VI k = load_codes(cr + ow);
        VF d = vld<VF>(dr + ow) + 0.0f, z = vsplat(0.0f);
        VF e = k == (int32_t)(2 * r) ? d : z, o = k == (int32_t)(2 * r + 1) ? d : z;
        vst(row + 2 * ow, __builtin_shuffle(e, o, lo)), vst(row + 2 * ow + kVF, __builtin_shuffle(e, o, hi));
      }
      for (; ow < p.Q; ow++) {  // by bit masks: a branch on the code mispredicts every other window
        float v = 0.0f + dr[ow];
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int64_t s = 0; s < 2; s++) {
          uint32_t keep = bits & -(uint32_t)(cr[ow] == 2 * r + s);
          std::memcpy(row + 2 * ow + s, &keep, 4);
        }
      }
      std::memcpy(dp + (oh * p.R + r) * p.W, row, p.W * sizeof(float));
    }
  }
  std::fill(dp + p.P * p.R * p.W, dp + p.H * p.W, 0.0f);
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
  const bool inside = c.rows.lo == 0 && c.rows.hi == p.P && c.cols.lo == 0 && c.cols.hi == p.Q;
  const bool tiled = inside && p.sh == p.R && p.sw == p.S && p.S == 2 && p.dh == 1 && p.dw == 1 && p.Q >= kVF;
  if (inside && !tiled && out_n <= kFlatOutputs) {  // the window bases of one plane, shared by all
    c.base.resize(out_n);
    for (int64_t o = 0; o < out_n; o++) c.base[o] = (o / p.Q * p.sh - p.ph) * p.W + o % p.Q * p.sw - p.pw;
  }
  const auto plane_kernel = tiled ? tiled_codes : c.base.empty() ? scatter_codes : scatter_flat;
  FirstBad bad(out_n);
  for_items(p.planes, planes_grain(in_n + 2 * out_n), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) bad.report(i, plane_kernel(c, dy + i * out_n, codes + i * out_n, dx + i * in_n));
  });
  return bad.get();
}

}  // namespace

void fill_max_pool_code_kernels(PoolFastKernels& k) { k.max_pool_backward_codes = max_pool_grad_codes_f32; }

}  // namespace PYML_ISA_NS
}  // namespace pyml
