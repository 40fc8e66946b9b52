// Host entries of the FFT: checks, a contiguous view of the input (a copy only when strided), then
// the 1-D transform along each requested dim (cpu/fft.cpp, cuda/fft.cu). c2c on CPU reads the input
// and writes the output in its first pass and runs in place after that; on CUDA it copies first and
// runs in place. The scale is applied by the last pass.
#include <algorithm>
#include "cuda/fft.h"
#include "ops/complex.h"
#include "ops/fft.h"
#include "ops/ops.h"

namespace pyml {
namespace {

// outer = product of the dims before d, inner = product of those after it
void outer_inner(const Shape& shape, int64_t d, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t i = 0; i < d; i++) outer *= shape[i];
  for (int64_t i = d + 1; i < (int64_t)shape.size(); i++) inner *= shape[i];
}

}  // namespace

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
  const bool cpu = y.device().is_cpu();
  if (dims.empty() || !cpu) copy_(y, x, "fft");
  if (dims.empty() || y.numel() == 0) return y;
  Tensor xc = cpu ? contiguous(x) : y;
  DType real = complex_to_real(x.dtype);
  for (size_t k = 0; k < dims.size(); k++) {
    int64_t d = dims[k], outer, inner;
    outer_inner(y.shape, d, outer, inner);
    double sc = k + 1 == dims.size() ? scale : 1.0;
    const void* src = k == 0 ? xc.data() : y.data();
    if (cpu) fft_c2c_cpu(real, src, y.data(), outer, y.shape[d], inner, inverse, sc);
    else fft_lines_cuda(real, y.data(), outer, y.shape[d], inner, inverse, sc, y.device().index);
  }
  y.bump_version();
  return y;
}

Tensor fft_r2c(const Tensor& x, int64_t dim, double scale) {
  PYML_CHECK(x.dtype == DType::Float32 || x.dtype == DType::Float64, TypeError,
             "fft_r2c: expected a float32 or float64 tensor, got ", dtype_name(x.dtype));
  int64_t d = wrap_dim(dim, x.dim(), "fft_r2c");
  const int64_t n = x.shape[d];
  PYML_CHECK(n >= 1, ValueError, "fft_r2c: invalid number of data points (0) along dim ", d, ", shape ", x.shape);
  Shape shape = x.shape;
  shape[d] = n / 2 + 1;
  Tensor y = empty(shape, real_to_complex(x.dtype), x.device());
  if (y.numel() == 0) return y;
  Tensor xc = contiguous(x);
  int64_t outer, inner;
  outer_inner(shape, d, outer, inner);
  if (y.device().is_cpu()) fft_r2c_cpu(x.dtype, xc.data(), y.data(), outer, n, inner, scale);
  else fft_r2c_cuda(x.dtype, xc.data(), y.data(), outer, n, inner, scale, y.device().index);
  return y;
}

Tensor fft_c2r(const Tensor& x, int64_t dim, int64_t n, double scale) {
  PYML_CHECK(is_complex(x.dtype), TypeError, "fft_c2r: expected a complex64 or complex128 tensor, got ",
             dtype_name(x.dtype));
  int64_t d = wrap_dim(dim, x.dim(), "fft_c2r");
  PYML_CHECK(n >= 1, ValueError, "fft_c2r: invalid number of output points (", n, ")");
  PYML_CHECK(x.shape[d] == n / 2 + 1, ValueError, "fft_c2r: x.shape[", d, "] must be n/2 + 1 = ", n / 2 + 1,
             " for n = ", n, ", got shape ", x.shape);
  Shape shape = x.shape;
  shape[d] = n;
  DType real = complex_to_real(x.dtype);
  Tensor y = empty(shape, real, x.device());
  if (y.numel() == 0) return y;
  Tensor xc = contiguous(x);
  int64_t outer, inner;
  outer_inner(shape, d, outer, inner);
  if (y.device().is_cpu()) fft_c2r_cpu(real, xc.data(), y.data(), outer, n, inner, scale);
  else fft_c2r_cuda(real, xc.data(), y.data(), outer, n, inner, scale, y.device().index);
  return y;
}

}  // namespace pyml
