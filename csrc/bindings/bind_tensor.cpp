// TensorImpl (the engine tensor), NumPy interop, copies, casts and views.
#include <pybind11/numpy.h>
#include "core/memory_format.h"
#include "bindings/bind.h"
#include "core/device.h"

namespace pyml {

static Device to_device(const std::pair<int, int>& d) {
  Device dev;
  dev.type = (Device::Type)d.first;
  dev.index = (int8_t)d.second;
  if (dev.type == Device::CUDA) {
    int n = cuda_device_count();
    PYML_CHECK(cuda_compiled(), RuntimeError, "device: pyml was built without CUDA support, got device ", dev.str());
    PYML_CHECK(d.second >= 0 && d.second < n, RuntimeError, "device: CUDA device index must be in [0, ", n,
               "), got ", dev.str(), " (", n, " CUDA devices available)");
  }
  return dev;
}

static const char* numpy_format(DType t) {
  switch (t) {
    case DType::Bool: return "?"; case DType::UInt8: return "B"; case DType::Int8: return "b";
    case DType::Int16: return "h"; case DType::Int32: return "i"; case DType::Int64: return "q";
    case DType::Float16: return "e"; case DType::Float32: return "f"; case DType::Float64: return "d";
    case DType::Complex64: return "F"; case DType::Complex128: return "D";
    default: throw TypeError(cat_str("numpy: dtype ", dtype_name(t), " has no NumPy equivalent; convert with .float() first"));
  }
}

static DType from_numpy_dtype(const py::dtype& dt) {
  char k = dt.kind();
  int64_t sz = dt.itemsize();
  if (k == 'b') return DType::Bool;
  if (k == 'u' && sz == 1) return DType::UInt8;
  if (k == 'i') {
    if (sz == 1) return DType::Int8; if (sz == 2) return DType::Int16;
    if (sz == 4) return DType::Int32; if (sz == 8) return DType::Int64;
  }
  if (k == 'f') {
    if (sz == 2) return DType::Float16; if (sz == 4) return DType::Float32; if (sz == 8) return DType::Float64;
  }
  if (k == 'c') {
    if (sz == 8) return DType::Complex64; if (sz == 16) return DType::Complex128;
  }
  throw TypeError(cat_str("from_numpy: can't convert NumPy array of type ", std::string(py::str(dt)),
                          "; supported: bool, uint8, int8, int16, int32, int64, float16, float32, float64, "
                          "complex64, complex128"));
}

static py::array to_numpy(const Tensor& t) {
  PYML_CHECK(t.device().is_cpu(), TypeError, "numpy: can't convert a ", t.device().str(),
             " tensor to NumPy; use .cpu() to copy it to host memory first");
  std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end()), strides;
  for (auto s : t.strides) strides.push_back(s * t.itemsize());
  auto* keep = new StoragePtr(t.storage);
  py::capsule base(keep, [](void* p) { delete static_cast<StoragePtr*>(p); });
  return py::array(py::dtype(numpy_format(t.dtype)), shape, strides, t.data(), base);
}

static Tensor from_numpy(py::array a) {
  DType dt = from_numpy_dtype(a.dtype());
  int64_t isz = itemsize(dt);
  Shape shape, strides;
  int64_t hi = 0;
  for (py::ssize_t i = 0; i < a.ndim(); i++) {
    shape.push_back(a.shape(i));
    PYML_CHECK(a.strides(i) >= 0, ValueError, "from_numpy: at least one stride in the given NumPy array is negative "
               "(", a.strides(i), " bytes); copy the array first with array.copy()");
    PYML_CHECK(a.strides(i) % isz == 0, ValueError, "from_numpy: strides must be multiples of the item size (", isz,
               "), got ", a.strides(i), " bytes");
    strides.push_back(a.strides(i) / isz);
    hi += (a.shape(i) - 1) * strides.back();
  }
  auto* owner = new py::object(a);
  int64_t nbytes = a.size() == 0 ? 0 : (hi + 1) * isz;
  Tensor t;
  t.storage = wrap_storage(const_cast<void*>(a.data()), nbytes, Device{}, [owner](void*) {
    py::gil_scoped_acquire g;
    delete owner;
  });
  t.shape = shape;
  t.strides = strides;
  t.dtype = dt;
  return t;
}

static py::object item(const Tensor& t0) {
  PYML_CHECK(t0.numel() == 1, ValueError, "item: a Tensor with ", t0.numel(),
             " elements cannot be converted to a Python scalar; shape ", t0.shape);
  Tensor t = t0;
  if (!t.device().is_cpu()) { t = empty(t0.shape, t0.dtype); copy_(t, t0); }
  py::object r;
  PYML_DISPATCH_ALL(t.dtype, "item", [&] {
    using U = typename OpMath<scalar_t>::type;
    U v = static_cast<U>(*t.ptr<scalar_t>());
    if constexpr (std::is_same_v<U, bool>) r = py::bool_(v);
    else if constexpr (std::is_floating_point_v<U>) r = py::float_((double)v);
    else r = py::int_((int64_t)v);
  });
  return r;
}

