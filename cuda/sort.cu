// CUDA sort family: sort, topk, kthvalue, median, mode along a dim of any strides, and the
// row sort and grouping steps of unique. Every element becomes an order-preserving unsigned key
// (uint32 for types up to 32 bits, uint64 for int64/float64; NaN above +inf, -0.0 equal to 0.0,
// descending = inverted keys), so the sorting kernels exist for two key types only. Each line is
// sorted by (key, position): a strict total order, so the result is stable and deterministic.
// - lines up to kTile (2048) elements: a bitonic network in shared memory, padded with maximal
//   keys to a power of 2; short lines share a block (kTile / P lines of P elements);
// - longer lines: tiles of kTile sorted that way, then merge passes doubling the run width; each
//   element finds its place in the merged pair by a binary search in the other run.
// Values are then gathered from the input by the sorted positions (-0.0 and NaN payloads kept).
// topk sorts whole lines and keeps k; kthvalue/median/mode pick one position per sorted line.
#include "reduce_common.cuh"

namespace pyml {
namespace {

using cuda::convert;

constexpr int kTile = 2048, kSortThreads = 512;

template <typename T> using key_of = std::conditional_t<(sizeof(T) <= 4), uint32_t, uint64_t>;

template <typename T> __device__ inline key_of<T> to_key(T v, bool desc) {
  using K = key_of<T>;
  constexpr K kSign = K(1) << (sizeof(K) * 8 - 1);
  K k;
  if constexpr (cuda::is_float_v<T>) {
    using F = std::conditional_t<std::is_same_v<T, double>, double, float>;
    F f = convert<F>(v);
    if (f != f) {
      k = ~K(0);
    } else {
      if (f == F(0)) f = F(0);  // -0.0 sorts as 0.0
      K bits;
      if constexpr (sizeof(F) == 4) bits = __float_as_uint(f); else bits = (K)__double_as_longlong(f);
      k = (bits & kSign) ? ~bits : (bits | kSign);
    }
  } else if constexpr (std::is_signed_v<T>) {
    k = K(std::make_signed_t<K>(v)) ^ kSign;
  } else {
    k = K(v);  // bool, uint8
  }
  return desc ? ~k : k;
}

struct LineShape {
  cuda::Geom lines;  // line index -> (input offset, output offset)
  int64_t nlines, n, sin, sout;
};

LineShape line_shape(const LineParams& p, const char* op) {
  return {cuda::make_geom(p.lines, op), p.lines.numel(), p.n, p.sin, p.sout};
}

// keys: (nlines, n) contiguous, keys[l, i] = key of line l's element i
template <typename T>
__global__ void keys_kernel(const T* x, LineShape L, bool desc, key_of<T>* keys) {
  int64_t N = L.nlines * L.n;
  for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < N; f += (int64_t)gridDim.x * blockDim.x) {
    int64_t l = f / L.n, i = f - l * L.n, ia, ob;
    L.lines.offsets(l, ia, ob);
    keys[f] = to_key(x[ia + i * L.sin], desc);
  }
}

template <typename K> __device__ inline bool item_less(K ka, int64_t ia, K kb, int64_t ib) {
  return ka < kb || (ka == kb && ia < ib);
}

// Sorts each aligned segment of P elements (a power of 2) of the kTile items in shared memory
// ascending by (key, position). Every thread of the block calls it.
template <typename K> __device__ void bitonic_segments(K* sk, int32_t* si, int P) {
  for (int k = 2; k <= P; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int t = threadIdx.x; t < kTile / 2; t += blockDim.x) {
        int i = 2 * t - (t & (j - 1)), l = i + j;  // pair (i, i + j): bit j of i is clear
        bool up = ((i & (P - 1)) & k) == 0;       // direction from the position within the segment
        K ki = sk[i], kl = sk[l];
        int32_t ii = si[i], il = si[l];
        if (item_less(kl, il, ki, ii) == up) { sk[i] = kl; sk[l] = ki; si[i] = il; si[l] = ii; }
      }
      __syncthreads();
    }
  }
}

