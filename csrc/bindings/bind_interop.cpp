#include "bindings/bind.h"

namespace pyml {
void bind_interop(py::module_& m) { (void)m; }
}  // namespace pyml
