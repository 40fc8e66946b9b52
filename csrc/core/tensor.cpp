// Storage allocation (64-byte aligned CPU memory, CUDA through cuda/), tensor geometry helpers.
#include "core/tensor.h"
#include <cstdlib>
#include <sstream>
#include "core/cpu_cache.h"
#include "core/device.h"

namespace pyml {

std::string Device::str() const {
  return type == CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); i++) o << (i ? ", " : "") << s[i];
  if (s.size() == 1) o << ",";
  o << ")";
  return o.str();
}

StoragePtr alloc_storage(int64_t nbytes, Device dev) {
  auto st = std::make_shared<Storage>();
  st->nbytes = nbytes;
  st->device = dev;
  if (dev.is_cpu()) {
    // Large buffers: 2 MiB aligned with MADV_HUGEPAGE (first touch faults once per 2 MiB, not per
    // 4 KiB) and recycled through the large-buffer cache (core/cpu_cache.h), so a repeated op
    // reuses warm pages instead of faulting again.
    if (nbytes >= kLargeMinBytes) {
      size_t n = (size_t)((nbytes + kLargeAlign - 1) / kLargeAlign * kLargeAlign);
      st->data = cpu_large_alloc(n);
      PYML_CHECK(st->data, RuntimeError, "alloc: out of memory allocating ", nbytes, " bytes on cpu");
      st->deleter = [n](void* p) { cpu_large_free(p, n); };
      return st;
    }
    size_t n = (size_t)((nbytes + 63) / 64 * 64);
    st->data = std::aligned_alloc(64, n ? n : 64);
    PYML_CHECK(st->data, RuntimeError, "alloc: out of memory allocating ", nbytes, " bytes on cpu");
    st->deleter = [](void* p) { std::free(p); };
  } else {
    st->data = cuda_alloc(nbytes, dev.index);
    int idx = dev.index;
    st->deleter = [idx](void* p) { cuda_free(p, idx); };
  }
  return st;
}

StoragePtr wrap_storage(void* data, int64_t nbytes, Device dev, std::function<void(void*)> deleter) {
  auto st = std::make_shared<Storage>();
  st->data = data;
  st->nbytes = nbytes;
  st->device = dev;
  st->deleter = std::move(deleter);
  return st;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

int64_t Tensor::numel() const { return shape_numel(shape); }

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int64_t i = (int64_t)shape.size() - 1; i >= 0; i--) {
    st[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int64_t i = dim() - 1; i >= 0; i--) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) return shape_numel(shape) == 0;
    expect *= shape[i];
  }
  return true;
}

Tensor Tensor::view_as(Shape shp, Shape str, int64_t off) const {
  Tensor t;
  t.storage = storage;
  t.shape = std::move(shp);
  t.strides = std::move(str);
  t.offset = off;
  t.dtype = dtype;
  return t;
}

int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, like PyTorch
  PYML_CHECK(d >= -n && d < n, IndexError, op, ": dim must be in the range [", -n, ", ", n - 1,
             "], got ", d);
  return d < 0 ? d + n : d;
}

Tensor empty(const Shape& shape, DType dtype, Device dev) {
  // the byte count is checked for int64 overflow: a wrapped count would allocate a few bytes that the
  // first fill then overruns
  for (auto s : shape) PYML_CHECK(s >= 0, ValueError, "empty: sizes must be non-negative, got ", shape);
  bool empty_shape = false;  // a zero dim: no bytes, whatever the other sizes
  for (auto s : shape) empty_shape |= s == 0;
  int64_t nbytes = empty_shape ? 0 : pyml::itemsize(dtype);
  for (auto s : shape)
    PYML_CHECK(!__builtin_mul_overflow(nbytes, s, &nbytes), RuntimeError,
               "empty: storage size calculation overflowed with sizes ", shape, " of dtype ", dtype_name(dtype));
  Tensor t;
  t.shape = shape;
  t.strides = contiguous_strides(shape);
  t.dtype = dtype;
  t.storage = alloc_storage(nbytes, dev);
  return t;
}

Tensor empty_like(const Tensor& t) { return empty(t.shape, t.dtype, t.device()); }

}  // namespace pyml
