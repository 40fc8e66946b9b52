// CUDA kernels of advanced indexing and the mask ops. The host (ops/index.cpp) turns index tensors
// into one int64 tensor of byte offsets over their broadcast shape; gather and put are then
// three-operand iterations {out|x, x|values, off} walked with the strided offset calculator, one
// thread per element (grid-stride). Index values are validated by a check kernel that records the
// first bad position; the host reads it back once before any kernel uses the offsets.
// nonzero and repeat_interleave are counts, a single-block exclusive scan with a carry, and a write
// pass; nonzero's write pass ranks the set flags of each 256-element round with warp ballots so the
// coordinates come out in row-major order, exactly like the CPU kernel.
#include "index.h"
#include "index_common.cuh"

namespace pyml {
namespace {

using cuda::OffsetCalc;

// idx: n contiguous int64
__global__ void index_check_kernel(const int64_t* idx, int64_t n, int64_t lo, int64_t size, int64_t* bad) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t v = idx[i];
    if (v < lo || v >= size) cuda::record_bad(bad, i);
  }
}

// idx, off: n contiguous int64; idx values in [-size, size) (checked before the offsets are used)
__global__ void index_offsets_kernel(int64_t* off, const int64_t* idx, int64_t n, int64_t size, int64_t stride,
                                     bool first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t v = idx[i];
    v += v < 0 ? size : 0;
    off[i] = (first ? 0 : off[i]) + v * stride;
  }
}

// operands {out, x, off}: out = x[off]
template <typename T> __global__ void index_gather_kernel(OffsetCalc<3> oc, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[3];
    oc.ptrs(i, p);
    *reinterpret_cast<T*>(p[0]) = *reinterpret_cast<const T*>(p[1] + *reinterpret_cast<const int64_t*>(p[2]));
  }
}

// operands {x, values, off}: x[off] = values (duplicates: one of the writes wins, as on CPU) or
// x[off] += values with atomics so duplicates all add up
template <typename T, bool Accumulate> __global__ void index_put_kernel(OffsetCalc<3> oc, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[3];
    oc.ptrs(i, p);
    T* dst = reinterpret_cast<T*>(p[0] + *reinterpret_cast<const int64_t*>(p[2]));
    T v = *reinterpret_cast<const T*>(p[1]);
    if constexpr (Accumulate) cuda::atomic_add(dst, v); else *dst = v;
  }
}

template <typename T> struct WhereOp {
  __device__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};
template <typename T> struct MaskedFillOp {
  T value;
  __device__ T operator()(T x, bool m) const { return m ? value : x; }
};

}  // namespace

void index_check_cuda(const int64_t* idx, int64_t n, int64_t size, bool allow_negative, int64_t* bad, int index) {
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  index_check_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(idx, n, allow_negative ? -size : 0,
                                                                                    size, bad);
  PYML_CUDA_LAUNCH_CHECK("index");
}

void index_offsets_cuda(int64_t* off, const int64_t* idx, int64_t n, int64_t size, int64_t stride_bytes, bool first,
                        int index) {
  if (n == 0) return;
  cuda::DeviceGuard g(index);
  index_offsets_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, cuda::stream(index)>>>(off, idx, n, size, stride_bytes,
                                                                                     first);
  PYML_CUDA_LAUNCH_CHECK("index");
}

void index_gather_cuda(const ElemIter& it, int64_t itemsize, int index) {
  if (it.numel == 0) return;
  cuda::DeviceGuard g(index);
  OffsetCalc<3> oc = cuda::make_offset_calc<3>(it, "index");
  cuda::by_itemsize(itemsize, [&](auto tag) {
    index_gather_kernel<decltype(tag)><<<cuda::grid_for(it.numel), cuda::kThreads, 0, cuda::stream(index)>>>(oc, it.numel);
  });
  PYML_CUDA_LAUNCH_CHECK("index");
}

void index_put_cuda(const ElemIter& it, DType dtype, bool accumulate, int index) {
  if (it.numel == 0) return;
  cuda::DeviceGuard g(index);
  OffsetCalc<3> oc = cuda::make_offset_calc<3>(it, "index_put_");
  unsigned grid = cuda::grid_for(it.numel);
  cudaStream_t s = cuda::stream(index);
  if (!accumulate) {
    cuda::by_itemsize(itemsize(dtype), [&](auto tag) {
      index_put_kernel<decltype(tag), false><<<grid, cuda::kThreads, 0, s>>>(oc, it.numel);
    });
  } else {
    PYML_CUDA_DISPATCH_ALL(dtype, "index_put_", [&] {
      index_put_kernel<scalar_t, true><<<grid, cuda::kThreads, 0, s>>>(oc, it.numel);
    });
  }
  PYML_CUDA_LAUNCH_CHECK("index_put_");
}

