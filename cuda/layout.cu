// CUDA kernels of the layout family. remap: one thread per element of the contiguous output; its
// linear index is split into coordinates (innermost dim first) and each coordinate is sent through
// the dim's RemapRule (identity, flip, roll, reflect/replicate/circular pad) to a source offset over
// the source's byte strides, so any strides (negative, zero) work and no index maps are uploaded.
// tri_zero: one thread per element of a contiguous (batch, R, C) tensor, zeroing outside the
// triangle (zero bits are 0 in every dtype). Both move raw elements by item size.
#include "index.h"
#include "index_common.cuh"

namespace pyml {
namespace {

struct RemapArgs {
  int nd;
  int64_t size[kMaxIndexDimsCuda];    // output sizes
  int64_t stride[kMaxIndexDimsCuda];  // source byte strides
  RemapRule rule[kMaxIndexDimsCuda];
};

// out: n contiguous elements of the output shape; src: strided per a.stride
template <typename T> __global__ void remap_kernel(RemapArgs a, const char* src, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int d = a.nd - 1; d >= 0; d--) {
      int64_t o = rem % a.size[d];
      rem /= a.size[d];
      off += a.rule[d].source(o) * a.stride[d];
    }
    out[i] = *reinterpret_cast<const T*>(src + off);
  }
}

// data: (batch, R, C) contiguous. tril keeps j - i <= diagonal, triu keeps j - i >= diagonal.
template <typename T> __global__ void tri_zero_kernel(T* data, int64_t n, int64_t R, int64_t C, int64_t diagonal,
                                                      bool upper) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t j = k % C, i = (k / C) % R;
    if (upper ? j - i < diagonal : j - i > diagonal) data[k] = T{};
  }
}

}  // namespace

void remap_cuda(const Shape& shape, const Shape& src_strides, const std::vector<RemapRule>& rules, const char* src,
                char* out, int64_t itemsize, int index) {
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  PYML_CHECK((int)shape.size() <= kMaxIndexDimsCuda, RuntimeError, "remap (flip/roll/pad): CUDA supports at most ",
             kMaxIndexDimsCuda, " dims, got ", (int64_t)shape.size());
  RemapArgs a;
  a.nd = (int)shape.size();
  for (int d = 0; d < a.nd; d++) a.size[d] = shape[d], a.stride[d] = src_strides[d], a.rule[d] = rules[d];
  cuda::DeviceGuard g(index);
  cuda::by_itemsize(itemsize, [&](auto tag) {
    using T = decltype(tag);
    remap_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(a, src, reinterpret_cast<T*>(out), n);
  });
  PYML_CUDA_LAUNCH_CHECK("remap (flip/roll/pad)");
}

void tri_zero_cuda(char* data, int64_t batch, int64_t R, int64_t C, int64_t itemsize, int64_t diagonal, bool upper,
                   int index) {
  int64_t n = batch * R * C;
  if (n == 0) return;
  const char* op = upper ? "triu" : "tril";
  cuda::DeviceGuard g(index);
  cuda::by_itemsize(itemsize, [&](auto tag) {
    using T = decltype(tag);
    tri_zero_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(reinterpret_cast<T*>(data), n, R,
                                                                                     C, diagonal, upper);
  });
  PYML_CUDA_LAUNCH_CHECK(op);
}

}  // namespace pyml
