// CPU kernels of embedding (row gather), its backward (index-add of grad rows into dweight),
// max_norm renormalisation, and embedding_bag (sum/mean/max per bag) forward and backward.
// weight (V, D) and dout are contiguous; idx int64 (n,) already validated in [0, V).
// Index-add without atomics: the weight rows are split into fixed ranges; each task scans all
// indices and adds only the rows it owns, in index order, so duplicates accumulate
// deterministically whatever the thread count (the scan costs n compares per task, cheap
// next to the D-wide row adds).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "ops/norm.h"

namespace pyml {
namespace {

constexpr int64_t kGrain = 16384;

template <typename T> void add_row(T* dst, const T* src, int64_t D, T s) {
#pragma omp simd
  for (int64_t d = 0; d < D; d++) dst[d] += s * src[d];
}

template <typename T> void emb_backward(const T* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V,
                                        int64_t pad, bool freq, T* dw) {
  std::memset(dw, 0, sizeof(T) * V * D);
  for_chunks(V, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1)), [&](int64_t, int64_t v0, int64_t v1) {
    std::vector<int64_t> cnt(freq ? v1 - v0 : 0, 0);
    if (freq)
      for (int64_t i = 0; i < n; i++) if (idx[i] >= v0 && idx[i] < v1) cnt[idx[i] - v0]++;
    for (int64_t i = 0; i < n; i++) {
      int64_t v = idx[i];
      if (v < v0 || v >= v1 || v == pad) continue;
      add_row(dw + v * D, dout + i * D, D, freq ? T(1) / (T)cnt[v - v0] : T(1));
    }
  });
}

template <typename T> void renorm(T* w, int64_t D, const int64_t* rows, int64_t nrows, double max_norm, double p) {
  parallel_for(0, nrows, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      T* r = w + rows[i] * D;
      double s = 0;
      if (p == 1) { for (int64_t d = 0; d < D; d++) s += std::fabs((double)r[d]); }
      else if (p == 2) { for (int64_t d = 0; d < D; d++) s += (double)r[d] * (double)r[d]; s = std::sqrt(s); }
      else if (std::isinf(p)) { for (int64_t d = 0; d < D; d++) s = std::max(s, std::fabs((double)r[d])); }
      else { for (int64_t d = 0; d < D; d++) s += std::pow(std::fabs((double)r[d]), p); s = std::pow(s, 1.0 / p); }
      if (s > max_norm) {
        T scale = (T)(max_norm / (s + 1e-7));
        for (int64_t d = 0; d < D; d++) r[d] *= scale;
      }
    }
  });
}

// ------------------------------------------------------------------------------ embedding_bag
template <typename T> void bag_forward(const EmbeddingBagParams& p, T* out, int64_t* max_idx) {
  const T *w = (const T*)p.w, *psw = (const T*)p.psw;
  int64_t D = p.D;
  parallel_for(0, p.B, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1) / 4), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      T* o = out + b * D;
      int64_t* mi = max_idx ? max_idx + b * D : nullptr;
      std::fill(o, o + D, T(0));
      if (mi) std::fill(mi, mi + D, int64_t(-1));
      int64_t cnt = 0;
      for (int64_t j = p.offsets[b]; j < p.offsets[b + 1]; j++) {
        int64_t v = p.idx[j];
        if (v == p.padding_idx) continue;
        const T* r = w + v * D;
        if (p.mode == 2) {
          for (int64_t d = 0; d < D; d++)
            if (cnt == 0 || r[d] > o[d]) { o[d] = r[d]; mi[d] = v; }
        } else {
          add_row(o, r, D, psw ? psw[j] : T(1));
        }
        cnt++;
      }
      if (p.mode == 1 && cnt > 0) {
        T inv = T(1) / (T)cnt;
        for (int64_t d = 0; d < D; d++) o[d] *= inv;
      }
    }
  });
}