// keys/idx: (nlines, n). Segment s = (line, tile) covers line * n + tile * kTile, up to kTile
// elements; kTile / P segments per block. Keys are sorted in place; idx gets positions in the line.
template <typename K>
__global__ void tile_sort_kernel(K* keys, int64_t* idx, int64_t nlines, int64_t n, int64_t ntiles, int P) {
  __shared__ K sk[kTile];
  __shared__ int32_t si[kTile];
  const int per = kTile / P;
  const int64_t nseg = nlines * ntiles, nblk = (nseg + per - 1) / per;
  for (int64_t b = blockIdx.x; b < nblk; b += gridDim.x) {
    for (int i = threadIdx.x; i < kTile; i += blockDim.x) {
      int64_t seg = b * per + i / P, line = seg / ntiles, t0 = (seg - line * ntiles) * kTile;
      int loc = i % P;
      bool real = seg < nseg && loc < n - t0 && loc < kTile;
      sk[i] = real ? keys[line * n + t0 + loc] : ~K(0);  // pads sort after every real item
      si[i] = loc;
    }
    __syncthreads();
    bitonic_segments(sk, si, P);
    for (int i = threadIdx.x; i < kTile; i += blockDim.x) {
      int64_t seg = b * per + i / P, line = seg / ntiles, t0 = (seg - line * ntiles) * kTile;
      int loc = i % P;
      if (seg < nseg && loc < n - t0) {
        keys[line * n + t0 + loc] = sk[i];
        idx[line * n + t0 + loc] = t0 + si[i];
      }
    }
    __syncthreads();
  }
}

// One merge pass over (nlines, n): sorted runs of width w, pairs merged into runs of 2w. An
// element's place = its rank in its own run + the number of items of the other run before it.
template <typename K>
__global__ void merge_pass_kernel(const K* kin, const int64_t* iin, K* kout, int64_t* iout, int64_t nlines, int64_t n,
                                  int64_t w) {
  int64_t N = nlines * n;
  for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < N; f += (int64_t)gridDim.x * blockDim.x) {
    int64_t line = f / n, p = f - line * n, base = line * n, run = p / w, start = (run - (run & 1)) * w;
    K k = kin[f];
    int64_t id = iin[f], lo, hi, dest;
    if ((run & 1) == 0) { lo = start + w; hi = min(start + 2 * w, n); dest = p; }
    else { lo = start; hi = start + w; dest = p - w; }
    if (hi < lo) hi = lo;  // a last run with no partner
    int64_t a = lo, b = hi;
    while (a < b) {
      int64_t mid = a + (b - a) / 2;
      if (item_less(kin[base + mid], iin[base + mid], k, id)) a = mid + 1; else b = mid;
    }
    dest += a - lo;
    kout[base + dest] = k;
    iout[base + dest] = id;
  }
}

// Sorted lines: keys and positions, in the caller's buffers or in `scratch` (held with them).
template <typename K> struct Sorted {
  K* keys;
  int64_t* pos;
  Tensor idx, scratch;
};

// keys: (nlines, n) contiguous, sorted in place per line by (key, position); idx: (nlines, n).
template <typename K>
Sorted<K> sort_lines(K* keys, int64_t* idx, int64_t nlines, int64_t n, int index, const char* op) {
  cudaStream_t st = cuda::stream(index);
  int64_t ntiles = (n + kTile - 1) / kTile;
  int P = cuda::pow2_at_least(std::min<int64_t>(n, kTile), kTile);
  int64_t per = kTile / P, nblk = (nlines * ntiles + per - 1) / per;
  tile_sort_kernel<K><<<cuda::blocks_for(nblk), kSortThreads, 0, st>>>(keys, idx, nlines, n, ntiles, P);
  PYML_CUDA_LAUNCH_CHECK(op);
  Sorted<K> r{keys, idx, Tensor(), Tensor()};
  if (ntiles == 1) return r;
  int64_t N = nlines * n;
  r.scratch = empty({N * (int64_t)(8 + sizeof(K))}, DType::UInt8, Device{Device::CUDA, (int8_t)index});
  int64_t* i2 = reinterpret_cast<int64_t*>(r.scratch.data());
  K* k2 = reinterpret_cast<K*>(i2 + N);
  for (int64_t w = kTile; w < n; w *= 2) {
    merge_pass_kernel<K><<<cuda::grid_for(N), cuda::kThreads, 0, st>>>(r.keys, r.pos, k2, i2, nlines, n, w);
    PYML_CUDA_LAUNCH_CHECK(op);
    std::swap(r.keys, k2);
    std::swap(r.pos, i2);
  }
  return r;
}

