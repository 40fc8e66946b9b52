// Matmul family (csrc/ops/linalg.cpp); composites (einsum, tensordot, ...) are in pyml/_ops/linalg.py.
#include "bindings/bind.h"
#include "ops/linalg.h"
#include "cuda/matmul.h"

namespace pyml {
void bind_linalg(py::module_& m) {
  m.def("matmul", &matmul);
  m.def("_set_matmul_allow_tf32", &set_matmul_allow_tf32);  // pyml.backends.cuda.matmul.allow_tf32
  m.def("_get_matmul_allow_tf32", &matmul_allow_tf32);
  m.def("mm", &mm);
  m.def("bmm", &bmm);
  m.def("mv", &mv);
  m.def("dot", &dot);
  m.def("addmm", &addmm, py::arg("input"), py::arg("mat1"), py::arg("mat2"), py::arg("beta"), py::arg("alpha"));
  m.def("baddbmm", &baddbmm, py::arg("input"), py::arg("batch1"), py::arg("batch2"), py::arg("beta"),
        py::arg("alpha"));
  m.def("gemm_", &gemm_, py::arg("c"), py::arg("a"), py::arg("b"), py::arg("alpha"), py::arg("beta"));
}
}  // namespace pyml