void bind_tensor(py::module_& m) {
  py::class_<Tensor>(m, "TensorImpl")
      .def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape)); })
      .def_property_readonly("strides", [](const Tensor& t) { return py::tuple(py::cast(t.strides)); })
      .def_property_readonly("offset", [](const Tensor& t) { return t.offset; })
      .def_property_readonly("dtype", [](const Tensor& t) { return (int)t.dtype; })
      .def_property_readonly("device", [](const Tensor& t) { return std::make_pair((int)t.device().type, (int)t.device().index); })
      .def_property_readonly("data_ptr", [](const Tensor& t) { return (uintptr_t)t.data(); })
      .def_property_readonly("storage_id", [](const Tensor& t) { return (uintptr_t)t.storage.get(); })
      .def_property_readonly("storage_nbytes", [](const Tensor& t) { return t.storage->nbytes; })
      .def_property_readonly("version", [](const Tensor& t) { return t.storage->version.load(); })
      // how many engine tensors share this storage (autograd steals a gradient nobody else can see)
      .def_property_readonly("storage_use_count", [](const Tensor& t) { return (long)t.storage.use_count(); })
      // autograd records (shape, dtype, device) and the version per op: one call instead of four;
      // the key packs dtype | device type << 8 | device index << 16
      .def_property_readonly("meta", [](const Tensor& t) {
        Device d = t.device();
        PyObject* shape = PyTuple_New((Py_ssize_t)t.shape.size());
        if (!shape) throw py::error_already_set();
        for (size_t i = 0; i < t.shape.size(); i++) PyTuple_SET_ITEM(shape, i, PyLong_FromLongLong(t.shape[i]));
        return py::make_tuple(py::reinterpret_steal<py::object>(shape),
                              (int)t.dtype | (int)d.type << 8 | (int)d.index << 16, t.storage->version.load());
      })
      .def("bump_version", &Tensor::bump_version)
      .def("numel", &Tensor::numel)
      .def("dim", &Tensor::dim)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def_property_readonly("is_dense", &non_overlapping_dense)
      .def("is_contiguous_as", [](const Tensor& t, int f) { return is_contiguous_as(t, (MemoryFormat)f); });

  m.def("empty", [](const Shape& s, int dt, std::pair<int, int> dev) { return empty(s, (DType)dt, to_device(dev)); });
  m.def("full", [](const Shape& s, py::handle v, int dt, std::pair<int, int> dev) {
    return full(s, to_scalar(v, "full"), (DType)dt, to_device(dev));
  });
  m.def("fill_", [](const Tensor& t, py::handle v) { fill_(t, to_scalar(v, "fill_")); });
  m.def("copy_", [](const Tensor& d, const Tensor& s) { copy_(d, s); });
  m.def("to_dtype", [](const Tensor& t, int dt, bool copy) { return to_dtype(t, (DType)dt, copy); });
  // memory formats as ints: 0 contiguous, 1 channels_last, 2 channels_last_3d, 3 preserve
  m.def("to_device", [](const Tensor& t, std::pair<int, int> dev, int dt, int f) {
    return clone_format(t, (MemoryFormat)f, (DType)dt, to_device(dev), "to");
  });
  m.def("clone_format", [](const Tensor& t, int f, int dt, const char* op) {
    return clone_format(t, (MemoryFormat)f, (DType)dt, t.device(), op);
  });
  m.def("empty_format", [](const Shape& s, int dt, std::pair<int, int> dev, int f) {
    return empty_strided(s, format_strides(s, (MemoryFormat)f, "empty"), (DType)dt, to_device(dev));
  });
  m.def("empty_like_format", [](const Tensor& t, int dt, std::pair<int, int> dev, int f) {
    return empty_strided(t.shape, like_strides(t, (MemoryFormat)f, "empty_like"), (DType)dt, to_device(dev));
  });
  m.def("clone", &clone);
  m.def("contiguous", &contiguous);
  m.def("item", &item);
  m.def("numpy", &to_numpy);
  m.def("from_numpy", &from_numpy);
  m.def("shares_memory", [](const Tensor& a, const Tensor& b) { return overlaps(a, b); });
  m.def("result_type", [](const std::vector<std::pair<int, int>>& ops) {
    std::vector<TypeOperand> v;
    for (auto& o : ops) v.push_back({(DType)o.first, o.second});
    return (int)result_type(v);
  });
  m.def("promote_types", [](int a, int b) { return (int)promote_types((DType)a, (DType)b); });
  m.def("can_cast", [](int a, int b) { return can_cast((DType)a, (DType)b); });

  m.def("as_strided", &as_strided);
  m.def("view", &view);
  m.def("reshape", &reshape);
  m.def("permute", &permute);
  m.def("transpose", &transpose);
  m.def("expand", &expand);
  m.def("squeeze", &squeeze);
  m.def("unsqueeze", &unsqueeze);
  m.def("select", &select);
  m.def("slice", &slice);
  m.def("narrow", &narrow);
  m.def("diagonal", &diagonal);
  m.def("flatten", &flatten);
  m.def("unflatten", &unflatten);
}

}  // namespace pyml