template <typename T> void bag_backward(const EmbeddingBagParams& p, const T* dout, const int64_t* max_idx,
                                        bool freq, T* dw, T* dpsw) {
  const T *w = (const T*)p.w, *psw = (const T*)p.psw;
  int64_t D = p.D, n = p.n, V = p.V, B = p.B;
  std::vector<int64_t> bag(n, -1); // bag of each index (-1: past the last bag)
  std::vector<T> scale(n, T(0));   // gradient scale of each index (0 for padding)
  for (int64_t b = 0; b < B; b++) {
    int64_t cnt = 0;
    for (int64_t j = p.offsets[b]; j < p.offsets[b + 1]; j++) { bag[j] = b; cnt += p.idx[j] != p.padding_idx; }
    for (int64_t j = p.offsets[b]; j < p.offsets[b + 1]; j++) {
      if (p.idx[j] == p.padding_idx) continue;
      scale[j] = p.mode == 1 ? T(1) / (T)cnt : (psw ? psw[j] : T(1));
    }
  }
  if (dpsw) {
    parallel_for(0, n, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1)), [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; j++) {
        if (bag[j] < 0 || p.idx[j] == p.padding_idx) { dpsw[j] = T(0); continue; }
        const T *g = dout + bag[j] * D, *r = w + p.idx[j] * D;
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += (double)g[d] * (double)r[d];
        dpsw[j] = (T)s;
      }
    });
  }
  if (!dw) return;
  std::memset(dw, 0, sizeof(T) * V * D);
  for_chunks(V, std::max<int64_t>(1, kGrain / std::max<int64_t>(D, 1)), [&](int64_t, int64_t v0, int64_t v1) {
    std::vector<int64_t> cnt(freq ? v1 - v0 : 0, 0);
    if (freq)
      for (int64_t j = 0; j < n; j++) if (p.idx[j] >= v0 && p.idx[j] < v1) cnt[p.idx[j] - v0]++;
    if (p.mode == 2) {
      for (int64_t e = 0; e < B * D; e++) {
        int64_t v = max_idx[e];
        if (v < v0 || v >= v1) continue;
        dw[v * D + e % D] += dout[e] * (freq ? T(1) / (T)cnt[v - v0] : T(1));
      }
      return;
    }
    for (int64_t j = 0; j < n; j++) {
      int64_t v = p.idx[j];
      if (v < v0 || v >= v1 || v == p.padding_idx || bag[j] < 0) continue;
      add_row(dw + v * D, dout + bag[j] * D, D, scale[j] * (freq ? T(1) / (T)cnt[v - v0] : T(1)));
    }
  });
}

}  // namespace

void embedding_forward_cpu(const void* weight, int64_t isz, int64_t D, const int64_t* idx, int64_t n, void* out) {
  const char* w = (const char*)weight;
  char* o = (char*)out;
  int64_t row = D * isz;
  parallel_for(0, n, std::max<int64_t>(1, kGrain * 4 / std::max<int64_t>(row, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) std::memcpy(o + i * row, w + idx[i] * row, row);
  });
}

void embedding_backward_cpu(DType dt, const void* dout, int64_t D, const int64_t* idx, int64_t n, int64_t V,
                            int64_t pad, bool freq, void* dw) {
  if (dt == DType::Float64) emb_backward<double>((const double*)dout, D, idx, n, V, pad, freq, (double*)dw);
  else emb_backward<float>((const float*)dout, D, idx, n, V, pad, freq, (float*)dw);
}

void embedding_renorm_cpu(DType dt, void* w, int64_t D, const int64_t* rows, int64_t nrows, double max_norm, double p) {
  if (dt == DType::Float64) renorm<double>((double*)w, D, rows, nrows, max_norm, p);
  else renorm<float>((float*)w, D, rows, nrows, max_norm, p);
}

void embedding_bag_forward_cpu(const EmbeddingBagParams& p, void* out, int64_t* max_idx) {
  if (p.dtype == DType::Float64) bag_forward<double>(p, (double*)out, max_idx);
  else bag_forward<float>(p, (float*)out, max_idx);
}

void embedding_bag_backward_cpu(const EmbeddingBagParams& p, const void* dout, const int64_t* max_idx, bool freq,
                                void* dw, void* dpsw) {
  if (p.dtype == DType::Float64) bag_backward<double>(p, (const double*)dout, max_idx, freq, (double*)dw, (double*)dpsw);
  else bag_backward<float>(p, (const float*)dout, max_idx, freq, (float*)dw, (float*)dpsw);
}

}  // namespace pyml
