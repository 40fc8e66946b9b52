// Large CPU buffer cache (see cpu_cache.h): a FIFO of freed blocks with their sizes under a mutex
// (frees may come from DataLoader worker threads). Lookup is a linear scan: the cache holds a few
// dozen blocks at most (kMaxCachedBytes / kLargeMinBytes).
#include "core/cpu_cache.h"
#include <cstdlib>
#include <deque>
#include <mutex>
#include <sys/mman.h>

namespace pyml {
namespace {

constexpr int64_t kMaxCachedBytes = int64_t(1) << 30;  // 1 GiB

struct Block { void* p; size_t n; };

std::mutex& lock() { static std::mutex m; return m; }
std::deque<Block>& blocks() { static auto* d = new std::deque<Block>(); return *d; }  // never destroyed:
int64_t cached = 0;                                                                   // frees at exit are safe

void* system_alloc(size_t n) {
  void* p = std::aligned_alloc(kLargeAlign, n);
  if (p) madvise(p, n, MADV_HUGEPAGE);
  return p;
}

}  // namespace

void* cpu_large_alloc(size_t n) {
  {
    std::lock_guard<std::mutex> g(lock());
    auto& d = blocks();
    for (auto it = d.rbegin(); it != d.rend(); ++it) {  // most recently freed first: warmest in cache
      if (it->n == n) {
        void* p = it->p;
        d.erase(std::next(it).base());
        cached -= (int64_t)n;
        return p;
      }
    }
  }
  void* p = system_alloc(n);
  if (!p) {
    cpu_empty_cache();
    p = system_alloc(n);
  }
  return p;
}

void cpu_large_free(void* p, size_t n) {
  if ((int64_t)n > kMaxCachedBytes) { std::free(p); return; }
  std::lock_guard<std::mutex> g(lock());
  auto& d = blocks();
  d.push_back({p, n});
  cached += (int64_t)n;
  while (cached > kMaxCachedBytes) {
    std::free(d.front().p);
    cached -= (int64_t)d.front().n;
    d.pop_front();
  }
}

int64_t cpu_cache_bytes() {
  std::lock_guard<std::mutex> g(lock());
  return cached;
}

void cpu_empty_cache() {
  std::lock_guard<std::mutex> g(lock());
  for (auto& b : blocks()) std::free(b.p);
  blocks().clear();
  cached = 0;
}

}  // namespace pyml
