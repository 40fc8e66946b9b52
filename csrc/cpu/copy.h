#pragma once
#include <cstring>
#include "core/iter.h"

namespace pyml {
// Row loop converting src dtype to dst dtype: fn(ptrs {dst, src}, strides, n).
LoopFn cast_loop_fn(DType dst, DType src);
}
