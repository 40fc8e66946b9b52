#include "bindings/bind.h"

namespace pyml {
void bind_optim(py::module_& m) { (void)m; }
}  // namespace pyml
