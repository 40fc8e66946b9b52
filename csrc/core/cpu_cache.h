// Recycling of large CPU buffers. A fresh multi-MiB buffer costs a page fault (and the kernel
// zeroing a page) per 2 MiB huge page on first touch; a training step allocates the same big
// activations and gradients every iteration. Freed blocks of >= kMinBytes wait here, keyed by
// their exact rounded size, and are handed out again. Bounded: at most kMaxCachedBytes wait
// (oldest freed first out); an allocation that fails empties the cache and retries.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pyml {

constexpr size_t kLargeAlign = size_t(2) << 20;       // 2 MiB: one transparent huge page
constexpr int64_t kLargeMinBytes = int64_t(4) << 20;  // smaller buffers go straight to malloc

void* cpu_large_alloc(size_t rounded_bytes);   // rounded_bytes: a multiple of kLargeAlign; null on OOM
void cpu_large_free(void* p, size_t rounded_bytes);
int64_t cpu_cache_bytes();                     // bytes waiting in the cache
void cpu_empty_cache();                        // return every cached block to the system

}  // namespace pyml
