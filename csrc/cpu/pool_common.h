// Small pieces shared by the CPU pooling kernels (cpu/pool.cpp for 1-D/2-D, cpu/pool3d.cpp for 3-D):
// the max-pool start value and NaN test that also compile for integer types, the window-sum
// accumulator type, and the adaptive-pooling window [lo, hi) of output o of n over in elements.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace pyml {
namespace pool_common {

template <typename T> T lowest() {
  if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
  else return std::numeric_limits<T>::lowest();
}
template <typename T> bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}
// Window sums accumulate in int64 for integer types (torch's accumulate type), in T for floats.
template <typename T> using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, T>;

inline int64_t adapt_lo(int64_t o, int64_t in, int64_t n) { return o * in / n; }
inline int64_t adapt_hi(int64_t o, int64_t in, int64_t n) { return ((o + 1) * in + n - 1) / n; }

}  // namespace pool_common
}  // namespace pyml
