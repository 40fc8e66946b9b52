// DLPack capsules. Export: a capsule named "dltensor" (legacy) or "dltensor_versioned" whose
// destructor frees the managed tensor only if no consumer renamed it to "used_...". Import:
// validate, rename the capsule to "used_..." (ownership moves to pyml), then view the memory.
#include <cstring>
#include "bindings/bind.h"
#include "ops/dlpack.h"

namespace pyml {
namespace {

const char* kLegacy = "dltensor";
const char* kUsedLegacy = "used_dltensor";
const char* kVersioned = "dltensor_versioned";
const char* kUsedVersioned = "used_dltensor_versioned";

template <typename M>
void capsule_destructor(PyObject* cap, const char* name) {
  if (!PyCapsule_IsValid(cap, name)) return;  // consumed (renamed): the consumer owns it now
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  auto* mt = static_cast<M*>(PyCapsule_GetPointer(cap, name));
  if (mt && mt->deleter) mt->deleter(mt);
  PyErr_Restore(type, value, tb);
}
void legacy_destructor(PyObject* cap) { capsule_destructor<DLManagedTensor>(cap, kLegacy); }
void versioned_destructor(PyObject* cap) { capsule_destructor<DLManagedTensorVersioned>(cap, kVersioned); }

template <typename M>
py::object make_capsule(M* mt, const char* name, PyCapsule_Destructor destructor) {
  PyObject* cap = PyCapsule_New(mt, name, destructor);
  if (!cap) {
    mt->deleter(mt);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(cap);
}

py::object export_capsule(const Tensor& t, bool versioned, bool copy) {
  if (versioned) return make_capsule(to_dlpack_versioned(t, copy), kVersioned, versioned_destructor);
  return make_capsule(to_dlpack(copy ? clone(t) : t), kLegacy, legacy_destructor);
}

template <typename M>
Tensor consume(PyObject* cap, M* mt, const char* used, uint64_t flags, std::optional<bool> copy) {
  check_dlpack(mt->dl_tensor);
  check_dlpack_copy(flags, copy);
  PyCapsule_SetName(cap, used);
  return tensor_from_dlpack(mt->dl_tensor, flags, copy, [mt] { if (mt->deleter) mt->deleter(mt); });
}

Tensor import_capsule(py::handle obj, std::optional<bool> copy) {
  PyObject* o = obj.ptr();
  if (PyCapsule_IsValid(o, kVersioned)) {
    auto* mt = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(o, kVersioned));
    check_dlpack_version(mt->version);
    return consume(o, mt, kUsedVersioned, mt->flags, copy);
  }
  if (PyCapsule_IsValid(o, kLegacy))
    return consume(o, static_cast<DLManagedTensor*>(PyCapsule_GetPointer(o, kLegacy)), kUsedLegacy, 0, copy);
  const char* name = PyCapsule_CheckExact(o) ? PyCapsule_GetName(o) : nullptr;
  PyErr_Clear();
  if (name && (!std::strcmp(name, kUsedLegacy) || !std::strcmp(name, kUsedVersioned)))
    throw ValueError("from_dlpack: this DLPack capsule was already consumed; a capsule can be used only once");
  std::string got = name ? cat_str("a capsule named '", name, "'") : std::string(Py_TYPE(o)->tp_name);
  throw TypeError(cat_str("from_dlpack: expected a DLPack capsule named 'dltensor' or 'dltensor_versioned', got ", got));
}

}  // namespace

void bind_interop(py::module_& m) {
  m.def("to_dlpack", &export_capsule, py::arg("t"), py::arg("versioned"), py::arg("copy"));
  m.def("from_dlpack", &import_capsule, py::arg("capsule"), py::arg("copy") = py::none());
  m.def("dlpack_device", [](const Tensor& t) {
    DLDevice d = dlpack_device(t);
    return std::make_pair(d.device_type, d.device_id);
  });
  m.def("dlpack_version", [] { return std::make_pair(kDLPackMajor, kDLPackMinor); });
}

}  // namespace pyml
