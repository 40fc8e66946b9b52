// dtype names, sizes and the promotion lattice (mirrors PyTorch's promoteTypes).
#include "core/dtype.h"
#include "core/error.h"

namespace pyml {

int64_t itemsize(DType t) {
  static const int64_t sz[kNumDTypes] = {1, 1, 1, 2, 4, 8, 2, 2, 4, 8, 8, 16};
  return sz[(int)t];
}

const char* dtype_name(DType t) {
  static const char* names[kNumDTypes] = {"bool", "uint8", "int8", "int16", "int32",
                                          "int64", "float16", "bfloat16", "float32", "float64",
                                          "complex64", "complex128"};
  return names[(int)t];
}

void throw_dtype_error(const char* op, DType t) {
  throw TypeError(cat_str(op, ": unsupported dtype, got ", dtype_name(t)));
}

static int int_rank(DType t) {  // width order among signed ints
  switch (t) {
    case DType::Int8: return 1; case DType::Int16: return 2;
    case DType::Int32: return 3; case DType::Int64: return 4; default: return 0;
  }
}

static DType promote_complex(DType a, DType b) {  // at least one of a, b is complex
  bool wide = a == DType::Complex128 || b == DType::Complex128 || a == DType::Float64 || b == DType::Float64;
  return wide ? DType::Complex128 : DType::Complex64;
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (is_complex(a) || is_complex(b)) return promote_complex(a, b);
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  bool fa = is_floating(a), fb = is_floating(b);
  if (fa && fb) {
    if ((a == DType::Float16 && b == DType::BFloat16) || (a == DType::BFloat16 && b == DType::Float16))
      return DType::Float32;
    return a > b ? a : b;
  }
  if (fa) return a;
  if (fb) return b;
  if (a == DType::UInt8 || b == DType::UInt8) {  // u8 with a signed int
    DType s = a == DType::UInt8 ? b : a;
    return s == DType::Int8 ? DType::Int16 : s;
  }
  return int_rank(a) > int_rank(b) ? a : b;
}

static int category(DType t) { return t == DType::Bool ? 0 : is_complex(t) ? 3 : is_floating(t) ? 2 : 1; }

bool can_cast(DType from, DType to) { return category(from) <= category(to); }

}  // namespace pyml
