// Unary and binary elementwise ops: type promotion, broadcasting, in-place rules, dispatch.
// Inputs are cast to the computation dtype when they differ (PyTorch casts inside the loop;
// here a cast copy keeps the kernel count down). Broadcast inputs are never materialised.
// Both devices share the validation; CUDA runs cuda/unary.cu and cuda/binary.cu, with a 0-dim CPU
// tensor (or a Python number) beside a CUDA tensor passed to the kernel as a scalar.
#include <cstring>
#include "core/memory_format.h"
#include "ops/ops.h"
#include "core/device.h"
#include "cuda/elementwise.h"

namespace pyml {

static const char* kUnaryNames[] = {
  "neg", "abs", "sign", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
  "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "gelu",
  "gelu", "silu", "softplus", "erf", "erfc", "floor", "ceil", "round", "trunc", "frac",
  "reciprocal", "square", "isnan", "isinf", "isfinite", "logical_not", "bitwise_not"};
static const char* kBinaryNames[] = {
  "add", "sub", "mul", "div", "floor_divide", "div", "remainder", "pow", "maximum", "minimum",
  "fmod", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
  "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
  "gelu_backward", "gelu_tanh_backward", "silu_backward", "tanh_backward", "sigmoid_backward", "relu_backward"};
static_assert(sizeof(kUnaryNames) / sizeof(char*) == (size_t)UnaryOp::Count, "unary names");
static_assert(sizeof(kBinaryNames) / sizeof(char*) == (size_t)BinaryOp::Count, "binary names");
const char* unary_name(UnaryOp op) { return kUnaryNames[(int)op]; }
const char* binary_name(BinaryOp op) { return kBinaryNames[(int)op]; }

static bool unary_needs_float(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Sign: case UnaryOp::Relu: case UnaryOp::Square:
    case UnaryOp::Floor: case UnaryOp::Ceil: case UnaryOp::Round: case UnaryOp::Trunc:
    case UnaryOp::IsNan: case UnaryOp::IsInf: case UnaryOp::IsFinite: case UnaryOp::LogicalNot:
    case UnaryOp::BitwiseNot: return false;
    default: return true;
  }
}

static LoopFn unary_fn(UnaryOp op, DType t) {
  LoopFn f = kernels().unary[(int)op][(int)t];
  PYML_CHECK(f, TypeError, unary_name(op), ": not supported for dtype ", dtype_name(t));
  return f;
}

// out = op(x) on x's device. The CPU table is the list of supported (op, dtype) pairs on every device.
static void run_unary(UnaryOp op, const Tensor& out, const Tensor& x, const double* params) {
  static const double kSoftplusDefaults[2] = {1.0, 20.0};  // beta, threshold
  if (op == UnaryOp::Softplus && params == nullptr) params = kSoftplusDefaults;
  LoopFn f = unary_fn(op, x.dtype);
  ElemIter it = ElemIter::make({&out, &x});
  if (x.device().is_cpu()) it.run(f, params);
  else unary_cuda(op, it, x.dtype, params, x.device().index);
}

Tensor unary(UnaryOp op, const Tensor& x0, const double* params) {
  Tensor cx;  // the float copy of an integer input, only when the op needs one
  const Tensor& x = unary_needs_float(op) && !is_floating(x0.dtype) ? (cx = to_dtype(x0, default_dtype())) : x0;
  unary_fn(op, x.dtype);
  Tensor out = empty_for(x.shape, unary_returns_bool(op) ? DType::Bool : x.dtype, x.device(), {&x0});
  run_unary(op, out, x, params);
  return out;
}

void unary_(UnaryOp op, const Tensor& x, const double* params) {
  check_writable(x, unary_name(op));
  DType ct = (unary_needs_float(op) && !is_floating(x.dtype)) ? default_dtype() : x.dtype;
  DType rt = unary_returns_bool(op) ? DType::Bool : ct;
  PYML_CHECK(rt == x.dtype, TypeError, unary_name(op), "_: result type ", dtype_name(rt),
             " can't be cast to the desired output type ", dtype_name(x.dtype));
  run_unary(op, x, x, params);
  x.bump_version();
}

// dtype the kernel computes in and the dtype of the result
static void binary_types(BinaryOp op, DType common, DType& compute, DType& result) {
  compute = common;
  if ((op == BinaryOp::Div || op == BinaryOp::Atan2) && !is_floating(common)) compute = default_dtype();
  bool bitwise = op >= BinaryOp::BitwiseAnd && op <= BinaryOp::Shr;
  if (op >= BinaryOp::GeluBackward && !is_floating(common)) compute = default_dtype();
  PYML_CHECK(!bitwise || !is_floating(compute), TypeError, binary_name(op),
             ": only integer and bool tensors are supported, got ", dtype_name(compute));
  PYML_CHECK(!(op == BinaryOp::Sub && compute == DType::Bool), TypeError,
             "sub: subtraction with two bool tensors is not supported; use logical_xor() instead");
  result = binary_returns_bool(op) ? DType::Bool : compute;
}

static bool divides_by_integer(BinaryOp op, DType compute) {
  return is_integral(compute, false) && (op == BinaryOp::FloorDiv || op == BinaryOp::TruncDiv ||
                                         op == BinaryOp::Remainder || op == BinaryOp::Fmod);
}

[[noreturn]] static void throw_zero_divisor(BinaryOp op) {
  throw RuntimeError(cat_str(binary_name(op), ": ZeroDivisionError (integer division by zero)"));
}

