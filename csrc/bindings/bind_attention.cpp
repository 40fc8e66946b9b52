#include "bindings/bind.h"

namespace pyml {
void bind_attention(py::module_& m) { (void)m; }
}  // namespace pyml
