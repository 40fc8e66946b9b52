// Unary elementwise ops on CUDA: every (UnaryOp, dtype) pair of the CPU kernel table with the CPU
// kernels' formulas (csrc/cpu/isa/elementwise.cpp), so both devices agree to rounding. x and out
// take any strides through cuda::launch_elementwise; half types compute in float.
// Math ops get one functor per (op, dtype). The bool-valued predicates share one functor per dtype
// with the op as a runtime switch (uniform across the grid, so no divergence), which keeps the
// number of kernels down; integer floor/ceil/round/trunc are identities and run as copies.
#include "copy.h"
#include "elementwise.h"
#include "elementwise_launch.cuh"
#include "ops/ops.h"

namespace pyml {
namespace {

using cuda::negative;
using O = UnaryOp;

// y = op(x) in the compute type U (float for the half types, the type itself otherwise). Integer
// results are cast back to U explicitly: int8/int16 arithmetic promotes to int and wraps on the
// way back, as on the CPU. p0, p1: softplus's beta and threshold.
template <UnaryOp OP, typename U> __device__ inline U unary_math(U x, U p0, U p1) {
  if constexpr (OP == O::Neg) return U(-x);
  else if constexpr (OP == O::Abs) {  // floating: clear the sign bit (abs(-0.0) = +0.0), as the CPU
    if constexpr (std::is_floating_point_v<U>) return U(fabs(x));
    else return negative(x) ? U(-x) : x;
  }
  else if constexpr (OP == O::Sign) return U((U(0) < x) - negative(x));  // 0 for NaN, like the CPU
  else if constexpr (OP == O::Relu) return x != x ? x : (x > U(0) ? x : U(0));
  else if constexpr (OP == O::Square) return U(x * x);
  else if constexpr (OP == O::Exp) return exp(x);
  else if constexpr (OP == O::Exp2) return exp2(x);
  else if constexpr (OP == O::Expm1) return expm1(x);
  else if constexpr (OP == O::Log) return log(x);
  else if constexpr (OP == O::Log2) return log2(x);
  else if constexpr (OP == O::Log10) return log10(x);
  else if constexpr (OP == O::Log1p) return log1p(x);
  else if constexpr (OP == O::Sqrt) return sqrt(x);
  else if constexpr (OP == O::Rsqrt) return U(1) / sqrt(x);  // not rsqrt(): its 2 ulp would differ
  else if constexpr (OP == O::Sin) return sin(x);
  else if constexpr (OP == O::Cos) return cos(x);
  else if constexpr (OP == O::Tan) return tan(x);
  else if constexpr (OP == O::Asin) return asin(x);
  else if constexpr (OP == O::Acos) return acos(x);
  else if constexpr (OP == O::Atan) return atan(x);
  else if constexpr (OP == O::Sinh) return sinh(x);
  else if constexpr (OP == O::Cosh) return cosh(x);
  else if constexpr (OP == O::Tanh) return tanh(x);
  else if constexpr (OP == O::Sigmoid) return U(1) / (U(1) + exp(-x));
  else if constexpr (OP == O::Gelu) return U(0.5) * x * (U(1) + erf(x * U(0.70710678118654752440)));
  else if constexpr (OP == O::GeluTanh)
    return U(0.5) * x * (U(1) + tanh(U(0.79788456080286535588) * (x + U(0.044715) * x * x * x)));
  else if constexpr (OP == O::Silu) return x / (U(1) + exp(-x));
  else if constexpr (OP == O::Softplus) return x * p0 > p1 ? x : U(log1p(exp(x * p0)) / p0);
  else if constexpr (OP == O::Erf) return erf(x);
  else if constexpr (OP == O::Erfc) return erfc(x);
  else if constexpr (OP == O::Floor) return floor(x);
  else if constexpr (OP == O::Ceil) return ceil(x);
  else if constexpr (OP == O::Round) return rint(x);  // half to even (round-to-nearest mode)
  else if constexpr (OP == O::Trunc) return trunc(x);
  else if constexpr (OP == O::Frac) return x - trunc(x);
  else if constexpr (OP == O::Reciprocal) return U(1) / x;
  else static_assert(OP == O::Neg, "unary_math: op without a formula");
}

// x: T (a device type); out: T
template <UnaryOp OP, typename T> struct UnaryFn {
  cuda::acc_t<T> p0, p1;
  __device__ T operator()(T x) const {
    return cuda::convert<T>(unary_math<OP>(cuda::convert<cuda::acc_t<T>>(x), p0, p1));
  }
};

// isnan, isinf, isfinite, logical_not of any dtype; out: bool
template <typename T> struct PredicateFn {
  UnaryOp op;
  __device__ bool operator()(T x0) const {
    auto x = cuda::convert<cuda::acc_t<T>>(x0);
    if constexpr (cuda::is_float_v<T>) {
      if (op == O::IsNan) return isnan(x);
      if (op == O::IsInf) return isinf(x);
      if (op == O::IsFinite) return isfinite(x);
    } else {
      if (op == O::IsNan || op == O::IsInf) return false;
      if (op == O::IsFinite) return true;
    }
    return !x;  // logical_not
  }
};

template <typename T> struct BitwiseNotFn {
  __device__ T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return !x; else return T(~x);
  }
};

struct Launch {  // the arguments every launch shares
  const ElemIter& it;
  int index;
  double p0, p1;
};

template <UnaryOp OP, typename T> void launch(const Launch& l) {
  using U = cuda::acc_t<T>;
  cuda::launch_elementwise<T, T>(l.it, l.index, unary_name(OP), UnaryFn<OP, T>{U(l.p0), U(l.p1)});
}
template <UnaryOp OP> void float_op(DType dt, const Launch& l) {
  PYML_CUDA_DISPATCH_FLOAT(dt, unary_name(OP), [&] { launch<OP, scalar_t>(l); });
}
template <UnaryOp OP> void numeric_op(DType dt, const Launch& l) {
  PYML_CUDA_DISPATCH_NUMERIC(dt, unary_name(OP), [&] { launch<OP, scalar_t>(l); });
}

// the ops that are not predicates, bitwise_not or integer identities
void math_op(UnaryOp op, DType dt, const Launch& l) {
  switch (op) {
    case O::Neg: return numeric_op<O::Neg>(dt, l);
    case O::Abs: return numeric_op<O::Abs>(dt, l);
    case O::Sign: return numeric_op<O::Sign>(dt, l);
    case O::Relu: return numeric_op<O::Relu>(dt, l);
    case O::Square: return numeric_op<O::Square>(dt, l);
    case O::Exp: return float_op<O::Exp>(dt, l);
    case O::Exp2: return float_op<O::Exp2>(dt, l);
    case O::Expm1: return float_op<O::Expm1>(dt, l);
    case O::Log: return float_op<O::Log>(dt, l);
    case O::Log2: return float_op<O::Log2>(dt, l);
    case O::Log10: return float_op<O::Log10>(dt, l);
    case O::Log1p: return float_op<O::Log1p>(dt, l);
    case O::Sqrt: return float_op<O::Sqrt>(dt, l);
    case O::Rsqrt: return float_op<O::Rsqrt>(dt, l);
    case O::Sin: return float_op<O::Sin>(dt, l);
    case O::Cos: return float_op<O::Cos>(dt, l);
    case O::Tan: return float_op<O::Tan>(dt, l);
    case O::Asin: return float_op<O::Asin>(dt, l);
    case O::Acos: return float_op<O::Acos>(dt, l);
    case O::Atan: return float_op<O::Atan>(dt, l);
    case O::Sinh: return float_op<O::Sinh>(dt, l);
    case O::Cosh: return float_op<O::Cosh>(dt, l);
    case O::Tanh: return float_op<O::Tanh>(dt, l);
    case O::Sigmoid: return float_op<O::Sigmoid>(dt, l);
    case O::Gelu: return float_op<O::Gelu>(dt, l);
    case O::GeluTanh: return float_op<O::GeluTanh>(dt, l);
    case O::Silu: return float_op<O::Silu>(dt, l);
    case O::Softplus: return float_op<O::Softplus>(dt, l);
    case O::Erf: return float_op<O::Erf>(dt, l);
    case O::Erfc: return float_op<O::Erfc>(dt, l);
    case O::Floor: return float_op<O::Floor>(dt, l);
    case O::Ceil: return float_op<O::Ceil>(dt, l);
    case O::Round: return float_op<O::Round>(dt, l);
    case O::Trunc: return float_op<O::Trunc>(dt, l);
    case O::Frac: return float_op<O::Frac>(dt, l);
    case O::Reciprocal: return float_op<O::Reciprocal>(dt, l);
    default: throw RuntimeError(cat_str(unary_name(op), ": internal error: no CUDA kernel"));
  }
}

bool is_rounding(UnaryOp op) { return op == O::Floor || op == O::Ceil || op == O::Round || op == O::Trunc; }

}  // namespace

void unary_cuda(UnaryOp op, const ElemIter& it, DType dt, const double* params, int index) {
  const char* name = unary_name(op);
  if (unary_returns_bool(op)) {
    PYML_CUDA_DISPATCH_ALL(dt, name, [&] {
      cuda::launch_elementwise<bool, scalar_t>(it, index, name, PredicateFn<scalar_t>{op});
    });
  } else if (op == O::BitwiseNot) {
    PYML_CUDA_DISPATCH_INT(dt, name, [&] {
      cuda::launch_elementwise<scalar_t, scalar_t>(it, index, name, BitwiseNotFn<scalar_t>{});
    });
  } else if (is_rounding(op) && !is_floating(dt)) {
    copy_cuda(it, dt, dt, index);  // integers are already whole
  } else {
    const bool sp = op == O::Softplus && params != nullptr;
    math_op(op, dt, Launch{it, index, sp ? params[0] : 1.0, sp ? params[1] : 20.0});
  }
}

}  // namespace pyml
