// Storage and Tensor: the engine's ndarray. A Storage is a 64-byte aligned, reference-counted,
// device-tagged buffer; a Tensor is a strided view (shape, strides in elements, offset) of one.
// Views share storage. The engine has no autograd: that lives in Python (pyml/autograd/).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <vector>
#include "core/dtype.h"
#include "core/error.h"

namespace pyml {

using Shape = std::vector<int64_t>;

struct Device {
  enum Type : int8_t { CPU = 0, CUDA = 1 };
  Type type = CPU;
  int8_t index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  bool is_cpu() const { return type == CPU; }
  std::string str() const;  // "cpu", "cuda:0"
};

struct Storage {
  void* data = nullptr;
  int64_t nbytes = 0;
  Device device;
  std::function<void(void*)> deleter;   // frees data (or drops a foreign owner)
  std::atomic<int64_t> version{0};      // bumped by in-place writes (autograd's saved-tensor check)
  Storage() = default;
  Storage(const Storage&) = delete;
  ~Storage() { if (deleter) deleter(data); }
};
using StoragePtr = std::shared_ptr<Storage>;

StoragePtr alloc_storage(int64_t nbytes, Device dev);
// Wrap foreign memory; `owner` is kept alive until the storage dies.
StoragePtr wrap_storage(void* data, int64_t nbytes, Device dev, std::function<void(void*)> deleter);

class Tensor {
 public:
  StoragePtr storage;
  Shape shape, strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;

  int64_t dim() const { return (int64_t)shape.size(); }
  int64_t numel() const;
  int64_t itemsize() const { return pyml::itemsize(dtype); }
  Device device() const { return storage->device; }
  bool is_contiguous() const;
  char* data() const { return static_cast<char*>(storage->data) + offset * itemsize(); }
  template <typename T> T* ptr() const { return reinterpret_cast<T*>(data()); }
  bool defined() const { return (bool)storage; }
  void bump_version() const { storage->version++; }
  // A view of the same storage with new geometry.
  Tensor view_as(Shape shape, Shape strides, int64_t offset) const;
};

Shape contiguous_strides(const Shape& shape);
int64_t shape_numel(const Shape& shape);
// Normalise a possibly negative dim against ndim; raises IndexError naming op.
int64_t wrap_dim(int64_t d, int64_t ndim, const char* op);

Tensor empty(const Shape& shape, DType dtype, Device dev = Device{});
Tensor empty_like(const Tensor& t);  // contiguous, same dtype/device

}  // namespace pyml
