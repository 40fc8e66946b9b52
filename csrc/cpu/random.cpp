// CPU random kernels on Philox4x32-10 (cpu/philox.h). Every kernel walks Philox blocks in
// parallel; block b writes elements [b * per_block, (b + 1) * per_block), so the values depend
// only on (seed, offset), never on the thread count. 32-bit types use one word per element
// (uniforms with as many bits as the type's mantissa, so [0, 1) stays exact after rounding);
// float64 and integer draws use two words. Box-Muller turns pairs of uniforms into normals,
// in double precision for float64.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>
#include "cpu/philox.h"
#include "core/parallel.h"

namespace pyml {

static constexpr double kTwoPi = 6.283185307179586476925286766559;
static constexpr int64_t kGrainBlocks = 4096;

int64_t random_blocks(int64_t n, int per_block) { return (n + per_block - 1) / per_block; }
int uniform_per_block(DType t) { return t == DType::Float64 ? 2 : 4; }
int normal_per_block(DType t) { return t == DType::Float64 ? 2 : 4; }

// f(first_element, block) for every block covering n elements, in parallel.
template <int PER, typename F>
static void for_blocks(int64_t n, PhiloxState s, const F& f) {
  parallel_for(0, random_blocks(n, PER), kGrainBlocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) f(b * PER, philox_block(s, (uint64_t)b));
  });
}

template <typename T> static constexpr int mantissa_digits() {
  if constexpr (std::is_same_v<T, Half>) return 11;
  else if constexpr (std::is_same_v<T, BFloat16>) return 8;
  else return 24;
}

// One word per element: float32, float16, bfloat16 (arithmetic in float).
template <typename T, typename G>
static void fill32(T* out, int64_t n, PhiloxState s, const G& g) {
  for_blocks<4>(n, s, [&](int64_t i0, const Philox4& r) {
    int m = (int)std::min<int64_t>(4, n - i0);
    for (int k = 0; k < m; k++) out[i0 + k] = T(g(r.w[k]));
  });
}

// Two words per element: float64.
template <typename G>
static void fill64(double* out, int64_t n, PhiloxState s, const G& g) {
  for_blocks<2>(n, s, [&](int64_t i0, const Philox4& r) {
    out[i0] = g(words64(r, 0));
    if (i0 + 1 < n) out[i0 + 1] = g(words64(r, 1));
  });
}

void uniform_cpu(void* out, DType t, int64_t n, PhiloxState s, double from, double to) {
  if (t == DType::Float64) {
    double w = to - from;
    return fill64(static_cast<double*>(out), n, s, [&](uint64_t x) { return from + u64_to_unit(x) * w; });
  }
  PYML_DISPATCH_FLOAT(t, "uniform_", [&] {
    if constexpr (!std::is_same_v<scalar_t, double>) {
      float f = (float)from, w = (float)(to - from);
      constexpr int d = mantissa_digits<scalar_t>();
      fill32(static_cast<scalar_t*>(out), n, s, [&](uint32_t x) { return f + u32_to_unit(x, d) * w; });
    }
  });
}

// Box-Muller on one block: z[k] for k < 4 (float types) from (radius, angle) word pairs.
static inline void box_muller4(const Philox4& r, float* z) {
  for (int k = 0; k < 4; k += 2) {
    // radius from a 32-bit uniform in (0, 1] (tails to 6.66 sigma), angle from 24 bits
    float rad = std::sqrt(-2.0f * std::log(((float)r.w[k] + 1.0f) * 0x1.0p-32f));
    float th = (float)kTwoPi * u32_to_unit(r.w[k + 1], 24);
    z[k] = rad * std::cos(th);
    z[k + 1] = rad * std::sin(th);
  }
}

void normal_cpu(void* out, DType t, int64_t n, PhiloxState s, double mean, double std) {
  if (t == DType::Float64) {
    double* o = static_cast<double*>(out);
    return for_blocks<2>(n, s, [&](int64_t i0, const Philox4& r) {
      double u0 = (double)((words64(r, 0) >> 11) + 1) * 0x1.0p-53;  // (0, 1]: log stays finite
      double rad = std::sqrt(-2.0 * std::log(u0)), th = kTwoPi * u64_to_unit(words64(r, 1));
      o[i0] = mean + std * rad * std::cos(th);
      if (i0 + 1 < n) o[i0 + 1] = mean + std * rad * std::sin(th);
    });
  }
  PYML_DISPATCH_FLOAT(t, "normal_", [&] {
    if constexpr (!std::is_same_v<scalar_t, double>) {
      scalar_t* o = static_cast<scalar_t*>(out);
      float m = (float)mean, sd = (float)std;
      for_blocks<4>(n, s, [&](int64_t i0, const Philox4& r) {
        float z[4];
        box_muller4(r, z);
        int cnt = (int)std::min<int64_t>(4, n - i0);
        for (int k = 0; k < cnt; k++) o[i0 + k] = scalar_t(m + sd * z[k]);
      });
    }
  });
}

