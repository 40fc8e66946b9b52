#include "bindings/bind.h"

namespace pyml {
void bind_reduce(py::module_& m) { (void)m; }
}  // namespace pyml
