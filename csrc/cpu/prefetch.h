// Software prefetch, shared by the CPU kernels that walk rows or planes the hardware prefetcher
// does not pick up in time (pooling, layer_norm/softmax rows, conv by phases, Winograd). Each row
// kernel's first pass otherwise waits on memory (layer_norm (8192, 768) forward, one thread:
// 2.8 ms -> 1.7 ms with the next rows requested ~8 KB ahead). On x86-64 an asm statement: GCC 12
// deleted __builtin_prefetch calls once they were inlined into loops. A prefetch never faults, so
// the address may run past the tensor's end. Also the streaming-store policy (output_streams).
#pragma once
#include <cstdint>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace pyml {

constexpr int64_t kPrefetchAheadBytes = 8192;

// rows of `row_bytes` to look ahead so that about kPrefetchAheadBytes are in flight
inline int64_t prefetch_rows_ahead(int64_t row_bytes) {
  return row_bytes <= 0 ? 1 : (kPrefetchAheadBytes + row_bytes - 1) / row_bytes;
}

// starts loading the cache line holding p into L1
inline void prefetch_line(const void* p) {
#if defined(__x86_64__) && defined(__GNUC__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

// the `bytes` bytes at p, one cache line at a time
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t i = 0; i < bytes; i += 64) prefetch_line(c + i);
}

// Streaming (non-temporal) stores send whole lines to memory without first reading them into the
// cache, the write-allocate that makes a large output cost twice its bytes. They pay only for an
// output too large to stay cached for the op that reads it next: here, one of at least half the
// last-level cache (a 25 MB layer_norm output on a 32 MB L3 went to memory either way).
bool output_streams(int64_t bytes);       // bytes >= the threshold: half the L3 (cpu/dispatch.cpp)
int64_t set_stream_bytes(int64_t bytes);  // tests and bench: the new threshold (< 0: default); returns the old

// orders this thread's streaming stores before what follows (the caller's join publishes them)
inline void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace pyml