void exponential_cpu(void* out, DType t, int64_t n, PhiloxState s, double lambd) {
  if (t == DType::Float64)
    return fill64(static_cast<double*>(out), n, s, [&](uint64_t x) {
      return -std::log((double)((x >> 11) + 1) * 0x1.0p-53) / lambd;
    });
  PYML_DISPATCH_FLOAT(t, "exponential_", [&] {
    if constexpr (!std::is_same_v<scalar_t, double>) {
      fill32(static_cast<scalar_t*>(out), n, s, [&](uint32_t x) {
        return (float)(-std::log(((double)x + 1.0) * 0x1.0p-32) / lambd);
      });
    }
  });
}

// x scaled to [0, range) by a 64x64 -> 128-bit product (bias below range / 2^64)
static inline uint64_t scale64(uint64_t x, uint64_t range) {
  return range == 0 ? x : (uint64_t)(((unsigned __int128)x * range) >> 64);
}

void randint_cpu(int64_t* out, int64_t n, PhiloxState s, int64_t low, uint64_t range) {
  for_blocks<2>(n, s, [&](int64_t i0, const Philox4& r) {
    out[i0] = (int64_t)((uint64_t)low + scale64(words64(r, 0), range));
    if (i0 + 1 < n) out[i0 + 1] = (int64_t)((uint64_t)low + scale64(words64(r, 1), range));
  });
}

void bernoulli_cpu(bool* out, const double* p, double p_scalar, int64_t n, PhiloxState s) {
  for_blocks<2>(n, s, [&](int64_t i0, const Philox4& r) {
    int m = (int)std::min<int64_t>(2, n - i0);
    for (int k = 0; k < m; k++) out[i0 + k] = u64_to_unit(words64(r, k)) < (p ? p[i0 + k] : p_scalar);
  });
}

int64_t multinomial_blocks_per_row(int64_t K, int64_t num_samples, bool replacement) {
  return random_blocks(replacement ? num_samples : K, 2);
}

// 64-bit draw j of a stream whose blocks start at `first`; each block is computed once for its two draws.
struct Draws {
  PhiloxState s;
  uint64_t first;
  int64_t cached = -1;
  Philox4 blk{};
  uint64_t operator()(int64_t j) {
    if (j / 2 != cached) { cached = j / 2; blk = philox_block(s, first + (uint64_t)cached); }
    return words64(blk, (int)(j % 2));
  }
};

static void multinomial_row_replace(int64_t* out, const double* w, int64_t K, int64_t ns, Draws draw,
                                    std::vector<double>& cdf) {
  cdf.resize(K);
  std::partial_sum(w, w + K, cdf.begin());
  double total = cdf[K - 1];
  int64_t last = K - 1;
  while (w[last] == 0) last--;  // the row sum is positive, so some weight is
  for (int64_t j = 0; j < ns; j++) {
    double x = u64_to_unit(draw(j)) * total;
    // first category whose cdf exceeds x: never a zero-weight one (its cdf equals its predecessor's)
    int64_t idx = std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin();
    out[j] = std::min(idx, last);
  }
}

// Efraimidis-Spirakis: the num_samples largest keys log(u)/w are a weighted sample without
// replacement, in draw order. Zero weights get -inf and are ordered among themselves by u.
static void multinomial_row_noreplace(int64_t* out, const double* w, int64_t K, int64_t ns, Draws draw,
                                      std::vector<std::pair<double, double>>& key,
                                      std::vector<int64_t>& idx) {
  key.resize(K);
  idx.resize(K);
  for (int64_t k = 0; k < K; k++) {
    double u = (double)((draw(k) >> 11) + 1) * 0x1.0p-53;
    key[k] = {w[k] > 0 ? std::log(u) / w[k] : -std::numeric_limits<double>::infinity(), u};
    idx[k] = k;
  }
  std::partial_sort(idx.begin(), idx.begin() + ns, idx.end(), [&](int64_t a, int64_t b) {
    return key[a] > key[b] || (key[a] == key[b] && a < b);
  });
  std::copy(idx.begin(), idx.begin() + ns, out);
}

void multinomial_cpu(int64_t* out, const double* w, int64_t rows, int64_t K, int64_t ns, bool replacement,
                     PhiloxState s) {
  uint64_t bpr = (uint64_t)multinomial_blocks_per_row(K, ns, replacement);
  int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, K + ns));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) {
    std::vector<double> cdf;
    std::vector<std::pair<double, double>> key;
    std::vector<int64_t> idx;
    for (int64_t r = r0; r < r1; r++) {
      Draws draw{s, r * bpr};
      if (replacement) multinomial_row_replace(out + r * ns, w + r * K, K, ns, draw, cdf);
      else multinomial_row_noreplace(out + r * ns, w + r * K, K, ns, draw, key, idx);
    }
  });
}

void randperm_cpu(int64_t* out, int64_t n, PhiloxState s) {
  for (int64_t i = 0; i < n; i++) out[i] = i;
  Draws draw{s, 0};
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)scale64(draw(i), (uint64_t)i + 1);
    std::swap(out[i], out[j]);
  }
}

}  // namespace pyml
