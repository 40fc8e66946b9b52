// View ops: new (shape, strides, offset) over the same storage. Only reshape may copy.
#include "ops/ops.h"

namespace pyml {

Shape infer_shape(Shape shape, int64_t numel, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); i++) {
    if (shape[i] == -1) {
      PYML_CHECK(infer < 0, ValueError, op, ": only one dimension can be inferred (-1), got shape ", shape);
      infer = (int64_t)i;
    } else {
      PYML_CHECK(shape[i] >= 0, ValueError, op, ": invalid shape dimension ", shape[i], " in shape ", shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    PYML_CHECK(known != 0 && numel % known == 0, ValueError, op, ": shape ", shape,
               " is invalid for input of size ", numel);
    shape[infer] = numel / known;
  }
  PYML_CHECK(shape_numel(shape) == numel, ValueError, op, ": shape ", shape, " is invalid for input of size ", numel);
  return shape;
}

Tensor as_strided(const Tensor& t, const Shape& size, const Shape& stride, std::optional<int64_t> offset) {
  PYML_CHECK(size.size() == stride.size(), ValueError, "as_strided: size and stride must have the same length, got ",
             size, " and ", stride);
  int64_t off = offset ? *offset : t.offset;
  PYML_CHECK(off >= 0, ValueError, "as_strided: storage offset must be non-negative, got ", off);
  int64_t hi = off;
  for (size_t i = 0; i < size.size(); i++) {
    PYML_CHECK(size[i] >= 0 && stride[i] >= 0, ValueError, "as_strided: sizes and strides must be non-negative, got ",
               size, " and ", stride);
    if (size[i] == 0) { hi = -1; break; }
    hi += (size[i] - 1) * stride[i];
  }
  int64_t cap = t.storage->nbytes / t.itemsize();
  PYML_CHECK(hi < cap, ValueError, "as_strided: size ", size, " with stride ", stride, " and offset ", off,
             " reaches element ", hi, " but the storage holds only ", cap, " elements");
  return t.view_as(size, stride, off);
}

// strides for viewing t with `shape` without copying, if possible (PyTorch's computeStride)
static std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  if (t.numel() == 0) return contiguous_strides(shape);
  Shape out(shape.size());
  int64_t view_d = (int64_t)shape.size() - 1;
  int64_t chunk = 1, tensor_numel = 1, base = t.strides.back();  // base: stride of the chunk's innermost dim
  for (int64_t d = t.dim() - 1; d >= 0; d--) {
    tensor_numel *= t.shape[d];
    if (d == 0 || (t.shape[d - 1] != 1 && t.strides[d - 1] != tensor_numel * base)) {
      while (view_d >= 0 && (chunk < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = chunk * base;
        chunk *= shape[view_d];
        view_d--;
      }
      if (chunk != tensor_numel) return std::nullopt;
      if (d > 0) { chunk = 1; tensor_numel = 1; base = t.strides[d - 1]; }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor view(const Tensor& t, Shape shape) {
  shape = infer_shape(shape, t.numel(), "view");
  if (t.dim() == 0) return t.view_as(shape, contiguous_strides(shape), t.offset);
  auto st = view_strides(t, shape);
  PYML_CHECK(st, RuntimeError, "view: size ", shape, " is not compatible with input size ", t.shape,
             " and stride ", t.strides, " (at least one dimension spans across two contiguous subspaces); "
             "use .reshape(...) instead");
  return t.view_as(shape, *st, t.offset);
}

Tensor reshape(const Tensor& t, Shape shape) {
  shape = infer_shape(shape, t.numel(), "reshape");
  if (t.dim() == 0) return t.view_as(shape, contiguous_strides(shape), t.offset);
  if (auto st = view_strides(t, shape)) return t.view_as(shape, *st, t.offset);
  Tensor c = clone(t);
  return c.view_as(shape, contiguous_strides(shape), 0);
}

Tensor permute(const Tensor& t, const Shape& dims) {
  PYML_CHECK((int64_t)dims.size() == t.dim(), ValueError, "permute: number of dims ", (int64_t)dims.size(),
             " must equal the tensor's number of dims ", t.dim(), ", got dims ", dims, " for shape ", t.shape);
  Shape shp(dims.size()), st(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); i++) {
    int64_t d = wrap_dim(dims[i], t.dim(), "permute");
    PYML_CHECK(!seen[d], ValueError, "permute: repeated dim ", dims[i], " in dims ", dims);
    seen[d] = true;
    shp[i] = t.shape[d];
    st[i] = t.strides[d];
  }
  return t.view_as(shp, st, t.offset);
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  if (t.dim() == 0) { wrap_dim(d0, 0, "transpose"); wrap_dim(d1, 0, "transpose"); return t.view_as({}, {}, t.offset); }
  d0 = wrap_dim(d0, t.dim(), "transpose");
  d1 = wrap_dim(d1, t.dim(), "transpose");
  Shape shp = t.shape, st = t.strides;
  std::swap(shp[d0], shp[d1]);
  std::swap(st[d0], st[d1]);
  return t.view_as(shp, st, t.offset);
}

Tensor expand(const Tensor& t, Shape shape) {
  PYML_CHECK((int64_t)shape.size() >= t.dim(), ValueError, "expand: the number of sizes provided (",
             (int64_t)shape.size(), ") must be greater or equal to the number of dimensions in the tensor (", t.dim(),
             "), got ", shape, " for shape ", t.shape);
  int64_t off = (int64_t)shape.size() - t.dim();
  Shape st(shape.size(), 0);
  for (int64_t i = 0; i < (int64_t)shape.size(); i++) {
    int64_t j = i - off;
    if (j < 0) {
      PYML_CHECK(shape[i] >= 0, ValueError, "expand: -1 is not allowed in a leading, non-existing dimension, got ", shape);
      continue;
    }
    if (shape[i] == -1) shape[i] = t.shape[j];
    PYML_CHECK(t.shape[j] == shape[i] || t.shape[j] == 1, ValueError, "expand: the expanded size ", shape[i],
               " must match the existing size ", t.shape[j], " at non-singleton dimension ", i, "; target ", shape,
               ", tensor ", t.shape);
    st[i] = t.shape[j] == shape[i] ? t.strides[j] : 0;
  }
  return t.view_as(shape, st, t.offset);
}

Tensor squeeze(const Tensor& t, std::optional<Shape> dims) {
  std::vector<bool> drop(t.dim(), false);
  if (!dims) for (int64_t i = 0; i < t.dim(); i++) drop[i] = t.shape[i] == 1;
  else for (auto d : *dims) {
    if (t.dim() == 0) { wrap_dim(d, 0, "squeeze"); continue; }
    int64_t w = wrap_dim(d, t.dim(), "squeeze");
    drop[w] = t.shape[w] == 1;
  }
  Shape shp, st;
  for (int64_t i = 0; i < t.dim(); i++)
    if (!drop[i]) { shp.push_back(t.shape[i]); st.push_back(t.strides[i]); }
  return t.view_as(shp, st, t.offset);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shp = t.shape, st = t.strides;
  int64_t s = dim < t.dim() ? t.shape[dim] * t.strides[dim] : 1;
  shp.insert(shp.begin() + dim, 1);
  st.insert(st.begin() + dim, s);
  return t.view_as(shp, st, t.offset);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  PYML_CHECK(t.dim() > 0, IndexError, "select: invalid index of a 0-dim tensor");
  dim = wrap_dim(dim, t.dim(), "select");
  int64_t n = t.shape[dim];
  PYML_CHECK(index >= -n && index < n, IndexError, "select: index ", index, " is out of bounds for dimension ",
             dim, " with size ", n);
  if (index < 0) index += n;
  Shape shp = t.shape, st = t.strides;
  shp.erase(shp.begin() + dim);
  st.erase(st.begin() + dim);
  return t.view_as(shp, st, t.offset + index * t.strides[dim]);
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start0, std::optional<int64_t> stop0, int64_t step) {
  PYML_CHECK(t.dim() > 0, IndexError, "slice: cannot slice a 0-dim tensor");
  PYML_CHECK(step > 0, ValueError, "slice: step must be greater than zero, got ", step);
  dim = wrap_dim(dim, t.dim(), "slice");
  int64_t n = t.shape[dim];
  auto clampi = [n](int64_t v) { if (v < 0) v += n; return std::min(std::max<int64_t>(v, 0), n); };
  int64_t start = start0 ? clampi(*start0) : 0, stop = stop0 ? clampi(*stop0) : n;
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  Shape shp = t.shape, st = t.strides;
  shp[dim] = len;
  st[dim] = t.strides[dim] * step;
  return t.view_as(shp, st, t.offset + (len ? start * t.strides[dim] : 0));
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  PYML_CHECK(t.dim() > 0, IndexError, "narrow: cannot be applied to a 0-dim tensor");
  dim = wrap_dim(dim, t.dim(), "narrow");
  int64_t n = t.shape[dim];
  if (start < 0) start += n;
  PYML_CHECK(start >= 0 && start <= n && length >= 0 && start + length <= n, IndexError, "narrow: start (", start,
             ") + length (", length, ") exceeds dimension size (", n, ") of dim ", dim);
  return slice(t, dim, start, start + length, 1);
}

Tensor diagonal(const Tensor& t, int64_t offset, int64_t d1, int64_t d2) {
  PYML_CHECK(t.dim() >= 2, ValueError, "diagonal: expected a tensor with at least 2 dims, got shape ", t.shape);
  d1 = wrap_dim(d1, t.dim(), "diagonal");
  d2 = wrap_dim(d2, t.dim(), "diagonal");
  PYML_CHECK(d1 != d2, ValueError, "diagonal: dim1 and dim2 must differ, got both ", d1);
  int64_t off = t.offset, len;
  if (offset >= 0) { len = std::max<int64_t>(std::min(t.shape[d1], t.shape[d2] - offset), 0); off += offset * t.strides[d2]; }
  else { len = std::max<int64_t>(std::min(t.shape[d1] + offset, t.shape[d2]), 0); off -= offset * t.strides[d1]; }
  if (len == 0) off = t.offset;
  Shape shp, st;
  for (int64_t i = 0; i < t.dim(); i++)
    if (i != d1 && i != d2) { shp.push_back(t.shape[i]); st.push_back(t.strides[i]); }
  shp.push_back(len);
  st.push_back(t.strides[d1] + t.strides[d2]);
  return t.view_as(shp, st, off);
}

Tensor flatten(const Tensor& t, int64_t start, int64_t end) {
  if (t.dim() == 0) return reshape(t, {1});
  start = wrap_dim(start, t.dim(), "flatten");
  end = wrap_dim(end, t.dim(), "flatten");
  PYML_CHECK(start <= end, ValueError, "flatten: start_dim (", start, ") cannot come after end_dim (", end, ")");
  Shape shp(t.shape.begin(), t.shape.begin() + start);
  int64_t m = 1;
  for (int64_t i = start; i <= end; i++) m *= t.shape[i];
  shp.push_back(m);
  shp.insert(shp.end(), t.shape.begin() + end + 1, t.shape.end());
  return reshape(t, shp);
}

Tensor unflatten(const Tensor& t, int64_t dim, Shape sizes) {
  dim = wrap_dim(dim, t.dim(), "unflatten");
  PYML_CHECK(!sizes.empty(), ValueError, "unflatten: sizes must be non-empty");
  sizes = infer_shape(sizes, t.shape[dim], "unflatten");
  Shape shp(t.shape.begin(), t.shape.begin() + dim);
  shp.insert(shp.end(), sizes.begin(), sizes.end());
  shp.insert(shp.end(), t.shape.begin() + dim + 1, t.shape.end());
  return view(t, shp);
}

}  // namespace pyml
