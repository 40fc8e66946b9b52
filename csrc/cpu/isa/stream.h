// Streaming (non-temporal) stores for the per-ISA kernels: an output vector goes to memory without
// its cache line first being read in (the write-allocate). Whether an output streams is the
// caller's choice (cpu/prefetch.h output_streams: at least half the L3); the caller calls
// stream_fence() after its last streaming store, before the output is handed on.
#pragma once
#include <immintrin.h>
#include <cstring>
#include "cpu/isa/vmath.h"

namespace pyml {
namespace PYML_ISA_NS {

// one vector at p: streamed when asked for and p is vector-aligned, else a plain store
static inline void store_out(float* p, VF v, bool stream) {
#if defined(__AVX512F__)
  if (stream && (reinterpret_cast<uintptr_t>(p) & 63) == 0) return _mm512_stream_ps(p, (__m512)v);
#elif defined(__AVX2__)
  if (stream && (reinterpret_cast<uintptr_t>(p) & 31) == 0) return _mm256_stream_ps(p, (__m256)v);
#endif
  std::memcpy(p, &v, sizeof(VF));
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
