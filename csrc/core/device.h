// The engine's view of the CUDA backend (implemented in cuda/; stubs when built without CUDA).
// Every function raises RuntimeError naming the op and file:line on a CUDA error.
#pragma once
#include <cstdint>
#include <string>

namespace pyml {

bool cuda_compiled();
int cuda_device_count();                 // 0 when no driver or GPU is present
std::string cuda_device_name(int index);
void* cuda_alloc(int64_t nbytes, int index);
void cuda_free(void* p, int index);
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void cuda_memcpy(void* dst, const void* src, int64_t nbytes, CopyKind kind, int index);
void cuda_synchronize(int index);
// The plumbing kernel of the CUDA path: out[i] = a[i] + alpha * b[i] for contiguous float32.
void cuda_add_f32(float* out, const float* a, const float* b, float alpha, int64_t n, int index);
void cuda_fill_bytes(void* dst, const void* value, int64_t elem_size, int64_t n, int index);

}  // namespace pyml
