// What every CUDA kernel file of pyml shares: error checks that name the op and file:line, the
// device guard, the current stream, device types for each DType (float16 -> __half, bfloat16 ->
// __nv_bfloat16) with their accumulation types and conversions, grid sizing, and the elementwise
// launcher (strided operands through an offset calculator; a vectorised path when all contiguous).
// Include only from .cu files.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <utility>
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/iter.h"

namespace pyml {

// "op: CUDA error 'msg' at file:line". Clears the sticky error so the process stays usable
// where the error allows it.
[[noreturn]] void throw_cuda_error(cudaError_t e, const char* op, const char* file, int line);

#define PYML_CUDA_CHECK(expr, op)                                                           \
  do {                                                                                      \
    cudaError_t pyml_e_ = (expr);                                                           \
    if (pyml_e_ != cudaSuccess) ::pyml::throw_cuda_error(pyml_e_, op, __FILE__, __LINE__); \
  } while (0)
// After every kernel launch: a bad configuration or an earlier asynchronous fault surfaces here.
#define PYML_CUDA_LAUNCH_CHECK(op) PYML_CUDA_CHECK(cudaGetLastError(), op)

namespace cuda {

inline cudaStream_t stream(int index) { return static_cast<cudaStream_t>(cuda_current_stream(index)); }

// Makes `index` the current device for the scope (kernels launch on the current device).
struct DeviceGuard {
  int prev = -1;
  explicit DeviceGuard(int index) {
    cudaGetDevice(&prev);
    if (prev != index) PYML_CUDA_CHECK(cudaSetDevice(index), "device guard");
  }
  ~DeviceGuard() { if (prev >= 0) cudaSetDevice(prev); }
  DeviceGuard(const DeviceGuard&) = delete;
};

constexpr int kThreads = 256;
// Blocks for n items at `per_thread` items per thread; capped (grid-stride loops cover the rest).
inline unsigned grid_for(int64_t n, int per_thread = 1, int threads = kThreads) {
  int64_t b = (n + (int64_t)threads * per_thread - 1) / ((int64_t)threads * per_thread);
  return (unsigned)std::max<int64_t>(1, std::min<int64_t>(b, 65535LL * 8));
}

// --- device types
template <DType T> struct DevT { using type = typename CType<T>::type; };
template <> struct DevT<DType::Float16> { using type = __half; };
template <> struct DevT<DType::BFloat16> { using type = __nv_bfloat16; };

// Accumulation type: half types compute in float, everything else in itself.
template <typename T> struct Acc { using type = T; };
template <> struct Acc<__half> { using type = float; };
template <> struct Acc<__nv_bfloat16> { using type = float; };
template <typename T> using acc_t = typename Acc<T>::type;

template <typename T> constexpr bool is_half_v = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;
template <typename T> constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;

// Value conversion between any two device types (half types go through float; bool is != 0).
template <typename To, typename From> __host__ __device__ inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_v<From>) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (is_half_v<To>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

// x < 0 without a "comparison of unsigned with 0" for the unsigned types
template <typename U> __device__ inline bool negative(U x) {
  if constexpr (std::is_unsigned_v<U>) return false; else return x < U(0);
}

}  // namespace cuda
}  // namespace pyml

// Dispatch on a runtime dtype with scalar_t bound to its device type.
#define PYML_CUDA_CASE(DT, ...) \
  case ::pyml::DType::DT: { using scalar_t = ::pyml::cuda::DevT<::pyml::DType::DT>::type; __VA_ARGS__(); break; }
#define PYML_CUDA_DISPATCH_FLOAT(dtype, opname, ...)                                     \
  switch (dtype) {                                                                         \
    PYML_CUDA_CASE(Float16, __VA_ARGS__) PYML_CUDA_CASE(BFloat16, __VA_ARGS__)            \
    PYML_CUDA_CASE(Float32, __VA_ARGS__) PYML_CUDA_CASE(Float64, __VA_ARGS__)             \
    default: ::pyml::throw_dtype_error(opname, dtype);                                     \
  }
#define PYML_CUDA_DISPATCH_INT(dtype, opname, ...)                                       \
  switch (dtype) {                                                                         \
    PYML_CUDA_CASE(Bool, __VA_ARGS__) PYML_CUDA_CASE(UInt8, __VA_ARGS__)                  \
    PYML_CUDA_CASE(Int8, __VA_ARGS__) PYML_CUDA_CASE(Int16, __VA_ARGS__)                  \
    PYML_CUDA_CASE(Int32, __VA_ARGS__) PYML_CUDA_CASE(Int64, __VA_ARGS__)                 \
    default: ::pyml::throw_dtype_error(opname, dtype);                                     \
  }
// every dtype but bool
#define PYML_CUDA_DISPATCH_NUMERIC(dtype, opname, ...)                                   \
  switch (dtype) {                                                                         \
    PYML_CUDA_CASE(UInt8, __VA_ARGS__) PYML_CUDA_CASE(Int8, __VA_ARGS__)                  \
    PYML_CUDA_CASE(Int16, __VA_ARGS__) PYML_CUDA_CASE(Int32, __VA_ARGS__)                 \
    PYML_CUDA_CASE(Int64, __VA_ARGS__)                                                     \
    PYML_CUDA_CASE(Float16, __VA_ARGS__) PYML_CUDA_CASE(BFloat16, __VA_ARGS__)            \
    PYML_CUDA_CASE(Float32, __VA_ARGS__) PYML_CUDA_CASE(Float64, __VA_ARGS__)             \
    default: ::pyml::throw_dtype_error(opname, dtype);                                     \
  }
#define PYML_CUDA_DISPATCH_ALL(dtype, opname, ...)                                       \
  switch (dtype) {                                                                         \
    PYML_CUDA_CASE(Bool, __VA_ARGS__) PYML_CUDA_CASE(UInt8, __VA_ARGS__)                  \
    PYML_CUDA_CASE(Int8, __VA_ARGS__) PYML_CUDA_CASE(Int16, __VA_ARGS__)                  \
    PYML_CUDA_CASE(Int32, __VA_ARGS__) PYML_CUDA_CASE(Int64, __VA_ARGS__)                 \
    PYML_CUDA_CASE(Float16, __VA_ARGS__) PYML_CUDA_CASE(BFloat16, __VA_ARGS__)            \
    PYML_CUDA_CASE(Float32, __VA_ARGS__) PYML_CUDA_CASE(Float64, __VA_ARGS__)             \
    default: ::pyml::throw_dtype_error(opname, dtype);                                     \
  }
