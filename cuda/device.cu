// CUDA device plumbing: device queries, allocation, copies, a fill kernel and the first
// elementwise kernel (float32 add). Every CUDA call is checked; errors name the op and file:line.
#include <cuda_runtime.h>
#include "core/device.h"
#include "core/error.h"

namespace pyml {

#define PYML_CUDA_CHECK(expr, op)                                                                   \
  do {                                                                                              \
    cudaError_t e_ = (expr);                                                                        \
    if (e_ != cudaSuccess) {                                                                        \
      cudaGetLastError();                                                                           \
      throw RuntimeError(cat_str(op, ": CUDA error '", cudaGetErrorString(e_), "' at ", __FILE__, \
                                 ":", __LINE__));                                                   \
    }                                                                                               \
  } while (0)

bool cuda_compiled() { return true; }

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
  return n;
}

std::string cuda_device_name(int index) {
  cudaDeviceProp p;
  PYML_CUDA_CHECK(cudaGetDeviceProperties(&p, index), "get_device_name");
  return p.name;
}

void* cuda_alloc(int64_t nbytes, int index) {
  PYML_CUDA_CHECK(cudaSetDevice(index), "cuda_alloc");
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, nbytes > 0 ? nbytes : 1);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw RuntimeError(cat_str("cuda_alloc: CUDA out of memory trying to allocate ", nbytes, " bytes on cuda:", index));
  }
  PYML_CUDA_CHECK(e, "cuda_alloc");
  return p;
}

void cuda_free(void* p, int index) {
  cudaSetDevice(index);
  cudaFree(p);
}

void cuda_memcpy(void* dst, const void* src, int64_t nbytes, CopyKind kind, int index) {
  if (nbytes == 0) return;
  PYML_CUDA_CHECK(cudaSetDevice(index), "copy");
  cudaMemcpyKind k = kind == CopyKind::HostToDevice ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  PYML_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k), "copy");
}

void cuda_synchronize(int index) {
  PYML_CUDA_CHECK(cudaSetDevice(index), "synchronize");
  PYML_CUDA_CHECK(cudaDeviceSynchronize(), "synchronize");
}

// out, a, b: (n,) contiguous float32; grid-stride loop
__global__ void add_f32_kernel(float* out, const float* a, const float* b, float alpha, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = a[i] + alpha * b[i];
}

__global__ void fill_kernel(char* dst, uint64_t value, int64_t elem_size, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    for (int64_t b = 0; b < elem_size; b++) dst[i * elem_size + b] = (char)(value >> (8 * b));
}

static int blocks_for(int64_t n) { return (int)std::min<int64_t>((n + 255) / 256, 65535); }

void cuda_add_f32(float* out, const float* a, const float* b, float alpha, int64_t n, int index) {
  if (n == 0) return;
  PYML_CUDA_CHECK(cudaSetDevice(index), "add");
  add_f32_kernel<<<blocks_for(n), 256>>>(out, a, b, alpha, n);
  PYML_CUDA_CHECK(cudaGetLastError(), "add");
}

void cuda_fill_bytes(void* dst, const void* value, int64_t elem_size, int64_t n, int index) {
  if (n == 0) return;
  PYML_CUDA_CHECK(cudaSetDevice(index), "fill_");
  uint64_t v = 0;
  memcpy(&v, value, elem_size);
  fill_kernel<<<blocks_for(n), 256>>>(static_cast<char*>(dst), v, elem_size, n);
  PYML_CUDA_CHECK(cudaGetLastError(), "fill_");
}

}  // namespace pyml
