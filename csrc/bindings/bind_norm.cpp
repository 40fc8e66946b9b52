// Normalisation layers, cross-entropy and embedding: thin pybind11 glue over ops/norm.h.
// Optional tensors are None; backward entries take `need` (which gradients to compute) and
// return None for the others.
#include "bindings/bind.h"
#include "ops/norm.h"

namespace pyml {

void bind_norm(py::module_& m) {
  m.def("batch_norm_forward", &batch_norm_forward);
  m.def("batch_norm_backward", &batch_norm_backward);
  m.def("layer_norm_forward", [](const Tensor& x, const Shape& ns, const OptTensor& w, const OptTensor& b, double eps,
                                 bool rms) { return layer_norm_forward(x, ns, w, b, eps, rms, rms ? "rms_norm" : "layer_norm"); });
  m.def("layer_norm_backward", &layer_norm_backward);
  m.def("group_norm_forward", [](const Tensor& x, int64_t g, const OptTensor& w, const OptTensor& b, double eps,
                                 const std::string& op) { return group_norm_forward(x, g, w, b, eps, op.c_str()); });
  m.def("group_norm_backward", &group_norm_backward);
  m.def("cross_entropy_forward", &cross_entropy_forward);
  m.def("cross_entropy_forward_grad", &cross_entropy_forward_grad);
  m.def("cross_entropy_backward", &cross_entropy_backward);
  m.def("embedding_forward", &embedding_forward);
  m.def("embedding_backward", &embedding_backward);
  m.def("embedding_renorm_", &embedding_renorm_);
  m.def("embedding_bag_forward", &embedding_bag_forward);
  m.def("embedding_bag_backward", &embedding_bag_backward);
}

}  // namespace pyml
