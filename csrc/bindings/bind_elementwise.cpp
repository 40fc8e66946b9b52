// Elementwise ops: op codes are passed as ints from pyml/_ops/elementwise.py.
#include "bindings/bind.h"

namespace pyml {

void bind_elementwise(py::module_& m) {
  m.def("unary", [](int op, const Tensor& x, std::vector<double> p) {
    return unary((UnaryOp)op, x, p.empty() ? nullptr : p.data());
  }, py::arg("op"), py::arg("x"), py::arg("params") = std::vector<double>{});
  m.def("unary_", [](int op, const Tensor& x, std::vector<double> p) {
    unary_((UnaryOp)op, x, p.empty() ? nullptr : p.data());
  }, py::arg("op"), py::arg("x"), py::arg("params") = std::vector<double>{});
  m.def("binary", [](int op, const Tensor& a, const Tensor& b, double alpha) {
    return binary((BinaryOp)op, a, b, alpha);
  });
  m.def("binary_scalar", [](int op, const Tensor& a, py::handle s, double alpha, bool reflected) {
    return binary_scalar((BinaryOp)op, a, to_scalar(s, binary_name((BinaryOp)op)), alpha, reflected);
  });
  m.def("binary_", [](int op, const Tensor& a, const Tensor& b, double alpha) {
    binary_((BinaryOp)op, a, b, alpha);
  });
  m.def("binary_scalar_", [](int op, const Tensor& a, py::handle s, double alpha) {
    Scalar sc = to_scalar(s, binary_name((BinaryOp)op));
    DType common = result_type({operand_of(a), {sc.dtype(), 2}});
    binary_((BinaryOp)op, a, scalar_tensor(sc, common), alpha);
  });
  m.def("unary_names", [] {
    std::vector<std::string> v;
    for (int i = 0; i < (int)UnaryOp::Count; i++) v.push_back(unary_name((UnaryOp)i));
    return v;
  });
}

}  // namespace pyml
