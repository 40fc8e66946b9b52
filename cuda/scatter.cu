// CUDA gather and scatter along one dim. The CPU kernel walks the dim serially per position off it;
// on the GPU every element of the index gets its own thread instead (a 1-D scatter_add of a
// million values would otherwise be one thread's loop). Operands {dst, src, idx} span the whole
// index shape; the indexed operand has a zero stride along the dim and the kernel adds
// idx * stride_along_dim. Gather and assign move raw elements by item size; the reductions
// (add, multiply, amax, amin) dispatch on dtype and update through atomics, so duplicate indices
// all take part (their order, and so float rounding, is not fixed; NaN propagates in amax/amin
// whatever the order). Indices arrive checked and non-negative.
#include "index.h"
#include "index_common.cuh"

namespace pyml {
namespace {

using cuda::OffsetCalc;

// {dst, src, idx}: dst = src[idx * src_stride]
template <typename T> __global__ void gather_dim_kernel(OffsetCalc<3> oc, int64_t n, int64_t src_stride) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[3];
    oc.ptrs(i, p);
    int64_t j = *reinterpret_cast<const int64_t*>(p[2]);
    *reinterpret_cast<T*>(p[0]) = *reinterpret_cast<const T*>(p[1] + j * src_stride);
  }
}

// {dst, src, idx}: dst[idx * dst_stride] = src (duplicates: one write wins)
template <typename T> __global__ void scatter_assign_kernel(OffsetCalc<3> oc, int64_t n, int64_t dst_stride) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[3];
    oc.ptrs(i, p);
    int64_t j = *reinterpret_cast<const int64_t*>(p[2]);
    *reinterpret_cast<T*>(p[0] + j * dst_stride) = *reinterpret_cast<const T*>(p[1]);
  }
}

// The CPU kernels' update rules (cpu/index.cpp), as pure functions of the old value for atomic_update.
template <typename T> __device__ inline T scatter_combine(ScatterOp op, T d, T v) {
  using A = cuda::acc_t<T>;
  A a = cuda::convert<A>(d), b = cuda::convert<A>(v);
  if constexpr (std::is_same_v<T, bool>) {
    if (op == ScatterOp::Mul) return d && v;
  }
  switch (op) {
    case ScatterOp::Mul: return cuda::convert<T>(a * b);
    case ScatterOp::Max: return (b > a || b != b) ? v : d;  // NaN propagates, like torch's amax
    default: return (b < a || b != b) ? v : d;              // Min
  }
}

// {dst, src, idx}: dst[idx * dst_stride] op= src, atomically (op: Add, Mul, Max or Min)
template <typename T> __global__ void scatter_reduce_kernel(OffsetCalc<3> oc, int64_t n, int64_t dst_stride,
                                                            ScatterOp op) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[3];
    oc.ptrs(i, p);
    int64_t j = *reinterpret_cast<const int64_t*>(p[2]);
    T* dst = reinterpret_cast<T*>(p[0] + j * dst_stride);
    T v = *reinterpret_cast<const T*>(p[1]);
    if (op == ScatterOp::Add) cuda::atomic_add(dst, v);
    else cuda::atomic_update(dst, [op, v](T d) { return scatter_combine(op, d, v); });
  }
}

}  // namespace

void scatter_gather_cuda(const ElemIter& it, const ScatterGatherParams& p, int index) {
  if (it.numel == 0) return;
  const char* op = p.scatter ? "scatter" : "gather";
  cuda::DeviceGuard g(index);
  OffsetCalc<3> oc = cuda::make_offset_calc<3>(it, op);
  unsigned grid = cuda::grid_for(it.numel);
  cudaStream_t s = cuda::stream(index);
  if (!p.scatter) {
    cuda::by_itemsize(itemsize(p.dtype), [&](auto tag) {
      gather_dim_kernel<decltype(tag)><<<grid, cuda::kThreads, 0, s>>>(oc, it.numel, p.src_stride);
    });
  } else if (p.op == ScatterOp::Assign) {
    cuda::by_itemsize(itemsize(p.dtype), [&](auto tag) {
      scatter_assign_kernel<decltype(tag)><<<grid, cuda::kThreads, 0, s>>>(oc, it.numel, p.dst_stride);
    });
  } else {
    PYML_CUDA_DISPATCH_ALL(p.dtype, op, [&] {
      scatter_reduce_kernel<scalar_t><<<grid, cuda::kThreads, 0, s>>>(oc, it.numel, p.dst_stride, p.op);
    });
  }
  PYML_CUDA_LAUNCH_CHECK(op);
}

}  // namespace pyml
