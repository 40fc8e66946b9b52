#include "bindings/bind.h"

namespace pyml {
void bind_linalg(py::module_& m) { (void)m; }
}  // namespace pyml
