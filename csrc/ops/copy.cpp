// Copies, casts, fills and overlap checks: the building blocks every other op uses.
#include "core/memory_format.h"
#include "ops/ops.h"
#include "cpu/copy.h"
#include "core/device.h"
#include "cuda/copy.h"
#include "ops/complex.h"

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
  if (is_complex(*higher)) return higher;
  if (is_complex(*lower))  // a float operand keeps its width: float32 with a complex128 scalar is complex64
    return is_floating(*higher) ? real_to_complex(*higher) : lower;
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

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  PYML_CHECK(a.device() == b.device(), RuntimeError, op, ": expected all tensors to be on the same device, got ",
             a.device().str(), " and ", b.device().str());
}

static bool same_view(const Tensor& a, const Tensor& b) {
  return a.storage == b.storage && a.offset == b.offset && a.strides == b.strides && a.shape == b.shape &&
         a.dtype == b.dtype;
}

static void copy_same_device(const Tensor& dst, const Tensor& src);

// Complex on either side moves through the real views: complex <- complex copies the pairs,
// complex <- real writes the real part and zeroes the imaginary one. complex -> real is refused
// here (torch warns and drops the imaginary part); the Python layer takes .real explicitly.
static void copy_complex(const Tensor& dst, const Tensor& src) {
  PYML_CHECK(is_complex(dst.dtype), TypeError, "copy: casting ", dtype_name(src.dtype), " to ",
             dtype_name(dst.dtype), " would discard the imaginary part; take .real first");
  Tensor d = view_as_real(dst);
  if (is_complex(src.dtype)) return copy_same_device(d, view_as_real(src));
  copy_same_device(select(d, -1, 0), src);
  Tensor zero = empty({}, d.dtype, d.device());
  fill_(zero, Scalar::from_int(0));
  copy_same_device(select(d, -1, 1), zero);
}

// dst and src on the same device; src broadcasts to dst and is cast to its dtype
static void copy_same_device(const Tensor& dst, const Tensor& src) {
  if (is_complex(dst.dtype) || is_complex(src.dtype)) return copy_complex(dst, src);
  ElemIter it = ElemIter::make({&dst, &src});
  if (dst.device().is_cpu()) it.run(cast_loop_fn(dst.dtype, src.dtype));
  else copy_cuda(it, dst.dtype, src.dtype, dst.device().index);
}

static void memcpy_between(const Tensor& dst, const Tensor& src) {
  Device dd = dst.device(), sd = src.device();
  CopyKind kind = sd.is_cpu() ? CopyKind::HostToDevice : dd.is_cpu() ? CopyKind::DeviceToHost : CopyKind::DeviceToDevice;
  cuda_memcpy(dst.data(), src.data(), dst.numel() * dst.itemsize(), kind, dd.is_cpu() ? sd.index : dd.index);
}

// Across devices the bytes move contiguous and already in dst's dtype and shape: the cast and the
// broadcast run on the source side, a scatter into a strided dst on the destination side.
static void copy_across(const Tensor& dst, const Tensor& src) {
  bool same_block = src.dtype == dst.dtype && src.shape == dst.shape && src.strides == dst.strides &&
                    non_overlapping_dense(src);  // e.g. channels_last on both sides: the bytes as they lie
  if (same_block) return memcpy_between(dst, src);
  bool ready = src.is_contiguous() && src.dtype == dst.dtype && src.shape == dst.shape;
  Tensor s = ready ? src : empty(dst.shape, dst.dtype, src.device());
  if (!ready) copy_same_device(s, src);
  if (dst.is_contiguous()) return memcpy_between(dst, s);
  Tensor d = empty(dst.shape, dst.dtype, dst.device());
  memcpy_between(d, s);
  copy_same_device(dst, d);
}

void copy_(const Tensor& dst, const Tensor& src0, const char* op) {
  Shape b = broadcast_shapes(dst.shape, src0.shape, op);
  PYML_CHECK(b == dst.shape, ValueError, op, ": source shape ", src0.shape,
             " must be broadcastable to destination shape ", dst.shape);
  check_writable(dst, op);
  if (same_view(dst, src0) || dst.numel() == 0) return;
  Tensor src = (overlaps(dst, src0)) ? clone(src0) : src0;
  if (dst.device() == src.device()) return copy_same_device(dst, src);
  if (dst.device().is_cpu() || src.device().is_cpu()) return copy_across(dst, src);
  Tensor host = empty(src.shape, src.dtype);  // between two GPUs: through the host
  copy_across(host, src);
  copy_across(dst, host);
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape, t.dtype, t.device());
  if (t.numel() > 0) copy_same_device(out, t);
  return out;
}

Tensor clone_format(const Tensor& t, MemoryFormat f, DType dtype, Device dev, const char* op) {
  Tensor out = empty_strided(t.shape, like_strides(t, f, op), dtype, dev);
  copy_(out, t, op);
  return out;
}

Tensor to_format(const Tensor& y, MemoryFormat f) {
  if (f == MemoryFormat::Contiguous || f == MemoryFormat::Preserve) return y;
  if (!is_contiguous_as(y, f)) return clone_format(y, f, y.dtype, y.device(), "to_format");
  // already laid out so (size-1 dims aside): a view with f's own strides in those dims too, as
  // torch gives an output it allocates in f (a (N, C, 1, 1) result strided (C, 1, C, C))
  Shape st = format_strides(y.shape, f, "to_format");
  return st == y.strides ? y : y.view_as(y.shape, st, y.offset);
}

Tensor to_dtype_format(const Tensor& t, DType dt, MemoryFormat f, const char* op) {
  return t.dtype == dt && is_contiguous_as(t, f) ? t : clone_format(t, f, dt, t.device(), op);
}

Tensor kernel_result(const Tensor& buf, const Shape& shape, DType dtype, MemoryFormat f, const Tensor& like) {
  Tensor v = buf.view_as(shape, format_strides(shape, f, "kernel_result"), buf.offset);
  if (f != MemoryFormat::Contiguous) return to_dtype_format(v, dtype, f, "kernel_result");
  return to_format_of(v.dtype == dtype ? v : to_dtype(v, dtype), like);
}

Tensor to_format_of(const Tensor& y, const Tensor& like) {
  return y.dim() == like.dim() ? to_format(y, suggest_format(like)) : y;
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
  if (is_complex(t.dtype)) {  // a real value: (v, 0)
    Tensor r = view_as_real(t);
    fill_(select(r, -1, 0), v);
    fill_(select(r, -1, 1), Scalar::from_int(0));
    return;
  }
  alignas(8) char value[8];
  PYML_DISPATCH_ALL(t.dtype, "fill_", [&] { *reinterpret_cast<scalar_t*>(value) = scalar_as<scalar_t>(v); });
  if (!t.device().is_cpu()) {
    // contiguous: one fill kernel; a strided view: fill one element, then broadcast-copy it
    Tensor dst = t.is_contiguous() ? t : empty({}, t.dtype, t.device());
    cuda_fill_bytes(dst.data(), value, t.itemsize(), dst.numel(), t.device().index);
    if (!t.is_contiguous()) copy_same_device(t, dst);
    t.bump_version();
    return;
  }
  Tensor src = t.view_as({}, {}, 0);
  src.storage = wrap_storage(value, 8, Device{}, nullptr);
  src.dtype = t.dtype;
  copy_same_device(t, src);
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
