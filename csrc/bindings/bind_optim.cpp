// Fused optimizer steps: thin pybind11 glue over ops/optim.h. State tensors may be None.
#include "bindings/bind.h"
#include "ops/optim.h"

namespace pyml {
void bind_optim(py::module_& m) {
  m.def("optim_step", [](const std::string& algo, const Tensor& param, const Tensor& grad,
                         const std::vector<std::optional<Tensor>>& state,
                         const std::map<std::string, double>& hp) {
    std::vector<Tensor> st;
    for (auto& s : state) st.push_back(s ? *s : Tensor{});
    optim_step(algo, param, grad, st, hp);
  }, py::arg("algo"), py::arg("param"), py::arg("grad"), py::arg("state"), py::arg("hp"));
}
}  // namespace pyml
