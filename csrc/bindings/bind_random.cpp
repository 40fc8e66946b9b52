#include "bindings/bind.h"

namespace pyml {
void bind_random(py::module_& m) { (void)m; }
}  // namespace pyml
