// DLPack export (a managed tensor whose context holds the pyml Tensor, so its storage outlives
// the consumer's use) and import (a Storage over the producer's memory whose deleter calls the
// producer's deleter). CPU and CUDA (kDLCUDA) memory; non-negative strides only, like from_numpy.
#include "ops/dlpack.h"
#include "core/device.h"

namespace pyml {

static DLDataType dl_dtype(DType t) {
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int8: return {kDLInt, 8, 1};
    case DType::Int16: return {kDLInt, 16, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Complex64: return {kDLComplex, 64, 1};
    case DType::Complex128: return {kDLComplex, 128, 1};
    default: return {kDLFloat, 64, 1};
  }
}

static std::optional<DType> from_dl_dtype(DLDataType d) {
  if (d.lanes != 1) return std::nullopt;
  switch (d.code) {
    case kDLBool: if (d.bits == 8) return DType::Bool; break;
    case kDLUInt: if (d.bits == 8) return DType::UInt8; break;
    case kDLInt:
      if (d.bits == 8) return DType::Int8;
      if (d.bits == 16) return DType::Int16;
      if (d.bits == 32) return DType::Int32;
      if (d.bits == 64) return DType::Int64;
      break;
    case kDLFloat:
      if (d.bits == 16) return DType::Float16;
      if (d.bits == 32) return DType::Float32;
      if (d.bits == 64) return DType::Float64;
      break;
    case kDLBfloat: if (d.bits == 16) return DType::BFloat16; break;
    case kDLComplex:
      if (d.bits == 64) return DType::Complex64;
      if (d.bits == 128) return DType::Complex128;
      break;
  }
  return std::nullopt;
}

static const char* dl_device_name(int32_t t) {
  switch (t) {
    case kDLCPU: return "kDLCPU"; case kDLCUDA: return "kDLCUDA"; case kDLCUDAHost: return "kDLCUDAHost";
    case kDLROCM: return "kDLROCM"; case kDLCUDAManaged: return "kDLCUDAManaged"; case kDLMetal: return "kDLMetal";
    case kDLOneAPI: return "kDLOneAPI"; case kDLVulkan: return "kDLVulkan"; default: return "other";
  }
}

DLDevice dlpack_device(const Tensor& t) {
  Device d = t.device();
  return d.is_cpu() ? DLDevice{kDLCPU, 0} : DLDevice{kDLCUDA, d.index};
}

// ---------------------------------------------------------------------------- export
namespace {
struct ExportCtx {  // what a managed tensor owns: the viewed tensor and its geometry arrays
  Tensor t;
  std::vector<int64_t> shape, strides;
};

template <typename M> void export_deleter(M* self) {
  if (!self) return;
  delete static_cast<ExportCtx*>(self->manager_ctx);
  delete self;
}

DLTensor fill_dl(ExportCtx* ctx) {
  const Tensor& t = ctx->t;
  DLTensor dl;
  dl.data = t.data();
  dl.device = dlpack_device(t);
  dl.ndim = (int32_t)t.dim();
  dl.dtype = dl_dtype(t.dtype);
  dl.shape = ctx->shape.data();
  dl.strides = ctx->strides.data();
  dl.byte_offset = 0;
  return dl;
}

ExportCtx* make_ctx(const Tensor& t) { return new ExportCtx{t, t.shape, t.strides}; }
}  // namespace

DLManagedTensor* to_dlpack(const Tensor& t) {
  auto* ctx = make_ctx(t);
  auto* mt = new DLManagedTensor;
  mt->dl_tensor = fill_dl(ctx);
  mt->manager_ctx = ctx;
  mt->deleter = &export_deleter<DLManagedTensor>;
  return mt;
}

DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& t, bool copy) {
  auto* ctx = make_ctx(copy ? clone(t) : t);
  auto* mt = new DLManagedTensorVersioned;
  mt->version = {kDLPackMajor, kDLPackMinor};
  mt->manager_ctx = ctx;
  mt->deleter = &export_deleter<DLManagedTensorVersioned>;
  mt->flags = copy ? DLPACK_FLAG_BITMASK_IS_COPIED : 0;
  mt->dl_tensor = fill_dl(ctx);
  return mt;
}

// ---------------------------------------------------------------------------- import
void check_dlpack_version(const DLPackVersion& v) {
  PYML_CHECK(v.major == kDLPackMajor, RuntimeError, "from_dlpack: unsupported DLPack version ", v.major, ".", v.minor,
             " (pyml reads major version ", kDLPackMajor, "), got a capsule of version ", v.major, ".", v.minor);
}

