// Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers: as easy as 1, 2, 3"): a
// counter-based generator. block(counter, key) is a pure function returning four 32-bit words,
// so element i of a request can be computed from (seed, offset + i / per_block) alone: results
// do not depend on the thread count or on how parallel_for splits the range.
// Counter words: (c0, c1) = the 64-bit block index, (c2, c3) = 0; key words = the 64-bit seed.
// The random kernels of cpu/random.cpp are declared at the end. The block and conversion helpers
// are also compiled for the device (PYML_HD), so cuda/random.cu draws the very same numbers.
#pragma once
#include <cstdint>
#include "core/dtype.h"

#ifdef __CUDACC__
#define PYML_HD __host__ __device__
#else
#define PYML_HD
#endif

namespace pyml {

struct Philox4 { uint32_t w[4]; };

PYML_HD static inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)M0 * ctr.w[0], p1 = (uint64_t)M1 * ctr.w[2];
    ctr = {{(uint32_t)(p1 >> 32) ^ ctr.w[1] ^ k0, (uint32_t)p1, (uint32_t)(p0 >> 32) ^ ctr.w[3] ^ k1, (uint32_t)p0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// Where a request starts: the generator's key and the first block index reserved for it.
struct PhiloxState { uint64_t seed = 0, offset = 0; };

PYML_HD static inline Philox4 philox_block(PhiloxState s, uint64_t block) {
  uint64_t c = s.offset + block;
  return philox4x32_10({{(uint32_t)c, (uint32_t)(c >> 32), 0u, 0u}}, (uint32_t)s.seed, (uint32_t)(s.seed >> 32));
}

// Uniforms: the top `digits` bits of a word, scaled to [0, 1) (exact in the output type).
PYML_HD static inline float u32_to_unit(uint32_t x, int digits) { return (float)(x >> (32 - digits)) * (1.0f / (float)(1u << digits)); }
PYML_HD static inline double u64_to_unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }
PYML_HD static inline uint64_t words64(const Philox4& b, int k) { return (uint64_t)b.w[2 * k] | ((uint64_t)b.w[2 * k + 1] << 32); }

// --- kernels (cpu/random.cpp). `out` holds n contiguous elements; PhiloxState says where the
// request starts. blocks_* give how many Philox blocks a request consumes (the generator advances).
int64_t random_blocks(int64_t n, int per_block);
int uniform_per_block(DType t);  // 2 for float64 (53-bit draws), 4 otherwise
int normal_per_block(DType t);   // 2 for float64, 4 otherwise (Box-Muller pairs)
void uniform_cpu(void* out, DType t, int64_t n, PhiloxState s, double from, double to);
void normal_cpu(void* out, DType t, int64_t n, PhiloxState s, double mean, double std);
void exponential_cpu(void* out, DType t, int64_t n, PhiloxState s, double lambd);
// out[i] = low + (uniform 64-bit draw mapped to [0, range)); range == 0 means 2^64. 2 per block.
void randint_cpu(int64_t* out, int64_t n, PhiloxState s, int64_t low, uint64_t range);
// out[i] = u_i < p[i] (p == nullptr: the scalar p). 2 per block (53-bit uniforms).
void bernoulli_cpu(bool* out, const double* p, double p_scalar, int64_t n, PhiloxState s);
// w: (rows, K) contiguous non-negative weights with positive row sums; out: (rows, num_samples).
// Row r draws from blocks [r * bpr, (r + 1) * bpr), bpr = multinomial_blocks_per_row(...).
int64_t multinomial_blocks_per_row(int64_t K, int64_t num_samples, bool replacement);
void multinomial_cpu(int64_t* out, const double* w, int64_t rows, int64_t K, int64_t num_samples,
                     bool replacement, PhiloxState s);
// Fisher-Yates over 0..n-1 with one 64-bit draw per step (serial, like PyTorch's CPU randperm).
void randperm_cpu(int64_t* out, int64_t n, PhiloxState s);

}  // namespace pyml
