// CUDA runtime plumbing: device queries, the current stream per host thread and device, streams
// and events, copies and byte fills. Every CUDA call is checked; an error raises RuntimeError
// naming the op and file:line (core/device.h lists the entry points).
#include <cstring>
#include "cuda_common.cuh"

namespace pyml {

void throw_cuda_error(cudaError_t e, const char* op, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so later calls start clean
  throw RuntimeError(cat_str(op, ": CUDA error '", cudaGetErrorString(e), "' (", cudaGetErrorName(e), ") at ",
                             file, ":", line));
}

bool cuda_compiled() { return true; }

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
  return n;
}

static void check_index(int index, const char* op) {
  int n = cuda_device_count();
  PYML_CHECK(index >= 0 && index < n, RuntimeError, op, ": CUDA device index must be in [0, ", n, "), got ", index);
}

CudaDeviceProps cuda_device_properties(int index) {
  check_index(index, "get_device_properties");
  cudaDeviceProp p;
  PYML_CUDA_CHECK(cudaGetDeviceProperties(&p, index), "get_device_properties");
  CudaDeviceProps r;
  r.name = p.name;
  r.major = p.major;
  r.minor = p.minor;
  r.multi_processor_count = p.multiProcessorCount;
  r.warp_size = p.warpSize;
  r.total_memory = (int64_t)p.totalGlobalMem;
  r.shared_memory_per_block = (int64_t)p.sharedMemPerBlockOptin;
  r.l2_cache_size = p.l2CacheSize;
  int clock = 0, mem_clock = 0;  // the cudaDeviceProp fields for these were removed in CUDA 13
  cudaDeviceGetAttribute(&clock, cudaDevAttrClockRate, index);
  cudaDeviceGetAttribute(&mem_clock, cudaDevAttrMemoryClockRate, index);
  cudaGetLastError();
  r.clock_rate_khz = clock;
  r.memory_clock_rate_khz = mem_clock;
  r.memory_bus_width = p.memoryBusWidth;
  return r;
}

std::string cuda_device_name(int index) { return cuda_device_properties(index).name; }

int cuda_current_device() {
  int d = 0;
  PYML_CUDA_CHECK(cudaGetDevice(&d), "current_device");
  return d;
}

void cuda_set_device(int index) {
  check_index(index, "set_device");
  PYML_CUDA_CHECK(cudaSetDevice(index), "set_device");
}

void cuda_synchronize(int index) {
  check_index(index, "synchronize");
  cuda::DeviceGuard g(index);
  PYML_CUDA_CHECK(cudaDeviceSynchronize(), "synchronize");
}

// --- streams: the current stream is per host thread and device, like PyTorch's
constexpr int kMaxDevices = 64;
static thread_local void* g_current_stream[kMaxDevices] = {};

void* cuda_current_stream(int index) { return (index >= 0 && index < kMaxDevices) ? g_current_stream[index] : nullptr; }

void cuda_set_current_stream(int index, void* s) {
  PYML_CHECK(index >= 0 && index < kMaxDevices, RuntimeError, "set_stream: device index out of range, got ", index);
  g_current_stream[index] = s;
}

void* cuda_stream_create(int index, int priority) {
  check_index(index, "Stream");
  cuda::DeviceGuard g(index);
  cudaStream_t s = nullptr;
  PYML_CUDA_CHECK(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priority), "Stream");
  return s;
}

void cuda_stream_destroy(void* s, int index) {
  if (!s) return;
  cuda::DeviceGuard g(index);
  cudaStreamDestroy(static_cast<cudaStream_t>(s));
  cudaGetLastError();
}

void cuda_stream_synchronize(void* s, int index) {
  cuda::DeviceGuard g(index);
  PYML_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s)), "Stream.synchronize");
}

bool cuda_stream_query(void* s, int index) {
  cuda::DeviceGuard g(index);
  cudaError_t e = cudaStreamQuery(static_cast<cudaStream_t>(s));
  if (e == cudaErrorNotReady) { cudaGetLastError(); return false; }
  PYML_CUDA_CHECK(e, "Stream.query");
  return true;
}

void cuda_stream_wait_event(void* s, void* ev, int index) {
  cuda::DeviceGuard g(index);
  PYML_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(s), static_cast<cudaEvent_t>(ev), 0), "Stream.wait_event");
}

void* cuda_event_create(int index, bool timing) {
  check_index(index, "Event");
  cuda::DeviceGuard g(index);
  cudaEvent_t e = nullptr;
  PYML_CUDA_CHECK(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming), "Event");
  return e;
}

void cuda_event_destroy(void* e, int index) {
  if (!e) return;
  cuda::DeviceGuard g(index);
  cudaEventDestroy(static_cast<cudaEvent_t>(e));
  cudaGetLastError();
}

void cuda_event_record(void* e, void* s, int index) {
  cuda::DeviceGuard g(index);
  PYML_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(s)), "Event.record");
}

void cuda_event_synchronize(void* e) {
  PYML_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(e)), "Event.synchronize");
}

bool cuda_event_query(void* e) {
  cudaError_t r = cudaEventQuery(static_cast<cudaEvent_t>(e));
  if (r == cudaErrorNotReady) { cudaGetLastError(); return false; }
  PYML_CUDA_CHECK(r, "Event.query");
  return true;
}

float cuda_event_elapsed_ms(void* a, void* b) {
  float ms = 0;
  PYML_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(a), static_cast<cudaEvent_t>(b)),
                  "Event.elapsed_time");
  return ms;
}

// --- copies and fills
void cuda_memcpy(void* dst, const void* src, int64_t nbytes, CopyKind kind, int index) {
  if (nbytes == 0) return;
  cuda::DeviceGuard g(index);
  cudaStream_t s = cuda::stream(index);
  cudaMemcpyKind k = kind == CopyKind::HostToDevice ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  PYML_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, k, s), "copy");
  // the host reads a device-to-host result at once; a pageable host-to-device source may be freed
  if (kind != CopyKind::DeviceToDevice) PYML_CUDA_CHECK(cudaStreamSynchronize(s), "copy");
}

// dst: n elements of elem_size bytes (1, 2, 4 or 8), contiguous, aligned to elem_size
template <typename W> __global__ void fill_kernel(W* dst, W value, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

void cuda_fill_bytes(void* dst, const void* value, int64_t elem_size, int64_t n, int index) {
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  cudaStream_t s = cuda::stream(index);
  auto launch = [&](auto w) {
    using W = decltype(w);
    std::memcpy(&w, value, sizeof(W));
    fill_kernel<W><<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(static_cast<W*>(dst), w, n);
  };
  switch (elem_size) {
    case 1: launch(uint8_t{}); break;
    case 2: launch(uint16_t{}); break;
    case 4: launch(uint32_t{}); break;
    case 8: launch(uint64_t{}); break;
    default: throw RuntimeError(cat_str("fill_: unsupported element size ", elem_size));
  }
  PYML_CUDA_LAUNCH_CHECK("fill_");
}

}  // namespace pyml
