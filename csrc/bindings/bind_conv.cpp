#include "bindings/bind.h"

namespace pyml {
void bind_conv(py::module_& m) { (void)m; }
}  // namespace pyml
