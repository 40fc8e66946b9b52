// CPU kernels of the indexing family: advanced-index gather/put, gather/scatter along a dim,
// where, masked_fill, nonzero. Index values arrive validated and as int64 (byte offsets for the
// advanced-index kernels), so loops index memory directly. Pure data movement dispatches on the
// item size only (one instantiation per 1/2/4/8 bytes); arithmetic (accumulate, reduce) on dtype.
// Parallelism: elementwise-shaped kernels split the ElemIter's flat range; scatter splits the
// positions off the scatter dim, which never collide, so no atomics are needed.
#include <cstring>
#include "ops/index.h"
#include "core/parallel.h"

namespace pyml {
namespace {

struct Bytes16 { uint64_t lo, hi; };  // a complex128 element, moved as a whole


template <typename T> inline T& at(char* p) { return *reinterpret_cast<T*>(p); }
template <typename T> inline const T& at(const char* p) { return *reinterpret_cast<const T*>(p); }

// run f(T) with T a plain type of the given item size (16 bytes: complex128)
template <typename F> void by_size(int64_t itemsize, const F& f) {
  switch (itemsize) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: f(Bytes16{}); break;
  }
}

template <typename F> void run_iter(const ElemIter& it, int64_t grain, const F& row) {
  if (it.numel == 0) return;
  parallel_for(0, it.numel, grain, [&](int64_t b, int64_t e) { it.for_each_row(b, e, row); });
}

// ---------------------------------------------------------------- advanced index
template <typename T> void gather_row(char** p, const int64_t* s, int64_t n) {
  char* o = p[0];
  const char* x = p[1];
  const char* off = p[2];
  if (s[2] == 0) {  // one offset for the whole row (the index dims are outer): a plain copy
    x += at<int64_t>(off);
    if (s[0] == (int64_t)sizeof(T) && s[1] == (int64_t)sizeof(T)) { std::memcpy(o, x, n * sizeof(T)); return; }
    for (int64_t i = 0; i < n; i++) at<T>(o + i * s[0]) = at<T>(x + i * s[1]);
    return;
  }
  for (int64_t i = 0; i < n; i++) at<T>(o + i * s[0]) = at<T>(x + i * s[1] + at<int64_t>(off + i * s[2]));
}

template <typename T> void put_row(char** p, const int64_t* s, int64_t n) {
  for (int64_t i = 0; i < n; i++) at<T>(p[0] + i * s[0] + at<int64_t>(p[2] + i * s[2])) = at<T>(p[1] + i * s[1]);
}

template <typename T> void accumulate_row(char** p, const int64_t* s, int64_t n) {
  using U = typename OpMath<T>::type;
  for (int64_t i = 0; i < n; i++) {
    T& d = at<T>(p[0] + i * s[0] + at<int64_t>(p[2] + i * s[2]));
    d = static_cast<T>(static_cast<U>(d) + static_cast<U>(at<T>(p[1] + i * s[1])));
  }
}

}  // namespace

void index_gather_cpu(const ElemIter& it, int64_t itemsize) {
  by_size(itemsize, [&](auto tag) { run_iter(it, 32768, gather_row<decltype(tag)>); });
}

void index_put_cpu(const ElemIter& it, DType dtype, bool accumulate) {
  if (!accumulate) {  // duplicate indices race benignly: one of the written values wins
    by_size(itemsize(dtype), [&](auto tag) { run_iter(it, 32768, put_row<decltype(tag)>); });
    return;
  }
  // duplicates must all add up: serial
  if (it.numel == 0) return;
  PYML_DISPATCH_ALL(dtype, "index_put_", [&] { it.for_each_row(0, it.numel, accumulate_row<scalar_t>); });
}

void index_offsets_cpu(int64_t* off, const int64_t* idx, int64_t n, int64_t size, int64_t stride, bool first) {
  parallel_for(0, n, 65536, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      int64_t v = idx[i];
      v += v < 0 ? size : 0;
      off[i] = (first ? 0 : off[i]) + v * stride;
    }
  });
}

// ---------------------------------------------------------------- gather / scatter along a dim
namespace {

template <typename T> struct AssignOp { static void f(T& d, T v) { d = v; } };
template <typename T> struct AddOp {
  static void f(T& d, T v) { using U = typename OpMath<T>::type; d = static_cast<T>(U(d) + U(v)); }
};
template <typename T> struct MulOp {
  static void f(T& d, T v) {
    using U = typename OpMath<T>::type;
    if constexpr (std::is_same_v<T, bool>) d = d && v; else d = static_cast<T>(U(d) * U(v));
  }
};
template <typename T> struct MaxOp {  // NaN propagates, like torch's amax
  static void f(T& d, T v) { using U = typename OpMath<T>::type; U a = d, b = v; if (b > a || b != b) d = v; }
};
template <typename T> struct MinOp {
  static void f(T& d, T v) { using U = typename OpMath<T>::type; U a = d, b = v; if (b < a || b != b) d = v; }
};

template <typename T, template <typename> class Op>
void scatter_loop(const ElemIter& it, const ScatterGatherParams& p, int64_t grain) {
  run_iter(it, grain, [&](char** ptr, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
      char* d = ptr[0] + i * s[0];
      const char* src = ptr[1] + i * s[1];
      const char* idx = ptr[2] + i * s[2];
      for (int64_t j = 0; j < p.len; j++)
        Op<T>::f(at<T>(d + at<int64_t>(idx + j * p.idx_stride) * p.dst_stride), at<T>(src + j * p.src_stride));
    }
  });
}

