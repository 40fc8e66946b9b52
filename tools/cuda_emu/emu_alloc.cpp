// Exact-size allocations for the ASan emulation (no caching allocator: every tensor gets its own
// heap block, so an out-of-bounds access hits a redzone).
#include <cstdlib>
#include <cstring>
#include "core/device.h"
#include "core/error.h"
namespace pyml {
void* cuda_alloc(int64_t nbytes, int) {
  void* p = nullptr;
  if (posix_memalign(&p, 256, nbytes > 0 ? (size_t)nbytes : 1)) throw RuntimeError("emu alloc failed");
  std::memset(p, 0xcd, nbytes > 0 ? (size_t)nbytes : 1);
  return p;
}
void cuda_free(void* p, int) { std::free(p); }
CudaMemStats cuda_memory_stats(int) { return {}; }
void cuda_reset_peak_memory_stats(int) {}
void cuda_empty_cache() {}
}  // namespace pyml
