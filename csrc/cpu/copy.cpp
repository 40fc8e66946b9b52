// Strided, broadcasting copy with dtype conversion: one loop per (dst, src) dtype pair.
#include "cpu/copy.h"
#include <algorithm>
#include "cpu/isa/isa.h"

namespace pyml {
namespace {

template <typename To, typename Ti>
void cast_loop(char** d, const int64_t* s, int64_t n, const double*) {
  if constexpr (std::is_same_v<To, Ti>) {
    if (s[0] == (int64_t)sizeof(To) && s[1] == (int64_t)sizeof(Ti)) {
      std::memcpy(d[0], d[1], n * sizeof(To));
      return;
    }
    if (s[0] == (int64_t)sizeof(To) && s[1] == 0) {  // fill_, zeros, full: a vectorised store loop (the
      To v;                                            // strided loop below stored one element a cycle)
      std::memcpy(&v, d[1], sizeof(To));
      std::fill_n(reinterpret_cast<To*>(d[0]), n, v);
      return;
    }
  }
  using Ui = typename OpMath<Ti>::type;
  using Uo = typename OpMath<To>::type;
  char* o = d[0]; const char* a = d[1];
  for (int64_t i = 0; i < n; i++, o += s[0], a += s[1]) {
    Ui v = static_cast<Ui>(*reinterpret_cast<const Ti*>(a));
    if constexpr (std::is_same_v<To, bool>) *reinterpret_cast<To*>(o) = v != Ui(0);
    else *reinterpret_cast<To*>(o) = static_cast<To>(static_cast<Uo>(v));
  }
}

template <typename To>
LoopFn pick_src(DType src) {
  LoopFn f = nullptr;
  PYML_DISPATCH_ALL(src, "copy", [&] { f = &cast_loop<To, scalar_t>; });
  return f;
}

}  // namespace

LoopFn cast_loop_fn(DType dst, DType src) {
  LoopFn f = nullptr;
  PYML_DISPATCH_ALL(dst, "copy", [&] { f = pick_src<scalar_t>(src); });
  return f;
}

}  // namespace pyml
