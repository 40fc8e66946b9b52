// Binary elementwise ops on CUDA: arithmetic, Python-style integer division and remainder, pow,
// NaN-propagating maximum/minimum, comparisons, logical and bitwise ops, shifts and the fused
// activation backward ops, for every (BinaryOp, dtype) pair of the CPU kernel table with the CPU
// kernels' formulas (csrc/cpu/isa/elementwise.cpp). Operands take any strides and broadcasting
// through cuda::launch_elementwise; half types compute in float.
// A scalar operand is a functor member (a by-value kernel argument), so `x * 2` costs one launch
// and no device allocation. Comparisons, logical and bitwise ops share one functor per dtype with
// the op as a runtime switch (uniform across the grid): fewer kernels for ops that cost the same.
#include <cstring>
#include "elementwise.h"
#include "elementwise_launch.cuh"
#include "ops/ops.h"

namespace pyml {
namespace {

using cuda::negative;
using B = BinaryOp;

// Python's a // b. Floats: from fmod so that the quotient is exact where a / b would round.
template <typename U> __device__ inline U floor_div(U a, U b) {
  if constexpr (std::is_floating_point_v<U>) {
    if (b == U(0)) return a / b;
    U mod = fmod(a, b);
    U div = (a - mod) / b;
    if (mod != U(0) && ((b < U(0)) != (mod < U(0)))) div -= U(1);
    if (div == U(0)) return copysign(U(0), a / b);
    U fl = floor(div);
    if (div - fl > U(0.5)) fl += U(1);
    return fl;
  } else {
    if (b == U(0)) return U(0);  // flagged; the host raises
    U q = U(a / b);
    if (a % b != 0 && negative(a) != negative(b)) q = U(q - 1);
    return q;
  }
}

// Python's a % b: the result takes the divisor's sign
template <typename U> __device__ inline U py_mod(U a, U b) {
  if constexpr (std::is_floating_point_v<U>) {
    U r = fmod(a, b);
    if (r != U(0) && ((r < U(0)) != (b < U(0)))) r += b;
    return r;
  } else {
    if (b == U(0)) return U(0);
    U r = U(a % b);
    if (r != 0 && negative(r) != negative(b)) r = U(r + b);
    return r;
  }
}

// integer power by squaring; a negative exponent gives 1/a**|b| truncated (0 unless |a| == 1)
template <typename U> __device__ inline U int_pow(U a, U b) {
  if constexpr (std::is_signed_v<U>) {
    if (b < 0) return a == U(1) ? U(1) : (a == U(-1) ? ((b & 1) ? U(-1) : U(1)) : U(0));
  }
  U r = 1;
  while (b) {
    if (b & 1) r = U(r * a);
    b = U(b >> 1);
    a = U(a * a);
  }
  return r;
}

// shifts past the width give 0 (left) or the sign fill (right), as on the CPU
template <typename U> __device__ inline U shift_left(U a, U b) {
  using S = std::make_unsigned_t<U>;
  return (negative(b) || b >= U(sizeof(U) * 8)) ? U(0) : U(S(a) << b);
}
template <typename U> __device__ inline U shift_right(U a, U b) {
  if (negative(b) || b >= U(sizeof(U) * 8)) return negative(a) ? U(-1) : U(0);
  return U(a >> b);
}

constexpr double kInvSqrt2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kGeluK = 0.79788456080286535588, kGeluC = 0.044715;

// fused activation backward: g = upstream gradient, x = saved input (gelu, gelu_tanh, silu) or
// y = saved output (tanh, sigmoid, relu)
template <BinaryOp OP, typename U> __device__ inline U activation_backward(U g, U x) {
  if constexpr (OP == B::GeluBackward) {
    U cdf = U(0.5) * (U(1) + erf(x * U(kInvSqrt2)));
    return g * (cdf + x * U(kInvSqrt2Pi) * exp(U(-0.5) * x * x));
  } else if constexpr (OP == B::GeluTanhBackward) {
    U t = tanh(U(kGeluK) * (x + U(kGeluC) * x * x * x));
    return g * (U(0.5) * (U(1) + t) + U(0.5) * x * (U(1) - t * t) * U(kGeluK) * (U(1) + U(3 * kGeluC) * x * x));
  } else if constexpr (OP == B::SiluBackward) {
    U s = U(1) / (U(1) + exp(-x));
    return g * s * (U(1) + x * (U(1) - s));
  } else if constexpr (OP == B::TanhBackward) {
    return g * (U(1) - x * x);
  } else if constexpr (OP == B::ReluBackward) {
    return x > U(0) ? g : U(0);
  } else {
    static_assert(OP == B::SigmoidBackward, "activation_backward: unknown op");
    return g * x * (U(1) - x);
  }
}

// op(a, b) in the compute type U (float for the half types); bool takes the logical forms
template <BinaryOp OP, typename U> __device__ inline U binary_math(U a, U b, U alpha) {
  constexpr bool fp = std::is_floating_point_v<U>, boolean = std::is_same_v<U, bool>;
  if constexpr (OP == B::Add) { if constexpr (boolean) return a || b; else return U(a + alpha * b); }
  else if constexpr (OP == B::Sub) return U(a - alpha * b);
  else if constexpr (OP == B::Mul) { if constexpr (boolean) return a && b; else return U(a * b); }
  else if constexpr (OP == B::Div) return a / b;
  else if constexpr (OP == B::FloorDiv) return floor_div(a, b);
  else if constexpr (OP == B::TruncDiv) {
    if constexpr (fp) return trunc(a / b); else return b == U(0) ? U(0) : U(a / b);
  }
  else if constexpr (OP == B::Remainder) return py_mod(a, b);
  else if constexpr (OP == B::Pow) { if constexpr (fp) return pow(a, b); else return int_pow(a, b); }
  else if constexpr (OP == B::Maximum) {
    if constexpr (boolean) return a || b; else return a != a ? a : (b != b ? b : (a > b ? a : b));
  } else if constexpr (OP == B::Minimum) {
    if constexpr (boolean) return a && b; else return a != a ? a : (b != b ? b : (a < b ? a : b));
  }
  else if constexpr (OP == B::Fmod) { if constexpr (fp) return fmod(a, b); else return b == U(0) ? U(0) : U(a % b); }
  else if constexpr (OP == B::Atan2) return atan2(a, b);
  else return activation_backward<OP>(a, b);
}

constexpr bool divides(BinaryOp op) {
  return op == B::FloorDiv || op == B::TruncDiv || op == B::Remainder || op == B::Fmod;
}

// a, b, out: T (device type)
template <BinaryOp OP, typename T> struct BinaryFn {
  using U = cuda::acc_t<T>;
  U alpha;
  int* zero_flag;  // integer division ops: set where the divisor is 0 (all writers store 1)
  __device__ T operator()(T a0, T b0) const {
    U a = cuda::convert<U>(a0), b = cuda::convert<U>(b0);
    if constexpr (divides(OP) && !cuda::is_float_v<T>) {
      if (zero_flag != nullptr && b == U(0)) *zero_flag = 1;
    }
    return cuda::convert<T>(binary_math<OP>(a, b, alpha));
  }
};

// comparisons and logical ops of any dtype; out: bool
template <typename T> struct CompareFn {
  BinaryOp op;
  __device__ bool operator()(T a0, T b0) const {
    auto a = cuda::convert<cuda::acc_t<T>>(a0), b = cuda::convert<cuda::acc_t<T>>(b0);
    switch (op) {
      case B::Eq: return a == b;
      case B::Ne: return a != b;
      case B::Lt: return a < b;
      case B::Le: return a <= b;
      case B::Gt: return a > b;
      case B::Ge: return a >= b;
      case B::LogicalAnd: return bool(a) && bool(b);
      case B::LogicalOr: return bool(a) || bool(b);
      default: return bool(a) != bool(b);  // LogicalXor
    }
  }
};

// bitwise and/or/xor of bool and integers, shifts of integers (the CPU table has no bool shifts)
template <typename T> struct BitwiseFn {
  BinaryOp op;
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (op == B::BitwiseAnd) return a && b;
      if (op == B::BitwiseOr) return a || b;
      return a != b;
    } else {
      switch (op) {
        case B::BitwiseAnd: return T(a & b);
        case B::BitwiseOr: return T(a | b);
        case B::BitwiseXor: return T(a ^ b);
        case B::Shl: return shift_left(a, b);
        default: return shift_right(a, b);
      }
    }
  }
};