void where_cuda(const ElemIter& it, int64_t itemsize, int index) {
  cuda::by_itemsize(itemsize, [&](auto tag) {
    using T = decltype(tag);
    cuda::launch_elementwise<T, bool, T, T>(it, index, "where", WhereOp<T>{});
  });
}

void masked_fill_cuda(const ElemIter& it, int64_t itemsize, const void* value, int index) {
  cuda::by_itemsize(itemsize, [&](auto tag) {
    using T = decltype(tag);
    MaskedFillOp<T> op;
    std::memcpy(&op.value, value, sizeof(T));
    cuda::launch_elementwise<T, T, bool>(it, index, "masked_fill_", op);
  });
}

// ---------------------------------------------------------------- scans: nonzero, repeat_interleave
namespace {

constexpr int kScanThreads = 1024;
constexpr int kNzRounds = (int)(kNonzeroChunkCuda / cuda::kThreads);  // 256-element rounds per chunk

// out[0..n] = exclusive prefix sums of in[0..n) (total at out[n]). One block of kScanThreads walks
// the array in tiles: a warp shuffle scan, a scan of the warp totals by warp 0, and a carry.
__global__ void exclusive_scan_kernel(const int64_t* in, int64_t n, int64_t* out) {
  __shared__ int64_t warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  int64_t carry = 0;
  for (int64_t base = 0; base < n; base += blockDim.x) {  // uniform trip count: barriers below are safe
    int64_t i = base + threadIdx.x;
    int64_t v = i < n ? in[i] : 0, x = v;
    for (int o = 1; o < 32; o <<= 1) {
      int64_t y = __shfl_up_sync(0xffffffffu, x, o);
      if (lane >= o) x += y;
    }
    if (lane == 31) warp_sums[warp] = x;
    __syncthreads();
    if (warp == 0) {
      int64_t s = lane < nwarps ? warp_sums[lane] : 0;
      for (int o = 1; o < 32; o <<= 1) {
        int64_t y = __shfl_up_sync(0xffffffffu, s, o);
        if (lane >= o) s += y;
      }
      if (lane < nwarps) warp_sums[lane] = s;  // inclusive scan of the warp totals
    }
    __syncthreads();
    int64_t before = warp > 0 ? warp_sums[warp - 1] : 0;
    if (i < n) out[i] = carry + before + x - v;
    carry += warp_sums[nwarps - 1];
    __syncthreads();  // warp_sums is rewritten by the next tile
  }
  if (threadIdx.x == 0) out[n] = carry;
}

// counts[b] = set bytes in chunk b (kNonzeroChunkCuda bytes) of the mask
__global__ void nonzero_count_kernel(const uint8_t* m, int64_t n, int64_t* counts) {
  int64_t base = blockIdx.x * kNonzeroChunkCuda;
  int c = 0;
  for (int r = 0; r < kNzRounds; r++) {
    int64_t i = base + r * cuda::kThreads + threadIdx.x;
    c += __syncthreads_count(i < n && m[i] != 0);
  }
  if (threadIdx.x == 0) counts[blockIdx.x] = c;
}

struct NzShape {
  int nd;
  int64_t sizes[kMaxIndexDimsCuda];
};

// mask: n contiguous bytes; out: (nnz, nd) row-major; starts[b]: rows before chunk b. Each round,
// a thread's rank among the set flags = set lanes below it in its warp + set flags of lower warps.
__global__ void nonzero_write_kernel(const uint8_t* m, int64_t n, const int64_t* starts, NzShape shape, int64_t* out) {
  __shared__ int warp_counts[cuda::kThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int64_t base = blockIdx.x * kNonzeroChunkCuda, row = starts[blockIdx.x];
  for (int r = 0; r < kNzRounds; r++) {
    int64_t i = base + r * cuda::kThreads + threadIdx.x;
    bool set = i < n && m[i] != 0;
    unsigned ballot = __ballot_sync(0xffffffffu, set);
    if (lane == 0) warp_counts[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int w = 0; w < cuda::kThreads / 32; w++) {
      before += w < warp ? warp_counts[w] : 0;
      total += warp_counts[w];
    }
    if (set) {
      int64_t* o = out + (row + before + __popc(ballot & ((1u << lane) - 1u))) * shape.nd;
      int64_t rem = i;
      for (int d = shape.nd - 1; d >= 0; d--) {
        o[d] = rem % shape.sizes[d];
        rem /= shape.sizes[d];
      }
    }
    row += total;
    __syncthreads();  // warp_counts is rewritten next round
  }
}

// starts[n + 1] = first i with repeats[i] < 0 (starts[n + 1] holds INT64_MAX beforehand)
__global__ void first_negative_kernel(const int64_t* repeats, int64_t n, int64_t* bad) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    if (repeats[i] < 0) cuda::record_bad(bad, i);
}

// out[k] = the i with starts[i] <= k < starts[i + 1] (binary search; starts non-decreasing)
__global__ void repeat_fill_kernel(const int64_t* starts, int64_t n, int64_t* out, int64_t total) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if (starts[mid + 1] > k) hi = mid; else lo = mid + 1;
    }
    out[k] = lo;
  }
}

}  // namespace

