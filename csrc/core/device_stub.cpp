// Stand-ins for the CUDA backend when pyml is built without nvcc: everything raises clearly.
#ifndef PYML_WITH_CUDA
#include "core/device.h"
#include "core/error.h"

namespace pyml {
[[noreturn]] static void no_cuda(const char* op) {
  throw RuntimeError(cat_str(op, ": pyml was built without CUDA support (rebuild with nvcc and PYML_CUDA=AUTO or ON)"));
}
bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_name(int) { no_cuda("get_device_name"); }
void* cuda_alloc(int64_t, int) { no_cuda("cuda_alloc"); }
void cuda_free(void*, int) {}
void cuda_memcpy(void*, const void*, int64_t, CopyKind, int) { no_cuda("copy"); }
void cuda_synchronize(int) { no_cuda("synchronize"); }
void cuda_add_f32(float*, const float*, const float*, float, int64_t, int) { no_cuda("add"); }
void cuda_fill_bytes(void*, const void*, int64_t, int64_t, int) { no_cuda("fill"); }
}  // namespace pyml
#endif
