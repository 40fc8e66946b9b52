// The index ops of pooling on CUDA: max-pool backward without the window geometry (scatter-add
// by the indices), max_unpool forward (scatter, the last duplicate wins as on the CPU) and
// backward (gather). Indices may be made up by the user, so each kernel checks each one and
// reports the first bad position through a device flag (one small read-back per op); halves are
// computed in float32 by the host. Planes: dy, idx (planes, out_n), dx (planes, in_n) contiguous.
#include "pool.h"
#include "pool_common.cuh"

namespace pyml {
namespace {

using namespace pool;

// --- index ops. bad: the smallest flat position of an index outside [0, plane size)
__device__ inline bool index_ok(int64_t j, int64_t n, int64_t pos, unsigned long long* bad) {
  if (j >= 0 && j < n) return true;
  atomicMin(bad, (unsigned long long)pos);
  return false;
}

// dx (planes, in_n) zeroed by the launcher; dy, idx (planes, out_n)
template <typename T>
__global__ void scatter_add_kernel(const T* dy, const int64_t* idx, T* dx, int64_t in_n, int64_t out_n, int64_t total,
                                   unsigned long long* bad) {
  PYML_GRID_LOOP(i, total) {
    const int64_t j = idx[i];
    if (index_ok(j, in_n, i, bad)) atomicAdd(dx + i / out_n * in_n + j, dy[i]);
  }
}

// pass 1 of max_unpool: last[plane][j] = the largest source position o that targets j
__global__ void unpool_claim_kernel(const int64_t* idx, long long* last, int64_t out_n, int64_t in_n, int64_t total,
                                    unsigned long long* bad) {
  PYML_GRID_LOOP(i, total) {
    const int64_t j = idx[i];
    if (index_ok(j, out_n, i, bad)) atomicMax(last + i / in_n * out_n + j, (long long)(i % in_n));
  }
}

// pass 2: the claiming source writes, so a duplicate index keeps the CPU's "last one wins"
template <typename T>
__global__ void unpool_write_kernel(const T* x, const int64_t* idx, const long long* last, T* y, int64_t out_n,
                                    int64_t in_n, int64_t total) {
  PYML_GRID_LOOP(i, total) {
    const int64_t j = idx[i], at = i / in_n * out_n + j;
    if (j >= 0 && j < out_n && last[at] == i % in_n) y[at] = x[i];
  }
}

// dx (planes, n) = dy (planes, dy_n) at idx (planes, n)
template <typename T>
__global__ void gather_kernel(const T* dy, const int64_t* idx, T* dx, int64_t dy_n, int64_t n, int64_t total,
                              unsigned long long* bad) {
  PYML_GRID_LOOP(i, total) {
    const int64_t j = idx[i];
    dx[i] = index_ok(j, dy_n, i, bad) ? dy[i / n * dy_n + j] : T(0);
  }
}

// A device flag for the first bad index position, read back after the kernels (one sync).
struct BadIndex {
  Tensor flag;
  int index;
  explicit BadIndex(int dev) : flag(empty({1}, DType::Int64, Device{Device::CUDA, (int8_t)dev})), index(dev) {
    PYML_CUDA_CHECK(cudaMemsetAsync(flag.data(), 0xff, 8, cuda::stream(dev)), "pooling");
  }
  unsigned long long* ptr() const { return reinterpret_cast<unsigned long long*>(flag.data()); }
  int64_t read() const {
    unsigned long long v = 0;
    cuda_memcpy(&v, flag.data(), 8, CopyKind::DeviceToHost, index);
    return v == ~0ULL ? -1 : (int64_t)v;
  }
};

void zero(void* p, int64_t n, int index, const char* op) {
  if (n > 0) PYML_CUDA_CHECK(cudaMemsetAsync(p, 0, (size_t)n, cuda::stream(index)), op);
}

}  // namespace

int64_t max_pool_backward_cuda(int64_t planes, int64_t in_n, int64_t out_n, const void* dy, const int64_t* idx,
                               void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "max_pool2d backward";
  BadIndex bad(index);
  dispatch<false>(t, op, [&](auto tag) {
    using T = decltype(tag);
    zero(dx, planes * in_n * (int64_t)sizeof(T), index, op);
    const int64_t n = planes * out_n;
    PYML_POOL_LAUNCH(scatter_add_kernel<T>, n, op, static_cast<const T*>(dy), idx, static_cast<T*>(dx), in_n, out_n,
                     n, bad.ptr());
  });
  return bad.read();
}

int64_t max_unpool_forward_cuda(int64_t planes, int64_t out_n, int64_t in_n, const void* x, const int64_t* idx,
                                void* y, DType t, int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "max_unpool2d";
  BadIndex bad(index);
  dispatch<false>(t, op, [&](auto tag) {
    using T = decltype(tag);
    zero(y, planes * out_n * (int64_t)sizeof(T), index, op);
    const int64_t n = planes * in_n;
    if (n == 0) return;
    Tensor last = empty({planes * out_n}, DType::Int64, Device{Device::CUDA, (int8_t)index});
    PYML_CUDA_CHECK(cudaMemsetAsync(last.data(), 0xff, planes * out_n * 8, cuda::stream(index)), op);  // -1
    long long* lp = reinterpret_cast<long long*>(last.data());
    unpool_claim_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(idx, lp, out_n, in_n, n,
                                                                                         bad.ptr());
    PYML_CUDA_LAUNCH_CHECK(op);
    PYML_POOL_LAUNCH(unpool_write_kernel<T>, n, op, static_cast<const T*>(x), idx, lp, static_cast<T*>(y), out_n,
                     in_n, n);
  });
  return bad.read();
}

int64_t max_unpool_backward_cuda(int64_t planes, int64_t dy_n, int64_t n, const void* dy, const int64_t* idx,
                                 void* dx, DType t, int index) {
  cuda::DeviceGuard guard(index);
  const char* op = "max_unpool2d backward";
  BadIndex bad(index);
  dispatch<false>(t, op, [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = planes * n;
    PYML_POOL_LAUNCH(gather_kernel<T>, total, op, static_cast<const T*>(dy), idx, static_cast<T*>(dx), dy_n, n, total,
                     bad.ptr());
  });
  return bad.read();
}

}  // namespace pyml