// one tensor operand and the host scalar s, on the side `reflected` says
template <typename Out, typename T, typename F> struct ScalarFn {
  F f;
  T s;
  bool reflected;
  __device__ Out operator()(T x) const { return reflected ? f(s, x) : f(x, s); }
};

struct Launch {  // the arguments every launch shares
  const ElemIter& it;
  int index;
  const char* name;
  double alpha;
  const CudaScalar* scalar;
  int* zero_flag;
};

template <typename Out, typename T, typename F> void launch(const Launch& l, F f) {
  if (l.scalar == nullptr) return cuda::launch_elementwise<Out, T, T>(l.it, l.index, l.name, f);
  T s;
  std::memcpy(&s, l.scalar->bytes, sizeof(T));
  cuda::launch_elementwise<Out, T>(l.it, l.index, l.name, ScalarFn<Out, T, F>{f, s, l.scalar->reflected});
}

template <BinaryOp OP, typename T> void launch_op(const Launch& l) {
  launch<T, T>(l, BinaryFn<OP, T>{static_cast<cuda::acc_t<T>>(l.alpha), l.zero_flag});
}
template <BinaryOp OP> void all_types(DType dt, const Launch& l) {
  PYML_CUDA_DISPATCH_ALL(dt, l.name, [&] { launch_op<OP, scalar_t>(l); });
}
template <BinaryOp OP> void numeric_types(DType dt, const Launch& l) {
  PYML_CUDA_DISPATCH_NUMERIC(dt, l.name, [&] { launch_op<OP, scalar_t>(l); });
}
template <BinaryOp OP> void float_types(DType dt, const Launch& l) {
  PYML_CUDA_DISPATCH_FLOAT(dt, l.name, [&] { launch_op<OP, scalar_t>(l); });
}