void nonzero_scan_cuda(const bool* mask, int64_t n, int64_t* starts, int index) {
  int64_t chunks = (n + kNonzeroChunkCuda - 1) / kNonzeroChunkCuda;
  cuda::DeviceGuard g(index);
  cudaStream_t s = cuda::stream(index);
  if (chunks > 0) {  // counts land in starts[0..chunks) and are scanned in place
    nonzero_count_kernel<<<(unsigned)chunks, cuda::kThreads, 0, s>>>(reinterpret_cast<const uint8_t*>(mask), n, starts);
    PYML_CUDA_LAUNCH_CHECK("nonzero");
  }
  exclusive_scan_kernel<<<1, kScanThreads, 0, s>>>(starts, chunks, starts);
  PYML_CUDA_LAUNCH_CHECK("nonzero");
}

void nonzero_write_cuda(const bool* mask, const Shape& shape, const int64_t* starts, int64_t* out, int index) {
  int64_t n = shape_numel(shape), chunks = (n + kNonzeroChunkCuda - 1) / kNonzeroChunkCuda;
  PYML_CHECK((int)shape.size() <= kMaxIndexDimsCuda, RuntimeError, "nonzero: CUDA supports at most ",
             kMaxIndexDimsCuda, " dims, got ", (int64_t)shape.size());
  if (chunks == 0 || shape.empty()) return;
  NzShape sh{(int)shape.size(), {}};
  for (size_t d = 0; d < shape.size(); d++) sh.sizes[d] = shape[d];
  cuda::DeviceGuard g(index);
  nonzero_write_kernel<<<(unsigned)chunks, cuda::kThreads, 0, cuda::stream(index)>>>(
      reinterpret_cast<const uint8_t*>(mask), n, starts, sh, out);
  PYML_CUDA_LAUNCH_CHECK("nonzero");
}

void repeat_interleave_scan_cuda(const int64_t* repeats, int64_t n, int64_t* starts, int index) {
  cuda::DeviceGuard g(index);
  cudaStream_t s = cuda::stream(index);
  int64_t none = INT64_MAX;
  cuda_fill_bytes(starts + n + 1, &none, sizeof(none), 1, index);
  if (n > 0) {
    first_negative_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, s>>>(repeats, n, starts + n + 1);
    PYML_CUDA_LAUNCH_CHECK("repeat_interleave");
  }
  exclusive_scan_kernel<<<1, kScanThreads, 0, s>>>(repeats, n, starts);
  PYML_CUDA_LAUNCH_CHECK("repeat_interleave");
}

void repeat_interleave_fill_cuda(const int64_t* starts, int64_t n, int64_t* out, int64_t total, int index) {
  if (total == 0 || n == 0) return;
  cuda::DeviceGuard g(index);
  repeat_fill_kernel<<<cuda::grid_for(total), cuda::kThreads, 0, cuda::stream(index)>>>(starts, n, out, total);
  PYML_CUDA_LAUNCH_CHECK("repeat_interleave");
}

}  // namespace pyml
