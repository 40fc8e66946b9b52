// pyml.cuda's engine side: device queries, the allocator's statistics, streams and events.
// Stream and event handles cross into Python as integers (cudaStream_t / cudaEvent_t values).
#include "bindings/bind.h"
#include "core/device.h"

namespace pyml {
static uintptr_t handle(void* p) { return reinterpret_cast<uintptr_t>(p); }
static void* ptr(uintptr_t h) { return reinterpret_cast<void*>(h); }

static void bind_cuda_device(py::module_& m) {
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_device_name", &cuda_device_name);
  m.def("cuda_synchronize", &cuda_synchronize);
  m.def("cuda_current_device", &cuda_current_device);
  m.def("cuda_set_device", &cuda_set_device);
  m.def("cuda_device_properties", [](int i) {
    CudaDeviceProps p = cuda_device_properties(i);
    py::dict d;
    d["name"] = p.name;
    d["major"] = p.major;
    d["minor"] = p.minor;
    d["multi_processor_count"] = p.multi_processor_count;
    d["warp_size"] = p.warp_size;
    d["total_memory"] = p.total_memory;
    d["shared_memory_per_block_optin"] = p.shared_memory_per_block;
    d["L2_cache_size"] = p.l2_cache_size;
    d["clock_rate_khz"] = p.clock_rate_khz;
    d["memory_clock_rate_khz"] = p.memory_clock_rate_khz;
    d["memory_bus_width"] = p.memory_bus_width;
    return d;
  });
  m.def("cuda_memory_stats", [](int i) {
    CudaMemStats s = cuda_memory_stats(i);
    py::dict d;
    d["allocated_bytes"] = s.allocated;
    d["max_allocated_bytes"] = s.max_allocated;
    d["reserved_bytes"] = s.reserved;
    d["max_reserved_bytes"] = s.max_reserved;
    d["num_ooms"] = s.num_ooms;
    return d;
  });
  m.def("cuda_reset_peak_memory_stats", &cuda_reset_peak_memory_stats);
  m.def("cuda_empty_cache", &cuda_empty_cache);
}

static void bind_cuda_streams(py::module_& m) {
  m.def("cuda_stream_create", [](int i, int prio) { return handle(cuda_stream_create(i, prio)); });
  m.def("cuda_stream_destroy", [](uintptr_t s, int i) { cuda_stream_destroy(ptr(s), i); });
  m.def("cuda_current_stream", [](int i) { return handle(cuda_current_stream(i)); });
  m.def("cuda_set_current_stream", [](int i, uintptr_t s) { cuda_set_current_stream(i, ptr(s)); });
  m.def("cuda_stream_synchronize", [](uintptr_t s, int i) {
    py::gil_scoped_release nogil;
    cuda_stream_synchronize(ptr(s), i);
  });
  m.def("cuda_stream_query", [](uintptr_t s, int i) { return cuda_stream_query(ptr(s), i); });
  m.def("cuda_stream_wait_event", [](uintptr_t s, uintptr_t e, int i) { cuda_stream_wait_event(ptr(s), ptr(e), i); });
  m.def("cuda_event_create", [](int i, bool timing) { return handle(cuda_event_create(i, timing)); });
  m.def("cuda_event_destroy", [](uintptr_t e, int i) { cuda_event_destroy(ptr(e), i); });
  m.def("cuda_event_record", [](uintptr_t e, uintptr_t s, int i) { cuda_event_record(ptr(e), ptr(s), i); });
  m.def("cuda_event_synchronize", [](uintptr_t e) {
    py::gil_scoped_release nogil;
    cuda_event_synchronize(ptr(e));
  });
  m.def("cuda_event_query", [](uintptr_t e) { return cuda_event_query(ptr(e)); });
  m.def("cuda_event_elapsed_ms", [](uintptr_t a, uintptr_t b) { return cuda_event_elapsed_ms(ptr(a), ptr(b)); });
}

void bind_cuda(py::module_& m) {
  bind_cuda_device(m);
  bind_cuda_streams(m);
}
}  // namespace pyml