// out[l, j] = x[l, pos[l * pstride + j]] and outi[l, j] = that position, for j < cnt
template <typename T>
__global__ void gather_kernel(const T* x, LineShape L, const int64_t* pos, int64_t pstride, int64_t cnt, T* out,
                              int64_t* outi) {
  int64_t N = L.nlines * cnt;
  for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < N; f += (int64_t)gridDim.x * blockDim.x) {
    int64_t l = f / cnt, j = f - l * cnt, ia, ob;
    L.lines.offsets(l, ia, ob);
    int64_t q = pos[l * pstride + j];
    out[ob + j * L.sout] = x[ia + q * L.sin];
    outi[ob + j * L.sout] = q;
  }
}

enum PickMode : int { kKth, kMedian, kNanMedian, kMode };

// One position per ascending sorted line: sel[l] = pos[l, j] for the j the mode asks for.
// median: the lower median, or the first NaN (by index) when the line has one (the NaN key is
// the maximal key); nanmedian skips NaNs. mode: the longest run of equal keys (the first, so the
// smallest value, on ties), at its last position, which is its largest index.
template <typename K>
__global__ void pick_kernel(const K* keys, const int64_t* pos, int64_t nlines, int64_t n, int mode, int64_t k,
                            bool has_nan, int64_t* sel) {
  for (int64_t l = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; l < nlines; l += (int64_t)gridDim.x * blockDim.x) {
    const K* kl = keys + l * n;
    int64_t j = k - 1;
    if (mode == kMedian || mode == kNanMedian) {
      int64_t a = 0, b = n;  // first NaN key
      while (has_nan && a < b) {
        int64_t mid = a + (b - a) / 2;
        if (kl[mid] != ~K(0)) a = mid + 1; else b = mid;
      }
      int64_t nans = has_nan ? n - a : 0, m = n - nans;
      if (mode == kNanMedian) j = m == 0 ? 0 : (m - 1) / 2;
      else j = nans ? m : (n - 1) / 2;
    } else if (mode == kMode) {
      int64_t best = 0, best_len = 0;
      for (int64_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && kl[b] == kl[a];) b++;
        if (b - a > best_len) { best_len = b - a; best = b - 1; }
      }
      j = best;
    }
    sel[l] = pos[l * n + j];
  }
}

// Keys of every line of p, sorted.
template <typename T> Sorted<key_of<T>> sort_params(const LineParams& p, bool desc, Tensor& keys, int index,
                                                    const char* op) {
  using K = key_of<T>;
  LineShape L = line_shape(p, op);
  int64_t N = L.nlines * L.n;
  Device dev{Device::CUDA, (int8_t)index};
  keys = empty({N * (int64_t)sizeof(K)}, DType::UInt8, dev);
  Tensor idx = empty({N}, DType::Int64, dev);
  keys_kernel<T><<<cuda::grid_for(N), cuda::kThreads, 0, cuda::stream(index)>>>(
      reinterpret_cast<const T*>(p.in), L, desc, reinterpret_cast<K*>(keys.data()));
  PYML_CUDA_LAUNCH_CHECK(op);
  Sorted<K> s = sort_lines<K>(reinterpret_cast<K*>(keys.data()), idx.ptr<int64_t>(), L.nlines, L.n, index, op);
  s.idx = idx;
  return s;
}

// sort (cnt = n) and topk (cnt = k): the first cnt items of each sorted line
void sorted_prefix(const LineParams& p, bool desc, int64_t cnt, int index, const char* op) {
  cuda::DeviceGuard guard(index);
  LineShape L = line_shape(p, op);
  if (L.nlines == 0 || L.n == 0 || cnt == 0) return;
  PYML_CUDA_DISPATCH_ALL(p.dtype, op, [&] {
    Tensor keys;
    auto s = sort_params<scalar_t>(p, desc, keys, index, op);
    gather_kernel<scalar_t><<<cuda::grid_for(L.nlines * cnt), cuda::kThreads, 0, cuda::stream(index)>>>(
        reinterpret_cast<const scalar_t*>(p.in), L, s.pos, L.n, cnt, reinterpret_cast<scalar_t*>(p.out), p.idx);
    PYML_CUDA_LAUNCH_CHECK(op);
  });
}

