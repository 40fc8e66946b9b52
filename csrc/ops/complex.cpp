// view_as_real / view_as_complex: geometry only, no data moves (see ops/complex.h).
#include "ops/complex.h"

namespace pyml {

Tensor view_as_real(const Tensor& t) {
  PYML_CHECK(is_complex(t.dtype), TypeError, "view_as_real: is only supported for complex tensors, got ",
             dtype_name(t.dtype));
  Shape shape = t.shape, strides;
  for (int64_t s : t.strides) strides.push_back(2 * s);
  shape.push_back(2);
  strides.push_back(1);
  Tensor r = t.view_as(shape, strides, 2 * t.offset);
  r.dtype = complex_to_real(t.dtype);
  return r;
}

Tensor view_as_complex(const Tensor& t) {
  PYML_CHECK(t.dtype == DType::Float32 || t.dtype == DType::Float64, TypeError,
             "view_as_complex: is only supported for float32 and float64 tensors, got ", dtype_name(t.dtype));
  PYML_CHECK(t.dim() >= 1 && t.shape.back() == 2, ValueError,
             "view_as_complex: tensor must have a last dimension of size 2, got shape ", t.shape);
  PYML_CHECK(t.strides.back() == 1, ValueError,
             "view_as_complex: tensor must have a last dimension with stride 1, got strides ", t.strides);
  for (int64_t i = 0; i + 1 < t.dim(); i++)
    PYML_CHECK(t.strides[i] % 2 == 0 || t.shape[i] == 1, ValueError, "view_as_complex: tensor must have a "
               "stride divisible by 2 for all but the last dimension, got strides ", t.strides);
  PYML_CHECK(t.offset % 2 == 0, ValueError, "view_as_complex: tensor must have a storage offset divisible "
             "by 2, got ", t.offset);
  Shape shape(t.shape.begin(), t.shape.end() - 1), strides;
  for (int64_t i = 0; i + 1 < t.dim(); i++) strides.push_back(t.shape[i] == 1 ? 1 : t.strides[i] / 2);
  Tensor c = t.view_as(shape, strides, t.offset / 2);
  c.dtype = real_to_complex(t.dtype);
  return c;
}

}  // namespace pyml
