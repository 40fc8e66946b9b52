// Matmul family (csrc/ops/linalg.cpp); composites (einsum, tensordot, ...) are in pyml/_ops/linalg.py.
// Decompositions (csrc/ops/linalg_decomp.cpp) behind pyml.linalg (pyml/_ops/decomp.py).
#include "bindings/bind.h"
#include "ops/linalg.h"
#include "ops/linalg_decomp.h"
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
  m.def("linalg_lu_factor_ex", &linalg_lu_factor_ex, py::arg("A"));
  m.def("linalg_lu_solve", &linalg_lu_solve, py::arg("LU"), py::arg("pivots"), py::arg("B"), py::arg("left"),
        py::arg("adjoint"));
  m.def("linalg_lu_pivots_to_permutation", &linalg_lu_pivots_to_permutation, py::arg("pivots"), py::arg("m"));
  m.def("linalg_cholesky_ex", &linalg_cholesky_ex, py::arg("A"), py::arg("upper"));
  m.def("linalg_solve_triangular", &linalg_solve_triangular, py::arg("A"), py::arg("B"), py::arg("upper"),
        py::arg("left"), py::arg("unitriangular"));
  m.def("linalg_eigh", &linalg_eigh, py::arg("A"), py::arg("upper"), py::arg("compute_v"));
  m.def("linalg_svd", &linalg_svd, py::arg("A"), py::arg("full_matrices"), py::arg("compute_uv"));
  m.def("linalg_qr", &linalg_qr, py::arg("A"), py::arg("mode"));
  m.def("linalg_eig", &linalg_eig, py::arg("A"), py::arg("compute_v"));
  m.def("_linalg_set_eig_max_steps", &linalg_set_eig_max_steps, py::arg("steps_per_n"));
  m.def("linalg_geqrf", &linalg_geqrf, py::arg("A"));
  m.def("linalg_ldl_factor_ex", &linalg_ldl_factor_ex, py::arg("A"));
  m.def("linalg_ldl_solve", &linalg_ldl_solve, py::arg("LD"), py::arg("pivots"), py::arg("B"));
  m.def("_linalg_set_max_sweeps", &linalg_set_max_sweeps, py::arg("eigh_steps_per_n"), py::arg("svd_sweeps"));
}
}  // namespace pyml
