// The elementwise launcher: out[i] = f(in0[i], in1[i], ...) over an ElemIter (operand 0 is the
// output; inputs already broadcast to it, already in the types the functor takes).
// Two paths: when every operand is contiguous or a broadcast scalar (stride 0) along one merged
// dim, a grid-stride kernel moves 4 elements per thread with one vector load per operand (16 bytes
// for float32) when the pointers allow it; otherwise an offset calculator turns each linear index
// into byte offsets with div/mod over the merged dims (any strides, negative included).
#pragma once
#include "cuda_common.cuh"

namespace pyml {
namespace cuda {

constexpr int kMaxIterDims = 12;

// operand byte offsets of a linear index: dims innermost first, strides in bytes
template <int N> struct OffsetCalc {
  int ndim = 0;
  int64_t sizes[kMaxIterDims];
  int64_t strides[kMaxIterDims][N];
  char* base[N];
  __device__ void ptrs(int64_t i, char** p) const {
#pragma unroll
    for (int k = 0; k < N; k++) p[k] = base[k];
    for (int d = 0; d < ndim; d++) {
      int64_t idx = i % sizes[d];
      i /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; k++) p[k] += idx * strides[d][k];
    }
  }
};

template <int N> OffsetCalc<N> make_offset_calc(const ElemIter& it, const char* op) {
  PYML_CHECK(it.nops == N, RuntimeError, op, ": internal error: ", it.nops, " operands for a ", N, "-operand kernel");
  PYML_CHECK((int)it.shape.size() <= kMaxIterDims, RuntimeError, op, ": CUDA kernels take at most ", kMaxIterDims,
             " dims after merging contiguous ones, got ", it.shape.size());
  OffsetCalc<N> oc;
  oc.ndim = (int)it.shape.size();
  for (int d = 0; d < oc.ndim; d++) {
    oc.sizes[d] = it.shape[d];
    for (int k = 0; k < N; k++) oc.strides[d][k] = it.strides[k][d];
  }
  for (int k = 0; k < N; k++) oc.base[k] = it.base[k];
  return oc;
}

template <typename T, int V> struct alignas(sizeof(T) * V) Vec { T v[V]; };
constexpr int kVec = 4;

// One loaded vector per input, reachable by index (a tuple that works in device code).
template <typename... In> struct Loaded {};
template <typename H, typename... T> struct Loaded<H, T...> {
  Vec<H, kVec> head;
  Loaded<T...> tail;
};
template <size_t I, typename L> __device__ inline auto& get(L& l) {
  if constexpr (I == 0) return l.head; else return get<I - 1>(l.tail);
}

template <int N> struct FlatArgs {
  char* p[N];
  int64_t step[N];  // bytes between elements: sizeof(T), or 0 for a broadcast scalar
};

template <typename T> __device__ inline Vec<T, kVec> load_vec(const char* p, int64_t step, int64_t v, bool vector) {
  Vec<T, kVec> r;
  if (step == 0) {
    T s = *reinterpret_cast<const T*>(p);
#pragma unroll
    for (int j = 0; j < kVec; j++) r.v[j] = s;
  } else if (vector) {
    r = reinterpret_cast<const Vec<T, kVec>*>(p)[v];
  } else {
#pragma unroll
    for (int j = 0; j < kVec; j++) r.v[j] = reinterpret_cast<const T*>(p)[v * kVec + j];
  }
  return r;
}

template <typename Out, typename... In, typename F, size_t... I>
__device__ inline void flat_step(const FlatArgs<1 + sizeof...(In)>& a, int64_t v, bool vector, F& f,
                                 std::index_sequence<I...>) {
  Loaded<In...> l;
  ((get<I>(l) = load_vec<In>(a.p[I + 1], a.step[I + 1], v, vector)), ...);
  Vec<Out, kVec> r;
#pragma unroll
  for (int j = 0; j < kVec; j++) r.v[j] = f(get<I>(l).v[j]...);
  if (vector) {
    reinterpret_cast<Vec<Out, kVec>*>(a.p[0])[v] = r;
  } else {
#pragma unroll
    for (int j = 0; j < kVec; j++) reinterpret_cast<Out*>(a.p[0])[v * kVec + j] = r.v[j];
  }
}

// nvec groups of kVec elements from the start of each operand
template <typename F, typename Out, typename... In>
__global__ void flat_kernel(FlatArgs<1 + sizeof...(In)> a, int64_t nvec, bool vector, F f) {
  for (int64_t v = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; v < nvec; v += (int64_t)gridDim.x * blockDim.x)
    flat_step<Out, In...>(a, v, vector, f, std::index_sequence_for<In...>{});
}

template <typename Out, typename... In, typename F, size_t... I>
__device__ inline void strided_step(char** p, F& f, std::index_sequence<I...>) {
  *reinterpret_cast<Out*>(p[0]) = f(*reinterpret_cast<const In*>(p[I + 1])...);
}

// `first` skips the elements the flat kernel already did (the tail of a flat launch)
template <typename F, typename Out, typename... In>
__global__ void strided_kernel(OffsetCalc<1 + sizeof...(In)> oc, int64_t first, int64_t n, F f) {
  for (int64_t i = first + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    char* p[1 + sizeof...(In)];
    oc.ptrs(i, p);
    strided_step<Out, In...>(p, f, std::index_sequence_for<In...>{});
  }
}

template <typename... T> inline bool flat_iter(const ElemIter& it, FlatArgs<sizeof...(T)>& a) {
  if (it.shape.size() != 1) return false;
  const int64_t sizes[] = {(int64_t)sizeof(T)...};
  bool ok = true;
  for (int k = 0; k < it.nops; k++) {
    int64_t s = it.strides[k][0];
    ok = ok && (s == sizes[k] || (s == 0 && k > 0));
    a.p[k] = it.base[k];
    a.step[k] = s;
  }
  return ok;
}

template <typename... T> inline bool aligned(const FlatArgs<sizeof...(T)>& a) {
  const size_t bytes[] = {sizeof(T) * kVec...};
  for (size_t k = 0; k < sizeof...(T); k++)
    if (a.step[k] != 0 && reinterpret_cast<uintptr_t>(a.p[k]) % bytes[k] != 0) return false;
  return true;
}

// Runs f over `it` on device `index`'s current stream. Out and In... are device types.
template <typename Out, typename... In, typename F>
void launch_elementwise(const ElemIter& it, int index, const char* op, F f) {
  constexpr int N = 1 + sizeof...(In);
  if (it.numel == 0) return;
  DeviceGuard guard(index);
  cudaStream_t s = stream(index);
  OffsetCalc<N> oc = make_offset_calc<N>(it, op);
  FlatArgs<N> a;
  int64_t done = 0;
  if (flat_iter<Out, In...>(it, a)) {
    int64_t nvec = it.numel / kVec;
    if (nvec > 0) {
      flat_kernel<F, Out, In...><<<grid_for(nvec), kThreads, 0, s>>>(a, nvec, aligned<Out, In...>(a), f);
      PYML_CUDA_LAUNCH_CHECK(op);
    }
    done = nvec * kVec;
  }
  if (done < it.numel) {
    strided_kernel<F, Out, In...><<<grid_for(it.numel - done), kThreads, 0, s>>>(oc, done, it.numel, f);
    PYML_CUDA_LAUNCH_CHECK(op);
  }
}

}  // namespace cuda
}  // namespace pyml
