// The CUDA caching allocator. cudaMalloc/cudaFree synchronise the device and cost tens of
// microseconds, so freed blocks are kept and reused. Sizes round up to 512 bytes. Requests up to
// 1 MiB come from 2 MiB segments (the small pool); larger ones from segments of 20 MiB (requests
// under 10 MiB) or the request rounded to 2 MiB (the large pool). A cached block bigger than the
// request is split, and the rest stays cached; freed neighbours in a segment merge again.
// Blocks are reused only by the stream they were allocated on, so stream order alone keeps a
// reused block from being overwritten while an earlier kernel still reads it.
// On cudaMalloc failure the allocator releases every unused cached segment and retries once,
// then raises CudaOutOfMemoryError (pyml.cuda.OutOfMemoryError) and stays usable.
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>
#include "cuda_common.cuh"

namespace pyml {
namespace {

constexpr size_t kRound = 512, kSmallMax = 1 << 20, kSmallSegment = 2 << 20;
constexpr size_t kLargeSegment = 20 << 20, kLargeDirect = 10 << 20, kSegmentRound = 2 << 20;

struct Block {
  char* ptr = nullptr;
  size_t size = 0;
  cudaStream_t stream = nullptr;
  bool allocated = false, small = false;
  Block *prev = nullptr, *next = nullptr;  // neighbours within the segment
};

struct BlockLess {  // by stream, then size, then address: lower_bound finds the best fit
  bool operator()(const Block* a, const Block* b) const {
    if (a->stream != b->stream) return a->stream < b->stream;
    if (a->size != b->size) return a->size < b->size;
    return a->ptr < b->ptr;
  }
};

struct DevicePool {
  std::set<Block*, BlockLess> free_small, free_large;
  std::unordered_map<void*, Block*> live;
  CudaMemStats stats;
  std::set<Block*, BlockLess>& pool(bool small) { return small ? free_small : free_large; }
};

std::mutex g_mutex;
std::vector<DevicePool>& pools() {  // never destroyed: tensors may be freed during interpreter exit
  static auto* p = new std::vector<DevicePool>(std::max(cuda_device_count(), 1));
  return *p;
}

size_t round_size(int64_t n) { return n <= 0 ? kRound : ((size_t)n + kRound - 1) / kRound * kRound; }
size_t segment_size(size_t size) {
  if (size <= kSmallMax) return kSmallSegment;
  if (size < kLargeDirect) return kLargeSegment;
  return (size + kSegmentRound - 1) / kSegmentRound * kSegmentRound;
}

// Frees every cached block that is a whole segment. Caller holds the lock and the device.
void release_cached(DevicePool& dp) {
  for (bool small : {true, false}) {
    auto& pool = dp.pool(small);
    for (auto it = pool.begin(); it != pool.end();) {
      Block* b = *it;
      if (b->prev || b->next) { ++it; continue; }
      cudaFree(b->ptr);
      dp.stats.reserved -= (int64_t)b->size;
      it = pool.erase(it);
      delete b;
    }
  }
}

Block* new_segment(DevicePool& dp, size_t size, cudaStream_t s, int index) {
  size_t seg = segment_size(size);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, seg);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    release_cached(dp);
    e = cudaMalloc(&p, seg);
  }
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    dp.stats.num_ooms++;
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    throw CudaOutOfMemoryError(cat_str(
        "CUDA out of memory: tried to allocate ", size, " bytes on cuda:", index, " (device total ", total_b,
        " bytes, free ", free_b, "; pyml holds ", dp.stats.allocated, " bytes in tensors and ", dp.stats.reserved,
        " reserved). Free tensors or call pyml.cuda.empty_cache()."));
  }
  PYML_CUDA_CHECK(e, "cuda_alloc");
  dp.stats.reserved += (int64_t)seg;
  dp.stats.max_reserved = std::max(dp.stats.max_reserved, dp.stats.reserved);
  Block* b = new Block;
  b->ptr = static_cast<char*>(p);
  b->size = seg;
  b->stream = s;
  b->small = size <= kSmallMax;
  return b;
}

// Keeps the first `size` bytes of b; the rest becomes a free block after it.
void split(DevicePool& dp, Block* b, size_t size) {
  size_t rest = b->size - size;
  if (rest < (b->small ? kRound : kSmallMax + 1)) return;
  Block* r = new Block;
  r->ptr = b->ptr + size;
  r->size = rest;
  r->stream = b->stream;
  r->small = b->small;
  r->prev = b;
  r->next = b->next;
  if (b->next) b->next->prev = r;
  b->next = r;
  b->size = size;
  dp.pool(r->small).insert(r);
}

// Merges free neighbour n into b (n follows b) and forgets n.
void absorb(DevicePool& dp, Block* b, Block* n) {
  dp.pool(n->small).erase(n);
  b->size += n->size;
  b->next = n->next;
  if (n->next) n->next->prev = b;
  delete n;
}

}  // namespace

void* cuda_alloc(int64_t nbytes, int index) {
  PYML_CHECK(index >= 0 && index < (int)pools().size(), RuntimeError, "cuda_alloc: no CUDA device cuda:", index);
  std::lock_guard<std::mutex> lock(g_mutex);
  cuda::DeviceGuard g(index);
  DevicePool& dp = pools()[index];
  size_t size = round_size(nbytes);
  bool small = size <= kSmallMax;
  cudaStream_t s = cuda::stream(index);
  Block key;
  key.stream = s;
  key.size = size;
  auto& pool = dp.pool(small);
  auto it = pool.lower_bound(&key);
  Block* b;
  if (it != pool.end() && (*it)->stream == s) {
    b = *it;
    pool.erase(it);
  } else {
    b = new_segment(dp, size, s, index);
  }
  split(dp, b, size);
  b->allocated = true;
  dp.live[b->ptr] = b;
  dp.stats.allocated += (int64_t)b->size;
  dp.stats.max_allocated = std::max(dp.stats.max_allocated, dp.stats.allocated);
  return b->ptr;
}

void cuda_free(void* p, int index) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  DevicePool& dp = pools()[index];
  auto it = dp.live.find(p);
  if (it == dp.live.end()) return;  // not ours (cannot happen for engine storages)
  Block* b = it->second;
  dp.live.erase(it);
  b->allocated = false;
  dp.stats.allocated -= (int64_t)b->size;
  if (b->next && !b->next->allocated) absorb(dp, b, b->next);
  if (b->prev && !b->prev->allocated) {
    Block* p0 = b->prev;
    dp.pool(p0->small).erase(p0);
    absorb(dp, p0, b);
    b = p0;
  }
  dp.pool(b->small).insert(b);
}

CudaMemStats cuda_memory_stats(int index) {
  std::lock_guard<std::mutex> lock(g_mutex);
  PYML_CHECK(index >= 0 && index < (int)pools().size(), RuntimeError, "memory_stats: no CUDA device cuda:", index);
  return pools()[index].stats;
}

void cuda_reset_peak_memory_stats(int index) {
  std::lock_guard<std::mutex> lock(g_mutex);
  PYML_CHECK(index >= 0 && index < (int)pools().size(), RuntimeError, "reset_peak_memory_stats: no CUDA device cuda:", index);
  CudaMemStats& s = pools()[index].stats;
  s.max_allocated = s.allocated;
  s.max_reserved = s.reserved;
}

void cuda_empty_cache() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < (int)pools().size(); i++) {
    cuda::DeviceGuard g(i);
    release_cached(pools()[i]);
  }
}

}  // namespace pyml