// kthvalue, median, mode: one item per line (the output dim removed, so p.sout is unused)
void pick(const LineParams& p, int mode, int index, const char* op) {
  cuda::DeviceGuard guard(index);
  LineShape L = line_shape(p, op);
  if (L.nlines == 0 || L.n == 0) return;
  cudaStream_t st = cuda::stream(index);
  Tensor sel = empty({L.nlines}, DType::Int64, Device{Device::CUDA, (int8_t)index});
  PYML_CUDA_DISPATCH_ALL(p.dtype, op, [&] {
    Tensor keys;
    auto s = sort_params<scalar_t>(p, false, keys, index, op);
    pick_kernel<key_of<scalar_t>><<<cuda::grid_for(L.nlines), cuda::kThreads, 0, st>>>(
        s.keys, s.pos, L.nlines, L.n, mode, p.k, cuda::is_float_v<scalar_t>, sel.ptr<int64_t>());
    PYML_CUDA_LAUNCH_CHECK(op);
    gather_kernel<scalar_t><<<cuda::grid_for(L.nlines), cuda::kThreads, 0, st>>>(
        reinterpret_cast<const scalar_t*>(p.in), L, sel.ptr<int64_t>(), 1, 1, reinterpret_cast<scalar_t*>(p.out),
        p.idx);
    PYML_CUDA_LAUNCH_CHECK(op);
  });
}

// ------------------------------------------------------------------------- unique
__global__ void iota_kernel(int64_t* o, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) o[i] = i;
}

// x: (n, m) contiguous; keys[i] = key of x[order[i], c]
template <typename T>
__global__ void column_keys_kernel(const T* x, int64_t n, int64_t m, int64_t c, const int64_t* order,
                                   key_of<T>* keys) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    keys[i] = to_key(x[order[i] * m + c], false);
}

// dst[i] = src[perm[i]]
__global__ void permute_kernel(const int64_t* src, const int64_t* perm, int64_t n, int64_t* dst) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = src[perm[i]];
}

// flags[i] = 1 where row order[i] differs from row order[i - 1] (== per column; NaN never equal)
template <typename T>
__global__ void flags_kernel(const T* x, int64_t n, int64_t m, const int64_t* order, int64_t* flags) {
  using U = cuda::acc_t<T>;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t f = i == 0;
    if (i > 0) {
      int64_t ra = order ? order[i] : i, rb = order ? order[i - 1] : i - 1;
      for (int64_t c = 0; c < m && !f; c++) f = !(convert<U>(x[ra * m + c]) == convert<U>(x[rb * m + c]));
    }
    flags[i] = f;
  }
}

// cs: inclusive count of flags -> group ids and each group's first position
__global__ void groups_kernel(const int64_t* cs, int64_t n, int64_t* group, int64_t* first) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t g = cs[i] - 1;
    group[i] = g;
    if (i == 0 || cs[i] != cs[i - 1]) first[g] = i;
  }
}

// values (ng, m) = rows order[first[g]] of x (E: an unsigned type of the element's size)
template <typename E>
__global__ void group_values_kernel(const E* x, int64_t m, const int64_t* order, const int64_t* first, int64_t ng,
                                    E* values) {
  for (int64_t f = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; f < ng * m; f += (int64_t)gridDim.x * blockDim.x) {
    int64_t g = f / m, c = f - g * m, q = first[g], row = order ? order[q] : q;
    values[f] = x[row * m + c];
  }
}

__global__ void group_counts_kernel(const int64_t* first, int64_t ng, int64_t n, int64_t* counts) {
  for (int64_t g = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; g < ng; g += (int64_t)gridDim.x * blockDim.x)
    counts[g] = (g + 1 < ng ? first[g + 1] : n) - first[g];
}

__global__ void inverse_kernel(const int64_t* group, const int64_t* perm, int64_t n, int64_t* inv) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    inv[perm ? perm[i] : i] = group[i];
}

}  // namespace

