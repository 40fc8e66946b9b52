#include "bindings/bind.h"

namespace pyml {
void bind_index(py::module_& m) { (void)m; }
}  // namespace pyml