// the dtype sets match the CPU table: bool has add/mul/maximum/minimum only
void math_op(BinaryOp op, DType dt, const Launch& l) {
  switch (op) {
    case B::Add: return all_types<B::Add>(dt, l);
    case B::Sub: return numeric_types<B::Sub>(dt, l);
    case B::Mul: return all_types<B::Mul>(dt, l);
    case B::Div: return float_types<B::Div>(dt, l);
    case B::FloorDiv: return numeric_types<B::FloorDiv>(dt, l);
    case B::TruncDiv: return numeric_types<B::TruncDiv>(dt, l);
    case B::Remainder: return numeric_types<B::Remainder>(dt, l);
    case B::Pow: return numeric_types<B::Pow>(dt, l);
    case B::Maximum: return all_types<B::Maximum>(dt, l);
    case B::Minimum: return all_types<B::Minimum>(dt, l);
    case B::Fmod: return numeric_types<B::Fmod>(dt, l);
    case B::Atan2: return float_types<B::Atan2>(dt, l);
    case B::GeluBackward: return float_types<B::GeluBackward>(dt, l);
    case B::GeluTanhBackward: return float_types<B::GeluTanhBackward>(dt, l);
    case B::SiluBackward: return float_types<B::SiluBackward>(dt, l);
    case B::TanhBackward: return float_types<B::TanhBackward>(dt, l);
    case B::SigmoidBackward: return float_types<B::SigmoidBackward>(dt, l);
    case B::ReluBackward: return float_types<B::ReluBackward>(dt, l);
    default: throw RuntimeError(cat_str(l.name, ": internal error: no CUDA kernel"));
  }
}

}  // namespace

void binary_cuda(BinaryOp op, const ElemIter& it, DType ct, double alpha, const CudaScalar* scalar, int* zero_flag,
                 int index) {
  Launch l{it, index, binary_name(op), alpha, scalar, zero_flag};
  if (binary_returns_bool(op)) {
    PYML_CUDA_DISPATCH_ALL(ct, l.name, [&] { launch<bool, scalar_t>(l, CompareFn<scalar_t>{op}); });
  } else if (op >= B::BitwiseAnd && op <= B::Shr) {
    PYML_CUDA_DISPATCH_INT(ct, l.name, [&] { launch<scalar_t, scalar_t>(l, BitwiseFn<scalar_t>{op}); });
  } else {
    math_op(op, ct, l);
  }
}

}  // namespace pyml
