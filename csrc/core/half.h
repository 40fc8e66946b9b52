// float16 (IEEE binary16) and bfloat16 storage types with float conversion.
// Arithmetic happens in float32: kernels load, convert, compute, convert back.
// All helpers are static inline so each ISA translation unit keeps its own copy (no ODR mixing).
#pragma once
#include <cstdint>
#include <cstring>

namespace pyml {

static inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// binary16 -> float32, exact (handles subnormals, inf, nan)
static inline float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return f32_from_bits(sign);
    float f = (float)man * 5.9604644775390625e-8f;  // man * 2^-24
    return sign ? -f : f;
  }
  return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

// float32 -> binary16 with round-to-nearest-even
static inline uint16_t float_to_half(float f) {
  uint32_t x = f32_bits(f), sign = (x >> 16) & 0x8000;
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to >= 65520 -> inf
  if (ax < 0x38800000u) {                                   // subnormal half or zero
    float a = f32_from_bits(ax) + 0.5f;                     // ulp of 0.5f is 2^-24 = half subnormal step
    return (uint16_t)(sign | (f32_bits(a) - 0x3f000000u));
  }
  uint32_t mant_odd = (ax >> 13) & 1;
  ax += 0xc8000fffu + mant_odd;  // rebias exponent (-112<<23) and round to nearest even
  return (uint16_t)(sign | (ax >> 13));
}

static inline float bf16_to_float(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }
static inline uint16_t float_to_bf16(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  // quiet nan
  x += 0x7fffu + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

struct Half {
  uint16_t x;
  Half() = default;
  Half(float f) : x(float_to_half(f)) {}
  operator float() const { return half_to_float(x); }
};
struct BFloat16 {
  uint16_t x;
  BFloat16() = default;
  BFloat16(float f) : x(float_to_bf16(f)) {}
  operator float() const { return bf16_to_float(x); }
};

}  // namespace pyml
