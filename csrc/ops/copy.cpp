// Copies, casts, fills and overlap checks: the building blocks every other op uses.
#include "ops/ops.h"
#include "cpu/copy.h"
#include "core/device.h"

namespace pyml {

static DType g_default_dtype = DType::Float32;
DType default_dtype() { return g_default_dtype; }
void set_default_dtype(DType t) {
  PYML_CHECK(t == DType::Float32 || t == DType::Float64 || t == DType::Float16 || t == DType::BFloat16,
             TypeError, "set_default_dtype: only floating-point types are supported as the default type, got ",
             dtype_name(t));
  g_default_dtype = t;
}

DType Scalar::dtype() const {
  return kind == Bool ? DType::Bool : kind == Int ? DType::Int64 : default_dtype();
}

// PyTorch's combine_categories: the higher-priority group wins unless the lower one brings a
// floating type to a non-float result (or the higher is bool).
static std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating(*higher)) return higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote_types(*higher, *lower);
  return higher;
}

DType result_type(const std::vector<TypeOperand>& ops) {
  std::optional<DType> r[3];
  for (auto& o : ops) r[o.rank] = r[o.rank] ? promote_types(*r[o.rank], o.dtype) : o.dtype;
  auto out = combine(r[0], combine(r[1], r[2]));
  return out ? *out : default_dtype();
}

TypeOperand operand_of(const Tensor& t) { return {t.dtype, t.dim() == 0 ? 1 : 0}; }
DType result_type(const Tensor& a, const Tensor& b) { return result_type({operand_of(a), operand_of(b)}); }

bool overlaps(const Tensor& a, const Tensor& b) {
  if (a.storage != b.storage || a.numel() == 0 || b.numel() == 0) return false;
  auto span = [](const Tensor& t, int64_t& lo, int64_t& hi) {
    lo = hi = t.offset * t.itemsize();
    for (int64_t i = 0; i < t.dim(); i++) {
      int64_t ext = (t.shape[i] - 1) * t.strides[i] * t.itemsize();
      if (ext < 0) lo += ext; else hi += ext;
    }
    hi += t.itemsize();
  };
  int64_t alo, ahi, blo, bhi;
  span(a, alo, ahi); span(b, blo, bhi);
  return alo < bhi && blo < ahi;
}

void check_writable(const Tensor& out, const char* op) {
  for (int64_t i = 0; i < out.dim(); i++)
    PYML_CHECK(!(out.strides[i] == 0 && out.shape[i] > 1), RuntimeError, op,
               ": unsupported operation: more than one element of the written-to tensor refers to a single "
               "memory location (an expanded tensor), got shape ", out.shape, " and strides ", out.strides,
               "; clone() it before writing");
}

void check_cpu(const Tensor& t, const char* op) {
  PYML_CHECK(t.device().is_cpu(), RuntimeError, op, ": not implemented for device ", t.device().str(),
             " yet (only cpu), got a tensor on ", t.device().str());
}

static bool same_view(const Tensor& a, const Tensor& b) {
  return a.storage == b.storage && a.offset == b.offset && a.strides == b.strides && a.shape == b.shape &&
         a.dtype == b.dtype;
}

static void copy_cpu(const Tensor& dst, const Tensor& src) {
  ElemIter it = ElemIter::make({&dst, &src});
  it.run(cast_loop_fn(dst.dtype, src.dtype));
}

void copy_(const Tensor& dst, const Tensor& src0, const char* op) {
  Shape b = broadcast_shapes(dst.shape, src0.shape, op);
  PYML_CHECK(b == dst.shape, ValueError, op, ": source shape ", src0.shape,
             " must be broadcastable to destination shape ", dst.shape);
  check_writable(dst, op);
  if (same_view(dst, src0)) return;
  Tensor src = (overlaps(dst, src0)) ? clone(src0) : src0;
  Device dd = dst.device(), sd = src.device();
  if (dd.is_cpu() && sd.is_cpu()) return copy_cpu(dst, src);
  // cross-device: stage through a contiguous buffer of the destination dtype on the source side
  bool direct = dst.is_contiguous() && src.is_contiguous() && dst.dtype == src.dtype && src.shape == dst.shape;
  if (!direct) {
    Tensor s2 = sd.is_cpu() ? empty(dst.shape, dst.dtype) : src;
    if (sd.is_cpu()) { copy_cpu(s2, src); return copy_(dst, s2, op); }
    // device source that is not contiguous: copy to host first, then convert there
    Tensor host = empty(src.shape, src.dtype);
    copy_(host, contiguous(src), op);
    return copy_(dst, host, op);
  }
  int64_t nbytes = dst.numel() * dst.itemsize();
  CopyKind kind = sd.is_cpu() ? CopyKind::HostToDevice : dd.is_cpu() ? CopyKind::DeviceToHost : CopyKind::DeviceToDevice;
  cuda_memcpy(dst.data(), src.data(), nbytes, kind, dd.is_cpu() ? sd.index : dd.index);
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape, t.dtype, t.device());
  if (!t.device().is_cpu()) {
    PYML_CHECK(t.is_contiguous(), RuntimeError, "clone: non-contiguous CUDA tensors are not supported yet, got strides ", t.strides);
    cuda_memcpy(out.data(), t.data(), t.numel() * t.itemsize(), CopyKind::DeviceToDevice, t.device().index);
    return out;
  }
  copy_cpu(out, t);
  return out;
}

Tensor to_dtype(const Tensor& t, DType dtype, bool copy) {
  if (t.dtype == dtype && !copy) return t;
  Tensor out = empty(t.shape, dtype, t.device());
  copy_(out, t, "to");
  return out;
}

template <typename T> static T scalar_as(const Scalar& s) {
  if constexpr (std::is_same_v<T, bool>) return s.kind == Scalar::Float ? s.d != 0 : s.i != 0;
  else if constexpr (std::is_floating_point_v<typename OpMath<T>::type>)
    return T(static_cast<typename OpMath<T>::type>(s.kind == Scalar::Float ? s.d : (double)s.i));
  else return static_cast<T>(s.kind == Scalar::Float ? (int64_t)s.d : s.i);
}

void fill_(const Tensor& t, const Scalar& v) {
  check_writable(t, "fill_");
  if (t.numel() == 0) return;
  alignas(8) char value[8];
  PYML_DISPATCH_ALL(t.dtype, "fill_", [&] { *reinterpret_cast<scalar_t*>(value) = scalar_as<scalar_t>(v); });
  if (!t.device().is_cpu()) {
    PYML_CHECK(t.is_contiguous(), RuntimeError, "fill_: non-contiguous CUDA tensors are not supported yet");
    cuda_fill_bytes(t.data(), value, t.itemsize(), t.numel(), t.device().index);
    t.bump_version();
    return;
  }
  Tensor src = t.view_as({}, {}, 0);
  src.storage = wrap_storage(value, 8, Device{}, nullptr);
  src.dtype = t.dtype;
  copy_cpu(t, src);
  t.bump_version();
}

Tensor scalar_tensor(const Scalar& s, DType dtype, Device dev) {
  Tensor t = empty({}, dtype, Device{});
  fill_(t, s);
  if (dev.is_cpu()) return t;
  Tensor d = empty({}, dtype, dev);
  copy_(d, t);
  return d;
}

Tensor full(const Shape& shape, const Scalar& v, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  fill_(t, v);
  return t;
}

}  // namespace pyml
