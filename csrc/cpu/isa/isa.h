// Shared by the per-ISA kernel files. Everything here must be internal to the translation unit
// (static inline / templates inside PYML_ISA_NS) so the AVX-512 copy never serves generic code.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>
#include "core/dtype.h"

#ifndef PYML_ISA_NS
#define PYML_ISA_NS isa_generic
#endif

namespace pyml {
namespace PYML_ISA_NS {

template <typename T> using opmath_t = typename OpMath<T>::type;

template <typename T> static inline opmath_t<T> load(const char* p) {
  return static_cast<opmath_t<T>>(*reinterpret_cast<const T*>(p));
}
template <typename T, typename U> static inline void store(char* p, U v) {
  *reinterpret_cast<T*>(p) = static_cast<T>(v);
}

}  // namespace PYML_ISA_NS
}  // namespace pyml
