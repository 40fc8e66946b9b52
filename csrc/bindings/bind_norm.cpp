#include "bindings/bind.h"

namespace pyml {
void bind_norm(py::module_& m) { (void)m; }
}  // namespace pyml
