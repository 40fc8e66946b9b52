// DLPack: zero-copy tensor exchange with NumPy, PyTorch and any array library speaking it.
// The ABI structs below are written from the public DLPack 1.x specification
// (https://dmlc.github.io/dlpack/latest/c_api.html); only their layout matters, so they carry
// the spec's field order and widths. Exported tensors keep their storage alive through the
// manager context until the consumer calls the deleter; imported ones call the producer's
// deleter exactly once, when the last pyml view of the memory dies.
#pragma once
#include <cstdint>
#include <functional>
#include "ops/ops.h"

extern "C" {

struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};

// DLDeviceType values (a C enum in the spec, int-sized)
enum : int32_t {
  kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLOpenCL = 4, kDLVulkan = 7, kDLMetal = 8, kDLVPI = 9,
  kDLROCM = 10, kDLROCMHost = 11, kDLExtDev = 12, kDLCUDAManaged = 13, kDLOneAPI = 14, kDLWebGPU = 15,
  kDLHexagon = 16, kDLMAIA = 17,
};

struct DLDevice {
  int32_t device_type;  // DLDeviceType
  int32_t device_id;
};

// DLDataTypeCode values
enum : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLOpaqueHandle = 3, kDLBfloat = 4, kDLComplex = 5, kDLBool = 6 };

struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct DLTensor {
  void* data;            // data + byte_offset is the first element
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;        // ndim entries
  int64_t* strides;      // ndim entries in elements, or NULL for a compact row-major tensor
  uint64_t byte_offset;
};

struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
};

constexpr uint64_t DLPACK_FLAG_BITMASK_READ_ONLY = 1ULL << 0;
constexpr uint64_t DLPACK_FLAG_BITMASK_IS_COPIED = 1ULL << 1;
constexpr uint64_t DLPACK_FLAG_BITMASK_IS_SUBBYTE_TYPE_PADDED = 1ULL << 2;

struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

}  // extern "C"

namespace pyml {

constexpr uint32_t kDLPackMajor = 1, kDLPackMinor = 0;  // the version pyml produces and reads

DLDevice dlpack_device(const Tensor& t);
// New managed tensors viewing t (or a copy of it when copy is set); the consumer owns them.
DLManagedTensor* to_dlpack(const Tensor& t);
DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& t, bool copy);

// Import: check_* throw (taking no ownership) when pyml can't view the tensor; after they pass,
// tensor_from_dlpack views it and runs `release` exactly once, when the storage dies.
void check_dlpack_version(const DLPackVersion& v);
void check_dlpack(const DLTensor& dl);
// copy: nullopt = only when needed (read-only producers), true = always, false = never (raises
// ValueError for read-only memory). `flags` are the versioned capsule's flags (0 for legacy).
void check_dlpack_copy(uint64_t flags, std::optional<bool> copy);
Tensor tensor_from_dlpack(const DLTensor& dl, uint64_t flags, std::optional<bool> copy, std::function<void()> release);

}  // namespace pyml
