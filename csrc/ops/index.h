// Indexing, gather/scatter and layout ops: host entries (ops/index.cpp, ops/layout.cpp) and the
// CPU kernels they dispatch to (cpu/index.cpp, cpu/layout.cpp).
// Index tensors are validated (dtype, shape, every value in range) by the host entries before a
// kernel runs, so kernels index memory without checks. Kernels move raw elements by item size
// (1, 2, 4 or 8 bytes) unless they do arithmetic (accumulate, reduce), which dispatches on dtype.
#pragma once
#include "ops/ops.h"

namespace pyml {

using OptTensor = std::optional<Tensor>;

// --- indexing (ops/index.cpp)
// PyTorch's aten::index / index_put_: indices[i] applies to the i-th dim (a bool/uint8 mask covers
// as many dims as it has). Index tensors broadcast together; their dims replace the indexed dims
// in place when those are adjacent, else they go first. Negative indices count from the end.
Tensor index(const Tensor& x, const std::vector<OptTensor>& indices, const char* op = "index");
void index_put_(const Tensor& x, const std::vector<OptTensor>& indices, const Tensor& values, bool accumulate,
                const char* op = "index_put_");
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha);
void index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
void index_fill_(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value);
Tensor take(const Tensor& x, const Tensor& index);

enum class ScatterOp : int { Assign, Add, Mul, Max, Min };
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, const char* op = "gather");
void scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, ScatterOp sop,
              const char* op = "scatter_");

Tensor nonzero(const Tensor& x);                                     // (nnz, ndim) int64
Tensor where(const Tensor& cond, const Tensor& x, const Tensor& y);  // promotes x and y
void masked_fill_(const Tensor& x, const Tensor& mask, const Scalar& value);
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor repeat_interleave_index(const Tensor& repeats);               // [0]*r0 + [1]*r1 + ...

// --- layout (ops/layout.cpp)
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor flip(const Tensor& x, const Shape& dims);
Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims);
enum class PadMode : int { Constant, Reflect, Replicate, Circular };
// pad: (left, right) pairs starting from the last dim, like torch.nn.functional.pad
Tensor pad(const Tensor& x, const Shape& pad, PadMode mode, const Scalar& value);
Tensor tril(const Tensor& x, int64_t diagonal, bool upper);          // triu when upper

// --- CPU kernels (cpu/index.cpp, cpu/layout.cpp). Byte strides; inputs validated.
// out[i] = src[i + off[i]]: ElemIter {out, src restrided with 0 over the index dims, off (int64 bytes)}
void index_gather_cpu(const ElemIter& it, int64_t itemsize);
// dst[i + off[i]] (=|+=) values[i]: ElemIter {dst restrided, values, off}; accumulate runs serially
void index_put_cpu(const ElemIter& it, DType dtype, bool accumulate);
// off[i] += idx[i] (negative wrapped by size) * stride_bytes; idx values are already in range
void index_offsets_cpu(int64_t* off, const int64_t* idx, int64_t n, int64_t size, int64_t stride_bytes, bool first);

// gather/scatter along one dim: `it` iterates the dims other than `dim` over operands
// {dst, src, index}; for each position the kernel walks `len` steps along the dim.
struct ScatterGatherParams {
  int64_t len = 0;                            // index.shape[dim]
  int64_t dst_stride = 0, src_stride = 0, idx_stride = 0;  // bytes along dim
  DType dtype = DType::Float32;
  bool scatter = false;                       // false: gather dst[j] = src[idx[j]]
  ScatterOp op = ScatterOp::Assign;           // scatter: dst[idx[j]] op= src[j]
};
void scatter_gather_cpu(const ElemIter& it, const ScatterGatherParams& p);

// out = cond ? x : y over ElemIter {out, cond(bool), x, y}, all values of one item size
void where_cpu(const ElemIter& it, int64_t itemsize);
// x = mask ? value : x over ElemIter {x, mask(bool)}; value: the element's bytes
void masked_fill_cpu(const ElemIter& it, int64_t itemsize, const void* value);
// mask: n contiguous bools of a tensor with `shape`; writes nnz rows of coordinates into out
int64_t count_nonzero_cpu(const bool* mask, int64_t n);
void nonzero_cpu(const bool* mask, const Shape& shape, int64_t* out);
void repeat_interleave_cpu(const int64_t* repeats, int64_t n, int64_t* out);

// One dim of a remap: the source position that output position o reads. Shared by the host (to
// build the CPU kernel's index maps) and the CUDA kernel (evaluated per element), so both agree.
#ifdef __CUDACC__
#define PYML_HOST_DEVICE __host__ __device__
#else
#define PYML_HOST_DEVICE
#endif
struct RemapRule {
  enum Kind : int { Identity, Flip, Roll, Reflect, Replicate, Circular };
  int kind = Identity;
  int64_t n = 0;         // the source's size along the dim
  int64_t l = 0, r = 0;  // pads: elements added left/right (negative: cropped); Roll: l = shift in [1, n)
  // Reflect and replicate mirror/clamp at the input's own edges; circular, like torch, wraps
  // around the cropped input.
  PYML_HOST_DEVICE int64_t source(int64_t o) const {
    int64_t j = o - l;
    switch (kind) {
      case Flip: return n - 1 - o;
      case Roll: return o >= l ? o - l : o - l + n;
      case Reflect: j = j < 0 ? -j : j; return j >= n ? 2 * (n - 1) - j : j;
      case Replicate: return j < 0 ? 0 : (j >= n ? n - 1 : j);
      case Circular: {
        int64_t s0 = l < 0 ? -l : 0, m = n - s0 - (r < 0 ? -r : 0);
        int64_t k = (o - (l > 0 ? l : 0)) % m;
        return s0 + (k < 0 ? k + m : k);
      }
      default: return o;
    }
  }
};

// out (contiguous, `shape`) = src gathered through per-dim index maps (nullptr: identity):
// out[o0, .., on] = src[map0[o0], .., mapn[on]]. Serves flip, roll and the non-constant pads.
struct RemapParams {
  Shape shape;                          // output shape
  Shape src_strides;                    // bytes
  std::vector<const int64_t*> maps;     // per dim, length shape[d], or nullptr
  const char* src = nullptr;
  char* out = nullptr;
  int64_t itemsize = 0;
};
void remap_cpu(const RemapParams& p);
// zero the part of each contiguous (R, C) matrix outside the triangle: tril keeps j - i <= diagonal,
// triu keeps j - i >= diagonal
void tri_zero_cpu(char* data, int64_t batch, int64_t R, int64_t C, int64_t itemsize, int64_t diagonal, bool upper);

}  // namespace pyml
