// Unary and binary elementwise ops: type promotion, broadcasting, in-place rules, dispatch.
// Inputs are cast to the computation dtype when they differ (PyTorch casts inside the loop;
// here a cast copy keeps the kernel count down). Broadcast inputs are never materialised.
#include "ops/ops.h"
#include "core/device.h"

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
  "gelu_backward", "gelu_tanh_backward", "silu_backward", "tanh_backward", "sigmoid_backward"};
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

Tensor unary(UnaryOp op, const Tensor& x0, const double* params) {
  check_cpu(x0, unary_name(op));
  Tensor x = x0;
  if (unary_needs_float(op) && !is_floating(x.dtype)) x = to_dtype(x, default_dtype());
  LoopFn f = unary_fn(op, x.dtype);
  Tensor out = empty(x.shape, unary_returns_bool(op) ? DType::Bool : x.dtype);
  ElemIter::make({&out, &x}).run(f, params);
  return out;
}

void unary_(UnaryOp op, const Tensor& x, const double* params) {
  check_cpu(x, unary_name(op));
  check_writable(x, unary_name(op));
  DType ct = (unary_needs_float(op) && !is_floating(x.dtype)) ? default_dtype() : x.dtype;
  DType rt = unary_returns_bool(op) ? DType::Bool : ct;
  PYML_CHECK(rt == x.dtype, TypeError, unary_name(op), "_: result type ", dtype_name(rt),
             " can't be cast to the desired output type ", dtype_name(x.dtype));
  LoopFn f = unary_fn(op, x.dtype);
  ElemIter::make({&x, &x}).run(f, params);
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

static void check_nonzero_divisor(BinaryOp op, const Tensor& b) {
  Tensor z = binary_scalar(BinaryOp::Eq, b, Scalar::from_int(0), 1.0, false);
  const bool* p = z.ptr<bool>();
  for (int64_t i = 0, n = z.numel(); i < n; i++)
    PYML_CHECK(!p[i], RuntimeError, binary_name(op), ": ZeroDivisionError (integer division by zero)");
}

static void run_binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, DType compute, double alpha) {
  LoopFn f = kernels().binary[(int)op][(int)compute];
  PYML_CHECK(f, TypeError, binary_name(op), ": not supported for dtype ", dtype_name(compute));
  if (divides_by_integer(op, compute)) check_nonzero_divisor(op, b);
  double params[1] = {alpha};
  ElemIter::make({&out, &a, &b}).run(f, params);
}

static void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  PYML_CHECK(a.device() == b.device(), RuntimeError, op,
             ": expected all tensors to be on the same device, got ", a.device().str(), " and ", b.device().str());
}

Tensor binary(BinaryOp op, const Tensor& a0, const Tensor& b0, double alpha) {
  check_same_device(a0, b0, binary_name(op));
  check_cpu(a0, binary_name(op));
  DType compute, result;
  binary_types(op, result_type(a0, b0), compute, result);
  Shape shape = broadcast_shapes(a0.shape, b0.shape, binary_name(op));
  Tensor a = to_dtype(a0, compute), b = to_dtype(b0, compute);
  Tensor out = empty(shape, result);
  run_binary(op, out, a, b, compute, alpha);
  return out;
}

Tensor binary_scalar(BinaryOp op, const Tensor& a, const Scalar& s, double alpha, bool reflected) {
  check_cpu(a, binary_name(op));
  DType common = result_type({operand_of(a), {s.dtype(), 2}});
  Tensor st = scalar_tensor(s, common);
  return reflected ? binary(op, st, a, alpha) : binary(op, a, st, alpha);
}

void binary_(BinaryOp op, const Tensor& a, const Tensor& b0, double alpha) {
  const char* name = binary_name(op);
  check_same_device(a, b0, name);
  check_cpu(a, name);
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
  if (result == a.dtype && compute == a.dtype) {
    run_binary(op, a, a, b, compute, alpha);
  } else {
    Tensor tmp = empty(shape, result);
    run_binary(op, tmp, to_dtype(a, compute), b, compute, alpha);
    copy_(a, tmp, name);
  }
  a.bump_version();
}

}  // namespace pyml
