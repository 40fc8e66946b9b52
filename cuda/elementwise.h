// Launchers of cuda/unary.cu and cuda/binary.cu, callable from csrc/ops/elementwise.cpp (stubs that
// raise without CUDA). The host op has already validated the op, cast the inputs to the compute
// dtype and allocated the output; these run every (op, dtype) pair the CPU kernel table has.
// A binary op's scalar operand (a Python number or a 0-dim CPU tensor) travels by value in the
// kernel's functor: no device allocation and no host-to-device copy per call.
#pragma once
#include "core/device.h"
#include "core/iter.h"
#include "cpu/kernels.h"

namespace pyml {

// A host value for a binary op: its bytes in the compute dtype, and its side.
struct CudaScalar {
  alignas(8) unsigned char bytes[8] = {};
  bool reflected = false;  // the scalar is the left operand: op(s, t) instead of op(t, s)
};

// it: (out, x) on device `index`, any strides; x in `dtype`, out in dtype (bool for isnan, isinf,
// isfinite, logical_not). params: softplus (beta, threshold), else unused.
PYML_CUDA_FN(void unary_cuda(UnaryOp op, const ElemIter& it, DType dtype, const double* params, int index))

// it: (out, a, b), or (out, t) when `scalar` is given; inputs in `compute`, out in compute (bool
// for comparisons and logical ops). alpha: add/sub's multiplier of b. zero_flag: a device int set
// to 1 when an integer floor_divide/div/remainder/fmod meets a zero divisor (null: no check).
PYML_CUDA_FN(void binary_cuda(BinaryOp op, const ElemIter& it, DType compute, double alpha,
                              const CudaScalar* scalar, int* zero_flag, int index))

}  // namespace pyml