void check_dlpack(const DLTensor& dl) {
  bool cuda = dl.device.device_type == kDLCUDA;
  PYML_CHECK(dl.device.device_type == kDLCPU || cuda, RuntimeError, "from_dlpack: only cpu (kDLCPU) and cuda "
             "(kDLCUDA) tensors can be imported, got device type ", dl.device.device_type, " (",
             dl_device_name(dl.device.device_type), ") id ", dl.device.device_id);
  PYML_CHECK(!cuda || (dl.device.device_id >= 0 && dl.device.device_id < cuda_device_count()), RuntimeError,
             "from_dlpack: the producer's tensor is on cuda:", dl.device.device_id, " but pyml sees ",
             cuda_device_count(), " CUDA devices", cuda_compiled() ? "" : " (pyml was built without CUDA)");
  auto dt = from_dl_dtype(dl.dtype);
  PYML_CHECK(dt, TypeError, "from_dlpack: unsupported DLPack dtype; supported: bool, uint8, int8/16/32/64, float16, "
             "bfloat16, float32, float64 (lanes 1), got code ", (int)dl.dtype.code, ", bits ", (int)dl.dtype.bits,
             ", lanes ", dl.dtype.lanes);
  PYML_CHECK(dl.ndim >= 0 && (dl.ndim == 0 || dl.shape), ValueError, "from_dlpack: invalid DLTensor: ndim must be "
             "non-negative with a shape array, got ndim ", dl.ndim);
  int64_t numel = 1;
  for (int32_t i = 0; i < dl.ndim; i++) {
    PYML_CHECK(dl.shape[i] >= 0, ValueError, "from_dlpack: invalid DLTensor: negative size ", dl.shape[i], " at dim ", i);
    numel *= dl.shape[i];
  }
  if (dl.strides)
    for (int32_t i = 0; i < dl.ndim; i++)
      PYML_CHECK(dl.strides[i] >= 0 || dl.shape[i] <= 1, ValueError, "from_dlpack: negative strides are not "
                 "supported, got stride ", dl.strides[i], " at dim ", i, "; copy the source first");
  if (numel == 0) return;
  PYML_CHECK(dl.data, ValueError, "from_dlpack: invalid DLTensor: null data pointer for ", numel, " elements");
  uintptr_t addr = (uintptr_t)dl.data + dl.byte_offset;
  int64_t isz = itemsize(*dt);
  PYML_CHECK(addr % isz == 0, ValueError, "from_dlpack: data must be aligned to the item size (", isz,
             " bytes), got address ", addr, "; copy the source first");
}

void check_dlpack_copy(uint64_t flags, std::optional<bool> copy) {
  PYML_CHECK(!(flags & DLPACK_FLAG_BITMASK_READ_ONLY) || copy != false, ValueError,
             "from_dlpack: the producer exported read-only memory and pyml tensors are writable, so it must be "
             "copied; got copy=False");
  PYML_CHECK(!(flags & DLPACK_FLAG_BITMASK_IS_SUBBYTE_TYPE_PADDED), TypeError,
             "from_dlpack: sub-byte (padded) dtypes are not supported, got flags ", flags);
}

Tensor tensor_from_dlpack(const DLTensor& dl, uint64_t flags, std::optional<bool> copy, std::function<void()> release) {
  DType dt = *from_dl_dtype(dl.dtype);
  Tensor t;
  t.dtype = dt;
  t.shape.assign(dl.shape, dl.shape + dl.ndim);
  t.strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : contiguous_strides(t.shape);
  for (int64_t i = 0; i < t.dim(); i++)
    if (t.shape[i] <= 1) t.strides[i] = std::max<int64_t>(t.strides[i], 0);  // sizes 0/1: any stride is moot
  int64_t hi = 0;
  for (int64_t i = 0; i < t.dim(); i++) hi += (t.shape[i] - 1) * t.strides[i];
  int64_t nbytes = t.numel() == 0 ? 0 : (hi + 1) * itemsize(dt);
  char* base = static_cast<char*>(dl.data) + dl.byte_offset;
  try {
    Device dev;
    if (dl.device.device_type == kDLCUDA) dev = Device{Device::CUDA, (int8_t)dl.device.device_id};
    t.storage = wrap_storage(base, nbytes, dev, [release](void*) { release(); });
  } catch (...) {
    release();  // ownership was taken: release even when the storage could not be made
    throw;
  }
  bool must_copy = copy == true ? !(flags & DLPACK_FLAG_BITMASK_IS_COPIED) : (flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0;
  return must_copy ? clone(t) : t;  // a copy drops the view: the producer's memory is released now
}

}  // namespace pyml