// LSD: one stable sort per column, last column first, each ordering the rows as left by the
// previous one; ties keep that order, so the result is lexicographic and stable.
void sort_rows_cuda(DType dtype, const char* x, int64_t n, int64_t m, int64_t* order, int index) {
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  if (n == 0) return;
  iota_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(order, n);
  PYML_CUDA_LAUNCH_CHECK("unique");
  if (n == 1) return;
  Device dev{Device::CUDA, (int8_t)index};
  Tensor tmp = empty({n}, DType::Int64, dev), idx = empty({n}, DType::Int64, dev);
  PYML_CUDA_DISPATCH_ALL(dtype, "unique", [&] {
    using K = key_of<scalar_t>;
    Tensor keys = empty({n * (int64_t)sizeof(K)}, DType::UInt8, dev);
    K* kp = reinterpret_cast<K*>(keys.data());
    for (int64_t c = m - 1; c >= 0; c--) {
      column_keys_kernel<scalar_t><<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(
          reinterpret_cast<const scalar_t*>(x), n, m, c, order, kp);
      PYML_CUDA_LAUNCH_CHECK("unique");
      Sorted<K> s = sort_lines<K>(kp, idx.ptr<int64_t>(), 1, n, index, "unique");
      permute_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(order, s.pos, n, tmp.ptr<int64_t>());
      PYML_CUDA_LAUNCH_CHECK("unique");
      cuda_memcpy(order, tmp.data(), n * 8, CopyKind::DeviceToDevice, index);
    }
  });
}

int64_t group_runs_cuda(DType dtype, const char* x, int64_t n, int64_t m, const int64_t* order, int64_t* group,
                        int64_t* first, int index) {
  if (n == 0) return 0;
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  Device dev{Device::CUDA, (int8_t)index};
  Tensor flags = empty({n}, DType::Int64, dev), cs = empty({n}, DType::Int64, dev);
  PYML_CUDA_DISPATCH_ALL(dtype, "unique", [&] {
    flags_kernel<scalar_t><<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(
        reinterpret_cast<const scalar_t*>(x), n, m, order, flags.ptr<int64_t>());
  });
  PYML_CUDA_LAUNCH_CHECK("unique");
  LineParams lp;  // one line of n int64 flags -> their running count
  lp.dtype = DType::Int64; lp.in = flags.data(); lp.out = cs.data(); lp.n = n; lp.sin = 1; lp.sout = 1;
  scan_cuda(ScanKind::CumSum, lp, index);
  groups_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(cs.ptr<int64_t>(), n, group, first);
  PYML_CUDA_LAUNCH_CHECK("unique");
  int64_t ng = 0;
  cuda_memcpy(&ng, cs.ptr<int64_t>() + (n - 1), sizeof(int64_t), CopyKind::DeviceToHost, index);
  return ng;
}

void group_outputs_cuda(DType dtype, const char* x, int64_t n, int64_t m, const int64_t* order, const int64_t* group,
                        const int64_t* first, int64_t ng, const int64_t* perm, char* values, int64_t* counts,
                        int64_t* inv, int index) {
  cuda::DeviceGuard guard(index);
  cudaStream_t st = cuda::stream(index);
  auto copy_values = [&](auto e) {
    using E = decltype(e);
    group_values_kernel<E><<<cuda::grid_for(ng * m), cuda::kThreads, 0, st>>>(
        reinterpret_cast<const E*>(x), m, order, first, ng, reinterpret_cast<E*>(values));
  };
  if (values && ng * m > 0) {
    switch (itemsize(dtype)) {
      case 1: copy_values(uint8_t()); break;
      case 2: copy_values(uint16_t()); break;
      case 4: copy_values(uint32_t()); break;
      case 8: copy_values(uint64_t()); break;
      default: copy_values(uint4()); break;
    }
    PYML_CUDA_LAUNCH_CHECK("unique");
  }
  if (counts && ng > 0) {
    group_counts_kernel<<<cuda::grid_for(ng), cuda::kThreads, 0, st>>>(first, ng, n, counts);
    PYML_CUDA_LAUNCH_CHECK("unique");
  }
  if (inv && n > 0) {
    inverse_kernel<<<cuda::grid_for(n), cuda::kThreads, 0, st>>>(group, perm, n, inv);
    PYML_CUDA_LAUNCH_CHECK("unique");
  }
}

void sort_cuda(const LineParams& p, int index) { sorted_prefix(p, p.flag, p.n, index, "sort"); }
void topk_cuda(const LineParams& p, int index) { sorted_prefix(p, p.flag, p.k, index, "topk"); }
void kthvalue_cuda(const LineParams& p, int index) { pick(p, kKth, index, "kthvalue"); }
void median_cuda(const LineParams& p, int index) {
  pick(p, p.flag ? kNanMedian : kMedian, index, p.flag ? "nanmedian" : "median");
}
void mode_cuda(const LineParams& p, int index) { pick(p, kMode, index, "mode"); }

}  // namespace pyml
