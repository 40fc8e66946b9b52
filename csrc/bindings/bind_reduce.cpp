// Reductions, scans, sort family and softmax: thin pybind11 glue over ops/reduce.h.
// dims: None (all) or a list of ints; dtype: None or the engine's dtype code.
#include "bindings/bind.h"
#include "ops/reduce.h"

namespace pyml {

using ODT = std::optional<int>;
static std::optional<DType> dt(ODT c) { return c ? std::optional<DType>((DType)*c) : std::nullopt; }

void bind_reduce(py::module_& m) {
  using T = const Tensor&;
  using D = const OptDims&;
  m.def("sum", [](T x, D d, bool k, ODT t) { return sum(x, d, k, dt(t)); });
  m.def("nansum", [](T x, D d, bool k, ODT t) { return nansum(x, d, k, dt(t)); });
  m.def("prod", [](T x, D d, bool k, ODT t) { return prod(x, d, k, dt(t)); });
  m.def("mean", [](T x, D d, bool k, ODT t) { return mean(x, d, k, dt(t)); });
  m.def("nanmean", [](T x, D d, bool k, ODT t) { return nanmean(x, d, k, dt(t)); });
  m.def("amax", &amax);
  m.def("amin", &amin);
  m.def("max_all", &max_all);
  m.def("min_all", &min_all);
  m.def("max_dim", &max_dim);
  m.def("min_dim", &min_dim);
  m.def("argmax", &argmax);
  m.def("argmin", &argmin);
  m.def("all", &all);
  m.def("any", &any);
  m.def("count_nonzero", &count_nonzero);
  m.def("var_mean", [](T x, D d, double c, bool k, bool sq, const std::string& op) {
    return var_mean(x, d, c, k, sq, op.c_str());
  });
  m.def("logsumexp", &logsumexp);
  m.def("norm", [](T x, double p, D d, bool k, ODT t) { return norm(x, p, d, k, dt(t)); });

  m.def("cumsum", [](T x, int64_t d, ODT t) { return cumsum(x, d, dt(t)); });
  m.def("cumprod", [](T x, int64_t d, ODT t) { return cumprod(x, d, dt(t)); });
  m.def("cummax", &cummax);
  m.def("cummin", &cummin);
  m.def("logcumsumexp", &logcumsumexp);
  m.def("softmax", [](T x, int64_t d, ODT t, bool log) { return softmax(x, d, dt(t), log); });
  m.def("softmax_backward", [](T g, T y, int64_t d, bool log) { return softmax_backward(g, y, d, log); });

  m.def("sort", &sort);
  m.def("topk", &topk);
  m.def("kthvalue", &kthvalue);
  m.def("median_all", &median_all);
  m.def("median_dim", &median_dim);
  m.def("mode", &mode);
  m.def("unique", &unique);
  m.def("unique_consecutive", &unique_consecutive);
}

}  // namespace pyml
