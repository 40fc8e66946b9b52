// Host entry points of the engine's ops: validate -> allocate -> dispatch by device.
// Every function raises pyml::ValueError/TypeError/IndexError/RuntimeError on bad input.
#pragma once
#include <optional>
#include <vector>
#include "core/tensor.h"
#include "cpu/kernels.h"

namespace pyml {

// A Python number: its category takes part in type promotion as a "wrapped number".
struct Scalar {
  enum Kind : int8_t { Bool, Int, Float } kind = Float;
  double d = 0;
  int64_t i = 0;
  static Scalar from_double(double v) { Scalar s; s.kind = Float; s.d = v; s.i = (int64_t)v; return s; }
  static Scalar from_int(int64_t v) { Scalar s; s.kind = Int; s.i = v; s.d = (double)v; return s; }
  static Scalar from_bool(bool v) { Scalar s; s.kind = Bool; s.i = v; s.d = v; return s; }
  DType dtype() const;  // bool, int64, or the default float dtype
};

DType default_dtype();
void set_default_dtype(DType t);

// Operand description for PyTorch's result_type: tensors with dims outrank 0-dim tensors,
// which outrank Python numbers, unless a lower rank brings a higher category.
struct TypeOperand { DType dtype; int rank; };  // rank: 0 = dim tensor, 1 = 0-dim, 2 = number
DType result_type(const std::vector<TypeOperand>& ops);
DType result_type(const Tensor& a, const Tensor& b);
TypeOperand operand_of(const Tensor& t);

// --- copies and casts (ops/copy.cpp)
void copy_(const Tensor& dst, const Tensor& src, const char* op = "copy_");  // broadcast + cast
Tensor to_dtype(const Tensor& t, DType dtype, bool copy = false);
Tensor contiguous(const Tensor& t);
Tensor clone(const Tensor& t);
Tensor scalar_tensor(const Scalar& s, DType dtype, Device dev = Device{});
Tensor full(const Shape& shape, const Scalar& v, DType dtype, Device dev = Device{});
void fill_(const Tensor& t, const Scalar& v);
bool overlaps(const Tensor& a, const Tensor& b);   // share any storage bytes
void check_writable(const Tensor& out, const char* op);  // no internal overlap
// RuntimeError "<op>: expected all tensors to be on the same device, got cpu and cuda:0"
void check_same_device(const Tensor& a, const Tensor& b, const char* op);

// --- elementwise (ops/elementwise.cpp)
Tensor unary(UnaryOp op, const Tensor& x, const double* params = nullptr);
void unary_(UnaryOp op, const Tensor& x, const double* params = nullptr);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor binary_scalar(BinaryOp op, const Tensor& a, const Scalar& b, double alpha, bool reflected);
void binary_(BinaryOp op, const Tensor& a, const Tensor& b, double alpha = 1.0);
const char* unary_name(UnaryOp op);
const char* binary_name(BinaryOp op);

}  // namespace pyml

namespace pyml {
// --- views (ops/view.cpp): share storage, never copy (reshape copies only when it must)
Tensor as_strided(const Tensor& t, const Shape& size, const Shape& stride, std::optional<int64_t> offset);
Tensor view(const Tensor& t, Shape shape);            // -1 inferred; raises when strides forbid
Tensor reshape(const Tensor& t, Shape shape);         // view if possible, else a copy
Tensor permute(const Tensor& t, const Shape& dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor expand(const Tensor& t, Shape shape);          // -1 keeps a size
Tensor squeeze(const Tensor& t, std::optional<Shape> dims);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor diagonal(const Tensor& t, int64_t offset, int64_t d1, int64_t d2);
Tensor flatten(const Tensor& t, int64_t start, int64_t end);
Tensor unflatten(const Tensor& t, int64_t dim, Shape sizes);
Shape infer_shape(Shape shape, int64_t numel, const char* op);
}  // namespace pyml
