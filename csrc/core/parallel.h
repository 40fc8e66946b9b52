// Thread pool access (OpenMP). parallel_for splits [begin, end) into contiguous chunks of at
// least `grain` items; small ranges run inline so tiny ops pay no threading cost.
#pragma once
#include <cstdint>
#include <algorithm>
#include <omp.h>

namespace pyml {

int get_num_threads();
void set_num_threads(int n);

template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int nt = omp_get_max_threads();
  if (nt <= 1 || n <= grain || omp_in_parallel()) { f(begin, end); return; }
  int64_t chunks = std::min<int64_t>(nt, (n + grain - 1) / grain);
#pragma omp parallel num_threads((int)chunks)
  {
    int64_t t = omp_get_thread_num(), c = omp_get_num_threads();
    int64_t step = (n + c - 1) / c;
    int64_t b = begin + t * step, e = std::min(end, b + step);
    if (b < e) f(b, e);
  }
}

}  // namespace pyml
