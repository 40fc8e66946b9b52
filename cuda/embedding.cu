// Embedding on the GPU: row gather (any dtype, moved in the widest unit the row size and alignment
// allow), backward as an index-add, max_norm renorm, embedding_bag (sum/mean/max) forward and
// backward, and the device-side index range check shared with cross_entropy.
// weight (V, D) and dout contiguous; idx int64 (n,) already validated in [0, V) by the host entry.
// The backward index-adds use atomicAdd (float32/float64): duplicate indices accumulate in an
// unspecified order, so dweight can differ from run to run in the last bits (the CPU adds in index
// order). Counts (scale_grad_by_freq, bag sizes) are integer atomics or serial loops: exact.
// The renorm visits each distinct row once: the lowest position naming a row owns it (atomicMin).
#include "embedding.h"
#include "block_reduce.cuh"

namespace pyml {
namespace {

using ull = unsigned long long;
constexpr ull kNone = ~0ull;

inline Device dev_of(int index) { return Device{Device::CUDA, (int8_t)index}; }

// a (count,) uint64 device buffer filled with `byte` in every byte (0 or 0xff)
Tensor u64_buffer(int64_t count, int byte, int index) {
  Tensor t = empty({std::max<int64_t>(count, 1)}, DType::Int64, dev_of(index));
  PYML_CUDA_CHECK(cudaMemsetAsync(t.data(), byte, t.numel() * 8, cuda::stream(index)), "embedding");
  return t;
}

// first[0] = min position i whose idx[i] is outside [0, V) (and not `allowed` when has_allowed)
__global__ void first_bad_kernel(const int64_t* idx, int64_t n, int64_t V, bool has_allowed, int64_t allowed,
                                 ull* first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t v = idx[i];
    if ((v < 0 || v >= V) && !(has_allowed && v == allowed)) atomicMin(first, (ull)i);
  }
}

// out (n, D) = w rows idx[i]; U is the copy unit (D counts units)
template <typename U>
__global__ void gather_rows_kernel(const U* w, int64_t D, const int64_t* idx, int64_t n, U* out) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * D; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = e / D;
    out[e] = w[idx[i] * D + (e - i * D)];
  }
}

// cnt[v] = occurrences of v in idx (positions outside [0, V) are skipped)
__global__ void count_kernel(const int64_t* idx, int64_t n, int64_t V, ull* cnt) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t v = idx[i];
    if (v >= 0 && v < V) atomicAdd(cnt + v, 1ull);
  }
}

// dw (V, D) += scale * dout (n, D) row i into row idx[i]; scale = 1 / cnt[v] when cnt is given
template <typename T>
__global__ void index_add_rows_kernel(const T* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V, int64_t pad,
                                      const ull* cnt, T* dw) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * D; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = e / D, v = idx[i];
    if (v < 0 || v >= V || v == pad) continue;
    T s = cnt ? T(1) / (T)cnt[v] : T(1);
    atomicAdd(dw + v * D + (e - i * D), s * dout[e]);
  }
}

// owner[v] = lowest position i with idx[i] == v
__global__ void owner_kernel(const int64_t* idx, int64_t n, ull* owner) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    atomicMin(owner + idx[i], (ull)i);
}

// One block per position i that owns its row: p-norm of w[v] (double), scaled to max_norm if above.
template <typename T>
__global__ void renorm_kernel(T* w, int64_t D, const int64_t* idx, int64_t n, const ull* owner, double max_norm,
                              double p) {
  __shared__ double scratch[32];
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    int64_t v = idx[i];
    if (owner[v] != (ull)i) continue;  // uniform: the whole block looks at the same i
    T* r = w + v * D;
    double s = 0;
    bool inf = isinf(p);
    for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
      double a = fabs((double)r[d]);
      s = inf ? fmax(s, a) : p == 1 ? s + a : p == 2 ? s + a * a : s + pow(a, p);
    }
    if (inf) {
      s = cuda::block_reduce(s, cuda::MaxOp{}, scratch);
    } else {
      s = cuda::block_reduce(s, cuda::SumOp{}, scratch);
      s = p == 1 ? s : p == 2 ? sqrt(s) : pow(s, 1.0 / p);
    }
    if (s > max_norm) {
      T scale = (T)(max_norm / (s + 1e-7));
      for (int64_t d = threadIdx.x; d < D; d += blockDim.x) r[d] *= scale;
    }
  }
}

