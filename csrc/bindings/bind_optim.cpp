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
  // one fused step with shared hyper-parameters for a list of parameters (one launch on CUDA)
  m.def("optim_step_multi", [](const std::string& algo, const std::vector<Tensor>& params,
                               const std::vector<Tensor>& grads,
                               const std::vector<std::vector<std::optional<Tensor>>>& states,
                               const std::map<std::string, double>& hp) {
    std::vector<std::vector<Tensor>> st;
    for (auto& list : states) {
      st.emplace_back();
      for (auto& s : list) st.back().push_back(s ? *s : Tensor{});
    }
    optim_step_multi(algo, params, grads, st, hp);
  }, py::arg("algo"), py::arg("params"), py::arg("grads"), py::arg("states"), py::arg("hp"));
}
}  // namespace pyml
