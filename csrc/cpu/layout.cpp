// CPU kernels of the layout family. remap_cpu writes a contiguous output whose every dim reads the
// source through an index map (flip: n-1-o, roll: (o-shift) mod n, reflect/replicate/circular
// pads); identity dims need no map. Rows of the last dim are the unit of work: a row with an
// identity map and unit stride is one memcpy, otherwise a table-driven loop. Threads split rows.
// tri_zero_cpu clears the outside of a triangle in place with memset (zero bits are 0 in every dtype).
#include <cstring>
#include "ops/index.h"
#include "core/parallel.h"

namespace pyml {
namespace {

struct Bytes16 { uint64_t lo, hi; };  // a complex128 element, moved as a whole


template <typename T>
void remap_row(char* o, const char* src, int64_t n, int64_t stride, const int64_t* map) {
  T* __restrict out = reinterpret_cast<T*>(o);
  if (map) {
    for (int64_t i = 0; i < n; i++) out[i] = *reinterpret_cast<const T*>(src + map[i] * stride);
  } else {
    for (int64_t i = 0; i < n; i++) out[i] = *reinterpret_cast<const T*>(src + i * stride);
  }
}

template <typename T> void remap_typed(const RemapParams& p) {
  int64_t nd = (int64_t)p.shape.size();
  int64_t L = p.shape[nd - 1], rows = shape_numel(p.shape) / L;
  int64_t row_bytes = L * p.itemsize, inner = p.src_strides[nd - 1];
  const int64_t* inner_map = p.maps[nd - 1];
  bool plain = !inner_map && inner == p.itemsize;
  parallel_for(0, rows, std::max<int64_t>(1, 32768 / L), [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(nd - 1, 0);
    for (int64_t d = nd - 2, r = b; d >= 0; d--) { idx[d] = r % p.shape[d]; r /= p.shape[d]; }
    for (int64_t r = b; r < e; r++) {
      const char* src = p.src;
      for (int64_t d = 0; d < nd - 1; d++) src += (p.maps[d] ? p.maps[d][idx[d]] : idx[d]) * p.src_strides[d];
      char* o = p.out + r * row_bytes;
      if (plain) std::memcpy(o, src, row_bytes);
      else remap_row<T>(o, src, L, inner, inner_map);
      for (int64_t d = nd - 2; d >= 0 && ++idx[d] == p.shape[d]; d--) idx[d] = 0;
    }
  });
}

}  // namespace

void remap_cpu(const RemapParams& p) {
  if (shape_numel(p.shape) == 0) return;
  if (p.shape.empty()) { std::memcpy(p.out, p.src, p.itemsize); return; }
  switch (p.itemsize) {
    case 1: remap_typed<uint8_t>(p); break;
    case 2: remap_typed<uint16_t>(p); break;
    case 4: remap_typed<uint32_t>(p); break;
    case 8: remap_typed<uint64_t>(p); break;
    default: remap_typed<Bytes16>(p); break;  // complex128
  }
}

// data: (batch, R, C) contiguous
void tri_zero_cpu(char* data, int64_t batch, int64_t R, int64_t C, int64_t itemsize, int64_t diagonal, bool upper) {
  int64_t rows = batch * R;
  parallel_for(0, rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(C, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      int64_t i = r % R;
      char* row = data + r * C * itemsize;
      if (upper) {  // zero columns j < i + diagonal
        int64_t hi = std::min(C, std::max<int64_t>(0, i + diagonal));
        std::memset(row, 0, hi * itemsize);
      } else {      // zero columns j > i + diagonal
        int64_t lo = std::min(C, std::max<int64_t>(0, i + diagonal + 1));
        std::memset(row + lo * itemsize, 0, (C - lo) * itemsize);
      }
    }
  });
}

}  // namespace pyml