// ------------------------------------------------------------------------------ embedding_bag
// One thread per output element (b, d): the bag's indices in order, like the CPU loop.
// out (B, D); max_idx (B, D) (mode max: the row that won, -1 for an empty bag).
template <typename T>
__global__ void bag_forward_kernel(EmbeddingBagParams p, T* out, int64_t* max_idx) {
  const T *w = (const T*)p.w, *psw = (const T*)p.psw;
  int64_t D = p.D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < p.B * D; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t b = e / D, d = e - b * D, mi = -1, cnt = 0;
    T o = T(0);
    for (int64_t j = p.offsets[b]; j < p.offsets[b + 1]; j++) {
      int64_t v = p.idx[j];
      if (v == p.padding_idx) continue;
      T r = w[v * D + d];
      if (p.mode == 2) {
        if (cnt == 0 || r > o) { o = r; mi = v; }
      } else {
        o += (psw ? psw[j] : T(1)) * r;
      }
      cnt++;
    }
    if (p.mode == 1 && cnt > 0) o *= T(1) / (T)cnt;
    out[e] = o;
    if (max_idx) max_idx[e] = mi;
  }
}

// bag[j] = the bag holding position j (offsets (B+1,) non-decreasing), or -1 past the last bag
__global__ void bag_of_kernel(const int64_t* off, int64_t B, int64_t n, int64_t* bag) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < n; j += (int64_t)gridDim.x * blockDim.x) {
    int64_t lo = 0, hi = B + 1;  // first position in off[0..B] with off[pos] > j
    while (lo < hi) {
      int64_t mid = (lo + hi) / 2;
      if (off[mid] <= j) lo = mid + 1; else hi = mid;
    }
    int64_t b = lo - 1;
    bag[j] = (b >= 0 && b < B && j < off[b + 1]) ? b : -1;
  }
}

// cnt[b] = non-padding indices in bag b
__global__ void bag_count_kernel(const int64_t* off, const int64_t* idx, int64_t B, int64_t pad, int64_t* cnt) {
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < B; b += (int64_t)gridDim.x * blockDim.x) {
    int64_t c = 0;
    for (int64_t j = off[b]; j < off[b + 1]; j++) c += idx[j] != pad;
    cnt[b] = c;
  }
}

// dpsw[j] = dot(dout[bag[j]], w[idx[j]]) (0 for padding or outside every bag); one warp per j
template <typename T>
__global__ void bag_dpsw_kernel(EmbeddingBagParams p, const T* dout, const int64_t* bag, T* dpsw) {
  const T* w = (const T*)p.w;
  int lane = threadIdx.x & 31;
  int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  for (int64_t j = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32; j < p.n; j += warps) {
    int64_t b = bag[j], v = p.idx[j];
    if (b < 0 || v == p.padding_idx) {  // uniform across the warp
      if (lane == 0) dpsw[j] = T(0);
      continue;
    }
    double s = 0;
    for (int64_t d = lane; d < p.D; d += 32) s += (double)dout[b * p.D + d] * (double)w[v * p.D + d];
    s = cuda::warp_reduce(s, cuda::SumOp{});
    if (lane == 0) dpsw[j] = (T)s;
  }
}

// sum/mean: dw[idx[j]] += (scale_j * 1/freq) * dout[bag[j]] per element (j, d)
template <typename T>
__global__ void bag_backward_sum_kernel(EmbeddingBagParams p, const T* dout, const int64_t* bag, const int64_t* bcnt,
                                        const ull* freq, T* dw) {
  const T* psw = (const T*)p.psw;
  int64_t D = p.D;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < p.n * D; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t j = e / D, d = e - j * D, b = bag[j], v = p.idx[j];
    if (b < 0 || v == p.padding_idx) continue;
    T s = p.mode == 1 ? T(1) / (T)bcnt[b] : (psw ? psw[j] : T(1));
    atomicAdd(dw + v * D + d, s * (freq ? T(1) / (T)freq[v] : T(1)) * dout[b * D + d]);
  }
}

