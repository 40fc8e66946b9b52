// Scaled dot-product attention (csrc/ops/attention.cpp): thin pybind11 glue.
#include "bindings/bind.h"
#include "ops/attention.h"

namespace pyml {
void bind_attention(py::module_& m) {
  m.def("sdpa_forward", &sdpa_forward, py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask"),
        py::arg("is_causal"), py::arg("scale"));
  m.def("sdpa_check", &sdpa_check, py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask"),
        py::arg("is_causal"));
  m.def("sdpa_backward", &sdpa_backward, py::arg("grad_output"), py::arg("query"), py::arg("key"), py::arg("value"),
        py::arg("attn_mask"), py::arg("out"), py::arg("lse"), py::arg("is_causal"), py::arg("scale"),
        py::arg("need_dq"), py::arg("need_dk"), py::arg("need_dv"));
}
}  // namespace pyml
