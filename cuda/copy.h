// Launchers of cuda/copy.cu, callable from the host ops (stubs that raise without CUDA).
#pragma once
#include "core/device.h"
#include "core/iter.h"

namespace pyml {
// it: (dst, src) on device `index`, any strides; casts src's dtype to dst's.
PYML_CUDA_FN(void copy_cuda(const ElemIter& it, DType dst, DType src, int index))
}  // namespace pyml
