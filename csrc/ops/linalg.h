// Matrix products: matmul (NumPy/PyTorch broadcasting), mm, bmm, mv, dot, addmm, baddbmm.
// Host entries validate shapes and dtypes, promote types (half types compute in float32),
// broadcast batch dims as stride-0 views (never copied) and hand (M, K) @ (K, N) problems with
// their original strides to the GEMM kernels, so transposed operands are never copied.
// Composite ops (outer, tensordot, einsum, kron, ...) live in pyml/_ops/linalg.py.
#pragma once
#include "ops/ops.h"

namespace pyml {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor mv(const Tensor& a, const Tensor& v);
Tensor dot(const Tensor& a, const Tensor& b);
// beta * input + alpha * (a @ b); input broadcasts to the product's shape.
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
// c = alpha * a @ b + beta * c in place, 2-D float32/float64, any strides: the raw GEMM, for tests.
void gemm_(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta);

// Integer GEMM (csrc/cpu/matmul_int.cpp): a plain loop accumulating in 64 bits, wrapping like
// the result type. Types uint8, int8, int16, int32, int64.
void gemm_int_cpu(const GemmArgs& g, DType t);

}  // namespace pyml
