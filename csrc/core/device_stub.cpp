// The CUDA entries that exist in every build, and the stand-ins used when pyml is built without
// nvcc (the rest are inline stubs from PYML_CUDA_FN in core/device.h): no CUDA tensor can be made.
#include "core/device.h"
#include "core/error.h"

namespace pyml {

void throw_no_cuda(const char* fn) {
  throw RuntimeError(cat_str(fn, ": pyml was built without CUDA support (rebuild with nvcc on the PATH and "
                                 "PYML_CUDA=AUTO or ON)"));
}

#ifndef PYML_WITH_CUDA
bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
void cuda_free(void*, int) {}
#endif

}  // namespace pyml