// max: dw[max_idx[e]] += dout[e] * (1/freq) per output element e = (b, d)
template <typename T>
__global__ void bag_backward_max_kernel(const T* dout, const int64_t* max_idx, int64_t B, int64_t D, const ull* freq,
                                        T* dw) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < B * D; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t v = max_idx[e];
    if (v < 0) continue;
    atomicAdd(dw + v * D + e % D, dout[e] * (freq ? T(1) / (T)freq[v] : T(1)));
  }
}

// --------------------------------------------------------------------------------- launchers
template <typename T> void emb_backward(const T* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V, int64_t pad,
                                        bool freq, T* dw, int index) {
  const char* op = "embedding_backward";
  cudaStream_t s = cuda::stream(index);
  PYML_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(T) * V * D, s), op);
  if (n == 0) return;
  Tensor cnt = u64_buffer(freq ? V : 0, 0, index);
  if (freq) {
    count_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(idx, n, V, (ull*)cnt.data());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  index_add_rows_kernel<T><<<cuda::grid_for(n * D), cuda::kThreads, 0, s>>>(dout, D, idx, n, V, pad,
                                                                            freq ? (const ull*)cnt.data() : nullptr, dw);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T> void renorm(T* w, int64_t V, int64_t D, const int64_t* idx, int64_t n, double max_norm, double p,
                                  int index) {
  const char* op = "embedding_renorm_";
  cudaStream_t s = cuda::stream(index);
  Tensor owner = u64_buffer(V, 0xff, index);
  owner_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(idx, n, (ull*)owner.data());
  PYML_CUDA_LAUNCH_CHECK(op);
  int threads = (int)std::min<int64_t>(cuda::kThreads, std::max<int64_t>(32, (D + 31) / 32 * 32));
  renorm_kernel<T><<<cuda::grid_for(n, 1, 1), threads, 0, s>>>(w, D, idx, n, (const ull*)owner.data(), max_norm, p);
  PYML_CUDA_LAUNCH_CHECK(op);
}

template <typename T> void bag_backward(const EmbeddingBagParams& p, const T* dout, const int64_t* max_idx, bool freq,
                                        T* dw, T* dpsw, int index) {
  const char* op = "embedding_bag_backward";
  cudaStream_t s = cuda::stream(index);
  Tensor bag = empty({std::max<int64_t>(p.n, 1)}, DType::Int64, dev_of(index));
  if (p.n > 0) {
    bag_of_kernel<<<cuda::grid_for(p.n), cuda::kThreads, 0, s>>>(p.offsets, p.B, p.n, bag.ptr<int64_t>());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  if (dpsw && p.n > 0) {
    bag_dpsw_kernel<T><<<cuda::grid_for(p.n, 1, cuda::kThreads / 32), cuda::kThreads, 0, s>>>(p, dout, bag.ptr<int64_t>(),
                                                                                              dpsw);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  if (!dw) return;
  Tensor fcnt = u64_buffer(freq ? p.V : 0, 0, index);
  if (freq && p.n > 0) {
    count_kernel<<<cuda::grid_for(p.n), cuda::kThreads, 0, s>>>(p.idx, p.n, p.V, (ull*)fcnt.data());
    PYML_CUDA_LAUNCH_CHECK(op);
  }
  const ull* fc = freq ? (const ull*)fcnt.data() : nullptr;
  if (p.mode == 2) {
    if (p.B * p.D > 0)
      bag_backward_max_kernel<T><<<cuda::grid_for(p.B * p.D), cuda::kThreads, 0, s>>>(dout, max_idx, p.B, p.D, fc, dw);
  } else {
    Tensor bcnt = empty({std::max<int64_t>(p.B, 1)}, DType::Int64, dev_of(index));
    if (p.B > 0) {
      bag_count_kernel<<<cuda::grid_for(p.B), cuda::kThreads, 0, s>>>(p.offsets, p.idx, p.B, p.padding_idx,
                                                                      bcnt.ptr<int64_t>());
      PYML_CUDA_LAUNCH_CHECK(op);
    }
    if (p.n * p.D > 0)
      bag_backward_sum_kernel<T><<<cuda::grid_for(p.n * p.D), cuda::kThreads, 0, s>>>(p, dout, bag.ptr<int64_t>(),
                                                                                       bcnt.ptr<int64_t>(), fc, dw);
  }
  PYML_CUDA_LAUNCH_CHECK(op);
}

// the widest unit (16, 8, 4, 2 or 1 bytes) dividing the row size and both base addresses
int copy_unit(int64_t row_bytes, const void* a, const void* b) {
  for (int u = 16; u > 1; u /= 2)
    if (row_bytes % u == 0 && (uintptr_t)a % u == 0 && (uintptr_t)b % u == 0) return u;
  return 1;
}

template <typename U> void gather(const void* w, int64_t row_bytes, const int64_t* idx, int64_t n, void* out, int index) {
  int64_t D = row_bytes / (int64_t)sizeof(U);
  gather_rows_kernel<U><<<cuda::grid_for(n * D), cuda::kThreads, 0, cuda::stream(index)>>>((const U*)w, D, idx, n,
                                                                                           (U*)out);
  PYML_CUDA_LAUNCH_CHECK("embedding");
}

}  // namespace

int64_t first_bad_index_cuda(const int64_t* idx, int64_t n, int64_t V, bool has_allowed, int64_t allowed, int index) {
  if (n == 0) return -1;
  cuda::DeviceGuard guard(index);
  Tensor first = u64_buffer(1, 0xff, index);
  first_bad_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(idx, n, V, has_allowed, allowed,
                                                                                   (ull*)first.data());
  PYML_CUDA_LAUNCH_CHECK("index check");
  ull pos = kNone;
  cuda_memcpy(&pos, first.data(), sizeof(pos), CopyKind::DeviceToHost, index);
  return pos == kNone ? -1 : (int64_t)pos;
}

void embedding_forward_cuda(const void* weight, int64_t itemsize, int64_t D, const int64_t* idx, int64_t n, void* out,
                            int index) {
  if (n == 0 || D == 0) return;
  cuda::DeviceGuard guard(index);
  int64_t row = D * itemsize;
  switch (copy_unit(row, weight, out)) {
    case 16: gather<uint4>(weight, row, idx, n, out, index); break;
    case 8: gather<uint64_t>(weight, row, idx, n, out, index); break;
    case 4: gather<uint32_t>(weight, row, idx, n, out, index); break;
    case 2: gather<uint16_t>(weight, row, idx, n, out, index); break;
    default: gather<uint8_t>(weight, row, idx, n, out, index); break;
  }
}

void embedding_backward_cuda(DType dt, const void* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V,
                             int64_t pad, bool freq, void* dw, int index) {
  cuda::DeviceGuard guard(index);
  if (dt == DType::Float64) emb_backward<double>((const double*)dout, D, idx, n, V, pad, freq, (double*)dw, index);
  else emb_backward<float>((const float*)dout, D, idx, n, V, pad, freq, (float*)dw, index);
}

void embedding_renorm_cuda(DType dt, void* w, int64_t V, int64_t D, const int64_t* idx, int64_t n, double max_norm,
                           double p, int index) {
  if (n == 0 || D == 0) return;
  cuda::DeviceGuard guard(index);
  if (dt == DType::Float64) renorm<double>((double*)w, V, D, idx, n, max_norm, p, index);
  else renorm<float>((float*)w, V, D, idx, n, max_norm, p, index);
}

void embedding_bag_forward_cuda(const EmbeddingBagParams& p, void* out, int64_t* max_idx, int index) {
  if (p.B * p.D == 0) return;
  cuda::DeviceGuard guard(index);
  cudaStream_t s = cuda::stream(index);
  if (p.dtype == DType::Float64)
    bag_forward_kernel<double><<<cuda::grid_for(p.B * p.D), cuda::kThreads, 0, s>>>(p, (double*)out, max_idx);
  else
    bag_forward_kernel<float><<<cuda::grid_for(p.B * p.D), cuda::kThreads, 0, s>>>(p, (float*)out, max_idx);
  PYML_CUDA_LAUNCH_CHECK("embedding_bag");
}

void embedding_bag_backward_cuda(const EmbeddingBagParams& p, const void* dout, const int64_t* max_idx, bool freq,
                                 void* dw, void* dpsw, int index) {
  cuda::DeviceGuard guard(index);
  if (p.dtype == DType::Float64)
    bag_backward<double>(p, (const double*)dout, max_idx, freq, (double*)dw, (double*)dpsw, index);
  else
    bag_backward<float>(p, (const float*)dout, max_idx, freq, (float*)dw, (float*)dpsw, index);
}

}  // namespace pyml
