// The extension module pyml._C: exception translation and the registration of every family.
#include "bindings/bind.h"
#include "core/cpu_cache.h"
#include "core/parallel.h"
#include "core/device.h"
#include "cpu/prefetch.h"

namespace pyml {
Scalar to_scalar(py::handle h, const char* op) {
  if (py::isinstance<py::bool_>(h)) return Scalar::from_bool(h.cast<bool>());
  if (py::isinstance<py::int_>(h)) return Scalar::from_int(h.cast<int64_t>());
  if (py::isinstance<py::float_>(h)) return Scalar::from_double(h.cast<double>());
  throw TypeError(cat_str(op, ": expected a Python number (bool, int or float), got ",
                          std::string(py::str(h.get_type().attr("__name__")))));
}
}  // namespace pyml

PYBIND11_MODULE(_C, m) {
  using namespace pyml;
  m.doc() = "pyml engine: tensors and kernels (no autograd; that lives in Python)";
  // pyml.cuda.OutOfMemoryError is this class (a RuntimeError), re-exported by pyml/cuda
  static PyObject* oom = PyErr_NewException("pyml._C.OutOfMemoryError", PyExc_RuntimeError, nullptr);
  m.add_object("OutOfMemoryError", py::handle(oom));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pyml::CudaOutOfMemoryError& e) { PyErr_SetString(oom, e.what());
    } catch (const pyml::ValueError& e) { PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pyml::TypeError& e) { PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const pyml::IndexError& e) { PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const pyml::RuntimeError& e) { PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const std::bad_alloc&) { PyErr_SetString(PyExc_MemoryError, "pyml: out of memory");
    }
  });
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads);
  m.def("cpu_cache_bytes", &cpu_cache_bytes);  // large-buffer cache (core/cpu_cache.h)
  m.def("cpu_empty_cache", &cpu_empty_cache);
  m.def("cpu_isa", &cpu_isa_name);
  m.def("_set_cpu_isa", [](const std::string& name) {  // tests only: run the AVX2 / generic kernel copies
    PYML_CHECK(set_cpu_isa(name.c_str()), ValueError, "_set_cpu_isa: expected an instruction set this CPU runs ",
               "(generic, avx2 or avx512 up to the best), got '", name, "'");
  });
  // tests and bench only: outputs of at least this many bytes go out by streaming stores (cpu/prefetch.h)
  m.def("_set_stream_bytes", &set_stream_bytes);
  m.def("cuda_compiled", &cuda_compiled);
  m.def("compiler", [] {
#ifdef PYML_CXX_COMPILER
    return std::string(PYML_CXX_COMPILER);
#else
    return std::string("unknown");
#endif
  });
  m.def("default_dtype", [] { return (int)default_dtype(); });
  m.def("set_default_dtype", [](int t) { set_default_dtype((DType)t); });
  bind_tensor(m);
  bind_elementwise(m);
  bind_reduce(m);
  bind_index(m);
  bind_linalg(m);
  bind_random(m);
  bind_interop(m);
  bind_cuda(m);
  bind_conv(m);
  bind_norm(m);
  bind_attention(m);
  bind_optim(m);
  bind_fft(m);
}
