// The engine's view of the CUDA backend: device queries, the caching allocator, streams and
// events, copies and fills. Implemented in cuda/ (runtime.cu, allocator.cu, copy.cu). Built
// without nvcc, every entry is a stub that raises RuntimeError, so no CUDA tensor can exist.
// PYML_CUDA_FN(decl) declares a CUDA entry once for both builds: a declaration with CUDA, an
// inline stub that raises without it. Every op family's launchers (cuda/<family>.h) use it.
#pragma once
#include <cstdint>
#include <string>

namespace pyml {

[[noreturn]] void throw_no_cuda(const char* fn);

}  // namespace pyml

#ifdef PYML_WITH_CUDA
#define PYML_CUDA_FN(...) __VA_ARGS__;
#else
#define PYML_CUDA_FN(...)                                                                   \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wunused-parameter\"") \
  [[noreturn]] inline __VA_ARGS__ { ::pyml::throw_no_cuda(__func__); }                     \
  _Pragma("GCC diagnostic pop")
#endif

namespace pyml {

bool cuda_compiled();
int cuda_device_count();  // 0 when no driver or GPU is present (never raises)

struct CudaDeviceProps {
  std::string name;
  int major = 0, minor = 0, multi_processor_count = 0, warp_size = 32;
  int64_t total_memory = 0, shared_memory_per_block = 0, l2_cache_size = 0;
  int clock_rate_khz = 0, memory_clock_rate_khz = 0, memory_bus_width = 0;
};
PYML_CUDA_FN(std::string cuda_device_name(int index))
PYML_CUDA_FN(CudaDeviceProps cuda_device_properties(int index))
PYML_CUDA_FN(int cuda_current_device())
PYML_CUDA_FN(void cuda_set_device(int index))
PYML_CUDA_FN(void cuda_synchronize(int index))

// --- caching allocator (cuda/allocator.cu): blocks are cached per device and stream; a failed
// cudaMalloc frees the cache and retries once, then raises CudaOutOfMemoryError.
PYML_CUDA_FN(void* cuda_alloc(int64_t nbytes, int index))
void cuda_free(void* p, int index);  // no-op stub without CUDA (never reached)
struct CudaMemStats { int64_t allocated = 0, max_allocated = 0, reserved = 0, max_reserved = 0, num_ooms = 0; };
PYML_CUDA_FN(CudaMemStats cuda_memory_stats(int index))
PYML_CUDA_FN(void cuda_reset_peak_memory_stats(int index))
PYML_CUDA_FN(void cuda_empty_cache())

// --- streams and events (cuda/runtime.cu). Handles are cudaStream_t / cudaEvent_t as void*;
// the null handle is the device's legacy default stream.
PYML_CUDA_FN(void* cuda_stream_create(int index, int priority))
PYML_CUDA_FN(void cuda_stream_destroy(void* stream, int index))
PYML_CUDA_FN(void* cuda_current_stream(int index))  // per host thread and device
PYML_CUDA_FN(void cuda_set_current_stream(int index, void* stream))
PYML_CUDA_FN(void cuda_stream_synchronize(void* stream, int index))
PYML_CUDA_FN(bool cuda_stream_query(void* stream, int index))  // true when all work is done
PYML_CUDA_FN(void cuda_stream_wait_event(void* stream, void* event, int index))
PYML_CUDA_FN(void* cuda_event_create(int index, bool enable_timing))
PYML_CUDA_FN(void cuda_event_destroy(void* event, int index))
PYML_CUDA_FN(void cuda_event_record(void* event, void* stream, int index))
PYML_CUDA_FN(void cuda_event_synchronize(void* event))
PYML_CUDA_FN(bool cuda_event_query(void* event))
PYML_CUDA_FN(float cuda_event_elapsed_ms(void* start, void* end))

// --- copies and fills on the current stream (cuda/runtime.cu). A device-to-host copy waits for
// the stream (its result is read by the host right after); the other kinds are asynchronous.
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
PYML_CUDA_FN(void cuda_memcpy(void* dst, const void* src, int64_t nbytes, CopyKind kind, int index))
PYML_CUDA_FN(void cuda_fill_bytes(void* dst, const void* value, int64_t elem_size, int64_t n, int index))

}  // namespace pyml
