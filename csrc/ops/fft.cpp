// Host entry of the FFT: checks, one contiguous complex copy of the input, then the 1-D transform
// in place along each requested dim (cpu/fft.cpp, cuda/fft.cu). Scale is applied by the last pass.
#include <algorithm>
#include "cuda/fft.h"
#include "ops/fft.h"
#include "ops/ops.h"

namespace pyml {

Tensor fft_c2c(const Tensor& x, const std::vector<int64_t>& dims0, bool inverse, double scale) {
  PYML_CHECK(is_complex(x.dtype), TypeError, "fft: expected a complex64 or complex128 tensor, got ",
             dtype_name(x.dtype));
  std::vector<int64_t> dims;
  for (int64_t d : dims0) {
    d = wrap_dim(d, x.dim(), "fft");
    PYML_CHECK(std::find(dims.begin(), dims.end(), d) == dims.end(), ValueError,
               "fft: dims must be unique, got dim ", d, " twice");
    PYML_CHECK(x.shape[d] >= 1, ValueError, "fft: invalid number of data points (0) along dim ", d,
               ", shape ", x.shape);
    dims.push_back(d);
  }
  Tensor y = empty(x.shape, x.dtype, x.device());
  copy_(y, x, "fft");
  if (y.numel() == 0) return y;
  DType real = complex_to_real(x.dtype);
  for (size_t k = 0; k < dims.size(); k++) {
    int64_t d = dims[k], outer = 1, inner = 1;
    for (int64_t i = 0; i < d; i++) outer *= y.shape[i];
    for (int64_t i = d + 1; i < y.dim(); i++) inner *= y.shape[i];
    double sc = k + 1 == dims.size() ? scale : 1.0;
    if (y.device().is_cpu()) fft_lines_cpu(real, y.data(), outer, y.shape[d], inner, inverse, sc);
    else fft_lines_cuda(real, y.data(), outer, y.shape[d], inner, inverse, sc, y.device().index);
  }
  y.bump_version();
  return y;
}

}  // namespace pyml