template <typename T> void gather_loop(const ElemIter& it, const ScatterGatherParams& p, int64_t grain) {
  run_iter(it, grain, [&](char** ptr, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
      char* d = ptr[0] + i * s[0];
      const char* src = ptr[1] + i * s[1];
      const char* idx = ptr[2] + i * s[2];
      for (int64_t j = 0; j < p.len; j++)
        at<T>(d + j * p.dst_stride) = at<T>(src + at<int64_t>(idx + j * p.idx_stride) * p.src_stride);
    }
  });
}

}  // namespace

void scatter_gather_cpu(const ElemIter& it, const ScatterGatherParams& p) {
  if (p.len == 0) return;
  int64_t grain = std::max<int64_t>(1, 32768 / p.len);
  if (!p.scatter) {
    by_size(itemsize(p.dtype), [&](auto tag) { gather_loop<decltype(tag)>(it, p, grain); });
  } else if (p.op == ScatterOp::Assign) {
    by_size(itemsize(p.dtype), [&](auto tag) { scatter_loop<decltype(tag), AssignOp>(it, p, grain); });
  } else {
    PYML_DISPATCH_ALL(p.dtype, "scatter", [&] {
      switch (p.op) {
        case ScatterOp::Add: scatter_loop<scalar_t, AddOp>(it, p, grain); break;
        case ScatterOp::Mul: scatter_loop<scalar_t, MulOp>(it, p, grain); break;
        case ScatterOp::Max: scatter_loop<scalar_t, MaxOp>(it, p, grain); break;
        default: scatter_loop<scalar_t, MinOp>(it, p, grain); break;
      }
    });
  }
}

// ---------------------------------------------------------------- where / masked_fill
namespace {
template <typename T> void where_row(char** p, const int64_t* s, int64_t n) {
  if (s[0] == (int64_t)sizeof(T) && s[1] == 1 && s[2] == (int64_t)sizeof(T) && s[3] == (int64_t)sizeof(T)) {
    T* __restrict o = reinterpret_cast<T*>(p[0]);
    const bool* __restrict c = reinterpret_cast<const bool*>(p[1]);
    const T* __restrict x = reinterpret_cast<const T*>(p[2]);
    const T* __restrict y = reinterpret_cast<const T*>(p[3]);
    for (int64_t i = 0; i < n; i++) o[i] = c[i] ? x[i] : y[i];
    return;
  }
  for (int64_t i = 0; i < n; i++)
    at<T>(p[0] + i * s[0]) = at<bool>(p[1] + i * s[1]) ? at<T>(p[2] + i * s[2]) : at<T>(p[3] + i * s[3]);
}
}  // namespace

void where_cpu(const ElemIter& it, int64_t itemsize) {
  by_size(itemsize, [&](auto tag) { run_iter(it, 32768, where_row<decltype(tag)>); });
}

void masked_fill_cpu(const ElemIter& it, int64_t itemsize, const void* value) {
  by_size(itemsize, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    run_iter(it, 32768, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == (int64_t)sizeof(T) && s[1] == 1) {
        T* __restrict x = reinterpret_cast<T*>(p[0]);
        const bool* __restrict m = reinterpret_cast<const bool*>(p[1]);
        for (int64_t i = 0; i < n; i++) x[i] = m[i] ? v : x[i];
        return;
      }
      for (int64_t i = 0; i < n; i++)
        if (at<bool>(p[1] + i * s[1])) at<T>(p[0] + i * s[0]) = v;
    });
  });
}

// ---------------------------------------------------------------- nonzero
static constexpr int64_t kNonzeroChunk = 1 << 16;

int64_t count_nonzero_cpu(const bool* mask, int64_t n) {
  int64_t chunks = (n + kNonzeroChunk - 1) / kNonzeroChunk;
  std::vector<int64_t> counts(chunks, 0);
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      const uint8_t* m = reinterpret_cast<const uint8_t*>(mask) + c * kNonzeroChunk;
      int64_t len = std::min(kNonzeroChunk, n - c * kNonzeroChunk), k = 0;
      for (int64_t i = 0; i < len; i++) k += m[i] != 0;
      counts[c] = k;
    }
  });
  int64_t total = 0;
  for (auto k : counts) total += k;
  return total;
}

// Each chunk counts its nonzeros, a prefix sum gives where its rows start, then every chunk
// writes its rows, walking a coordinate odometer from its first element.
void nonzero_cpu(const bool* mask, const Shape& shape, int64_t* out) {
  int64_t n = shape_numel(shape), nd = (int64_t)shape.size();
  int64_t chunks = (n + kNonzeroChunk - 1) / kNonzeroChunk;
  std::vector<int64_t> start(chunks + 1, 0);
  const uint8_t* m = reinterpret_cast<const uint8_t*>(mask);
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      int64_t hi = std::min(n, (c + 1) * kNonzeroChunk), k = 0;
      for (int64_t i = c * kNonzeroChunk; i < hi; i++) k += m[i] != 0;
      start[c + 1] = k;
    }
  });
  for (int64_t c = 0; c < chunks; c++) start[c + 1] += start[c];
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      int64_t lo = c * kNonzeroChunk, hi = std::min(n, lo + kNonzeroChunk);
      std::vector<int64_t> idx(nd);
      for (int64_t d = nd - 1, r = lo; d >= 0; d--) { idx[d] = r % shape[d]; r /= shape[d]; }
      int64_t* o = out + start[c] * nd;
      for (int64_t i = lo; i < hi; i++) {
        if (m[i]) { for (int64_t d = 0; d < nd; d++) *o++ = idx[d]; }
        for (int64_t d = nd - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
      }
    }
  });
}

void repeat_interleave_cpu(const int64_t* repeats, int64_t n, int64_t* out) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < repeats[i]; r++) *out++ = i;
}

}  // namespace pyml
