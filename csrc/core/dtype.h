// Data types of the engine, their sizes and names, and PyTorch's type-promotion lattice.
// DType values are stable: the Python layer maps pyml.float32 etc. onto them.
#pragma once
#include <cstdint>
#include <string>
#include "core/half.h"

namespace pyml {

enum class DType : int8_t {
  Bool = 0, UInt8, Int8, Int16, Int32, Int64, Float16, BFloat16, Float32, Float64, Complex64, Complex128,
};
constexpr int kNumDTypes = 12;

int64_t itemsize(DType t);
const char* dtype_name(DType t);  // "float32", ...
inline bool is_floating(DType t) { return t >= DType::Float16 && t <= DType::Float64; }
// Complex tensors hold (real, imag) pairs of float32/float64. Kernels see them through their real
// view (ops/complex.h): a trailing dim of 2, so no kernel table has a complex entry.
inline bool is_complex(DType t) { return t == DType::Complex64 || t == DType::Complex128; }
inline DType complex_to_real(DType t) { return t == DType::Complex128 ? DType::Float64 : DType::Float32; }
inline bool is_integral(DType t, bool include_bool) {
  return include_bool ? t <= DType::Int64 : (t >= DType::UInt8 && t <= DType::Int64);
}
// PyTorch's promote_types(a, b): bool < integers < floats < complex, u8+i8 -> i16, f16+bf16 -> f32,
// float64+complex64 -> complex128.
DType promote_types(DType a, DType b);
// Whether a value of type `from` may be written to `to` by an in-place op (no category drop).
bool can_cast(DType from, DType to);

// C++ type for each dtype
template <DType T> struct CType;
template <> struct CType<DType::Bool> { using type = bool; };
template <> struct CType<DType::UInt8> { using type = uint8_t; };
template <> struct CType<DType::Int8> { using type = int8_t; };
template <> struct CType<DType::Int16> { using type = int16_t; };
template <> struct CType<DType::Int32> { using type = int32_t; };
template <> struct CType<DType::Int64> { using type = int64_t; };
template <> struct CType<DType::Float16> { using type = Half; };
template <> struct CType<DType::BFloat16> { using type = BFloat16; };
template <> struct CType<DType::Float32> { using type = float; };
template <> struct CType<DType::Float64> { using type = double; };

// Type in which arithmetic on T happens (half types compute in float).
template <typename T> struct OpMath { using type = T; };
template <> struct OpMath<Half> { using type = float; };
template <> struct OpMath<BFloat16> { using type = float; };

}  // namespace pyml

// Dispatch helpers: run a lambda with scalar_t bound to the C++ type of a runtime dtype.
#define PYML_DTYPE_CASE(DT, ...) \
  case ::pyml::DType::DT: { using scalar_t = ::pyml::CType<::pyml::DType::DT>::type; __VA_ARGS__(); break; }

#define PYML_DISPATCH_ALL(dtype, opname, ...)                                           \
  switch (dtype) {                                                                        \
    PYML_DTYPE_CASE(Bool, __VA_ARGS__) PYML_DTYPE_CASE(UInt8, __VA_ARGS__)               \
    PYML_DTYPE_CASE(Int8, __VA_ARGS__) PYML_DTYPE_CASE(Int16, __VA_ARGS__)               \
    PYML_DTYPE_CASE(Int32, __VA_ARGS__) PYML_DTYPE_CASE(Int64, __VA_ARGS__)              \
    PYML_DTYPE_CASE(Float16, __VA_ARGS__) PYML_DTYPE_CASE(BFloat16, __VA_ARGS__)         \
    PYML_DTYPE_CASE(Float32, __VA_ARGS__) PYML_DTYPE_CASE(Float64, __VA_ARGS__)          \
    default: ::pyml::throw_dtype_error(opname, dtype);                                    \
  }

#define PYML_DISPATCH_FLOAT(dtype, opname, ...)                                         \
  switch (dtype) {                                                                        \
    PYML_DTYPE_CASE(Float16, __VA_ARGS__) PYML_DTYPE_CASE(BFloat16, __VA_ARGS__)         \
    PYML_DTYPE_CASE(Float32, __VA_ARGS__) PYML_DTYPE_CASE(Float64, __VA_ARGS__)          \
    default: ::pyml::throw_dtype_error(opname, dtype);                                    \
  }

#define PYML_DISPATCH_INT(dtype, opname, ...)                                           \
  switch (dtype) {                                                                        \
    PYML_DTYPE_CASE(Bool, __VA_ARGS__) PYML_DTYPE_CASE(UInt8, __VA_ARGS__)               \
    PYML_DTYPE_CASE(Int8, __VA_ARGS__) PYML_DTYPE_CASE(Int16, __VA_ARGS__)               \
    PYML_DTYPE_CASE(Int32, __VA_ARGS__) PYML_DTYPE_CASE(Int64, __VA_ARGS__)              \
    default: ::pyml::throw_dtype_error(opname, dtype);                                    \
  }

// Numeric (non-bool) types
#define PYML_DISPATCH_NUMERIC(dtype, opname, ...)                                       \
  switch (dtype) {                                                                        \
    PYML_DTYPE_CASE(UInt8, __VA_ARGS__)                                                  \
    PYML_DTYPE_CASE(Int8, __VA_ARGS__) PYML_DTYPE_CASE(Int16, __VA_ARGS__)               \
    PYML_DTYPE_CASE(Int32, __VA_ARGS__) PYML_DTYPE_CASE(Int64, __VA_ARGS__)              \
    PYML_DTYPE_CASE(Float16, __VA_ARGS__) PYML_DTYPE_CASE(BFloat16, __VA_ARGS__)         \
    PYML_DTYPE_CASE(Float32, __VA_ARGS__) PYML_DTYPE_CASE(Float64, __VA_ARGS__)          \
    default: ::pyml::throw_dtype_error(opname, dtype);                                    \
  }

namespace pyml {
[[noreturn]] void throw_dtype_error(const char* op, DType t);
}
