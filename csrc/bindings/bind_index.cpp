// Indexing, gather/scatter and layout ops (csrc/ops/index.cpp, layout.cpp). Enum codes are ints
// mirrored in pyml/_ops/index.py; Python numbers become Scalars here.
#include "bindings/bind.h"
#include "ops/index.h"

namespace pyml {

void bind_index(py::module_& m) {
  m.def("index", [](const Tensor& x, const std::vector<OptTensor>& idx) { return index(x, idx); });
  m.def("index_put_", [](const Tensor& x, const std::vector<OptTensor>& idx, const Tensor& v, bool accumulate) {
    index_put_(x, idx, v, accumulate);
  });
  m.def("index_select", &index_select);
  m.def("index_add_", [](const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, py::handle alpha) {
    index_add_(x, dim, idx, src, to_scalar(alpha, "index_add_"));
  });
  m.def("index_copy_", &index_copy_);
  m.def("index_fill_", [](const Tensor& x, int64_t dim, const Tensor& idx, py::handle v) {
    index_fill_(x, dim, idx, to_scalar(v, "index_fill_"));
  });
  m.def("take", &take);
  m.def("gather", [](const Tensor& x, int64_t dim, const Tensor& idx) { return gather(x, dim, idx); });
  m.def("scatter_", [](const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& src, int op, const char* name) {
    scatter_(x, dim, idx, src, (ScatterOp)op, name);
  });
  m.def("nonzero", &nonzero);
  m.def("where", &where);
  m.def("masked_fill_", [](const Tensor& x, const Tensor& mask, py::handle v) {
    masked_fill_(x, mask, to_scalar(v, "masked_fill_"));
  });
  m.def("masked_select", &masked_select);
  m.def("repeat_interleave_index", &repeat_interleave_index);

  m.def("cat", &cat);
  m.def("flip", &flip);
  m.def("roll", &roll);
  m.def("pad", [](const Tensor& x, const Shape& pads, int mode, py::handle v) {
    return pad(x, pads, (PadMode)mode, to_scalar(v, "pad"));
  });
  m.def("tril", &tril);
}

}  // namespace pyml
