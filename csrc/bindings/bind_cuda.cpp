// Device queries for pyml.cuda.
#include "bindings/bind.h"
#include "core/device.h"

namespace pyml {
void bind_cuda(py::module_& m) {
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_device_name", &cuda_device_name);
  m.def("cuda_synchronize", &cuda_synchronize);
}
}  // namespace pyml