// b on the CPU: its values are read here
static void check_nonzero_divisor(BinaryOp op, const Tensor& b) {
  Tensor z = binary_scalar(BinaryOp::Eq, b, Scalar::from_int(0), 1.0, false);
  const bool* p = z.ptr<bool>();
  for (int64_t i = 0, n = z.numel(); i < n; i++)
    if (p[i]) throw_zero_divisor(op);
}

// A 0-dim CPU tensor next to a CUDA tensor acts as a scalar (as in PyTorch): read on the host and
// passed to the kernel by value.
static bool is_cpu_scalar(const Tensor& t) { return t.device().is_cpu() && t.dim() == 0; }

static void check_same_device(const Tensor& a, const Tensor& b, const char* op, bool inplace) {
  bool ok = a.device() == b.device() || (is_cpu_scalar(b) && !a.device().is_cpu()) ||
            (!inplace && is_cpu_scalar(a) && !b.device().is_cpu());
  PYML_CHECK(ok, RuntimeError, op, ": expected all tensors to be on the same device, got ", a.device().str(), " and ",
             b.device().str());
}

// out = op(a, b) on CUDA; a or b may be a 0-dim CPU tensor (the scalar). An integer divisor on the
// device is checked by the kernel through a flag read back after the launch (one small sync).
static void run_binary_cuda(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, DType compute,
                            double alpha) {
  const bool sa = a.device().is_cpu(), sb = b.device().is_cpu();
  CudaScalar s;
  if (sa || sb) {
    const Tensor& v = sa ? a : b;
    std::memcpy(s.bytes, v.data(), v.itemsize());
    s.reflected = sa;
  }
  const bool divides = divides_by_integer(op, compute);
  if (divides && sb) check_nonzero_divisor(op, b);
  bool flagged = divides && !sb && out.numel() > 0;
  Tensor flag = flagged ? full({}, Scalar::from_int(0), DType::Int32, out.device()) : Tensor();
  const Tensor& t = sa ? b : a;
  ElemIter it = (sa || sb) ? ElemIter::make({&out, &t}) : ElemIter::make({&out, &a, &b});
  int index = out.device().index;
  binary_cuda(op, it, compute, alpha, (sa || sb) ? &s : nullptr, flag.defined() ? flag.ptr<int>() : nullptr, index);
  if (!flag.defined()) return;
  int32_t hit = 0;
  cuda_memcpy(&hit, flag.data(), sizeof(hit), CopyKind::DeviceToHost, index);
  if (hit) throw_zero_divisor(op);
}

static void run_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, DType compute, double alpha) {
  LoopFn f = kernels().binary[(int)op][(int)compute];
  PYML_CHECK(f, TypeError, binary_name(op), ": not supported for dtype ", dtype_name(compute));
  if (!out.device().is_cpu()) return run_binary_cuda(op, out, a, b, compute, alpha);
  if (divides_by_integer(op, compute)) check_nonzero_divisor(op, b);
  double params[1] = {alpha};
  ElemIter::make({&out, &a, &b}).run(f, params);
}

Tensor binary(BinaryOp op, const Tensor& a0, const Tensor& b0, double alpha) {
  check_same_device(a0, b0, binary_name(op), false);
  DType compute, result;
  binary_types(op, result_type(a0, b0), compute, result);
  Shape shape = broadcast_shapes(a0.shape, b0.shape, binary_name(op));
  Tensor ca, cb;  // converted copies, only when an operand's dtype differs (no Tensor copy otherwise)
  const Tensor& a = a0.dtype == compute ? a0 : (ca = to_dtype(a0, compute));
  const Tensor& b = b0.dtype == compute ? b0 : (cb = to_dtype(b0, compute));
  Tensor out = empty_for(shape, result, a0.device().is_cpu() ? b0.device() : a0.device(), {&a0, &b0});
  run_binary(op, out, a, b, compute, alpha);
  return out;
}

// The scalar becomes a 0-dim CPU tensor of the promoted dtype; on CUDA it reaches the kernel by value.
Tensor binary_scalar(BinaryOp op, const Tensor& a, const Scalar& s, double alpha, bool reflected) {
  DType common = result_type({operand_of(a), {s.dtype(), 2}});
  Tensor st = scalar_tensor(s, common);
  return reflected ? binary(op, st, a, alpha) : binary(op, a, st, alpha);
}

void binary_(BinaryOp op, const Tensor& a, const Tensor& b0, double alpha) {
  const char* name = binary_name(op);
  check_same_device(a, b0, name, true);
  check_writable(a, name);
  DType compute, result;
  binary_types(op, result_type(a, b0), compute, result);
  PYML_CHECK(can_cast(result, a.dtype), TypeError, name, "_: result type ", dtype_name(result),
             " can't be cast to the desired output type ", dtype_name(a.dtype));
  Shape shape = broadcast_shapes(a.shape, b0.shape, name);
  PYML_CHECK(shape == a.shape, ValueError, name, "_: output with shape ", a.shape,
             " doesn't match the broadcast shape ", shape);
  Tensor b = to_dtype(b0, compute);
  if (overlaps(a, b) && !(b.storage == a.storage && b.offset == a.offset && b.strides == a.strides)) b = clone(b);
  // a device divisor is checked after its kernel ran: write a temporary so that `a` stays unchanged on error
  bool checked_late = !a.device().is_cpu() && !b.device().is_cpu() && divides_by_integer(op, compute);
  if (result == a.dtype && compute == a.dtype && !checked_late) {
    run_binary(op, a, a, b, compute, alpha);
  } else {
    Tensor tmp = empty(shape, result, a.device());
    run_binary(op, tmp, to_dtype(a, compute), b, compute, alpha);
    copy_(a, tmp, name);
  }
  a.bump_version();
}

}  // namespace pyml
