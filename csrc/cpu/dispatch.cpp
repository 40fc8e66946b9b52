// Chooses the kernel table for this CPU once, at first use: AVX-512 > AVX2+FMA > generic. Tests
// switch to a lesser instruction set this CPU also runs (set_cpu_isa) so that the AVX2 and generic
// copies of every kernel are checked on an AVX-512 machine too; tables are built once per ISA.
#include <atomic>
#include <cstring>
#include "cpu/kernels.h"

namespace pyml {

namespace {

const char* const kIsaNames[3] = {"generic", "avx2", "avx512"};

int best_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
  return 0;
}

KernelTable make_table(int isa) {
  KernelTable t;
  if (isa == 2) isa_avx512::register_kernels(t);
  else if (isa == 1) isa_avx2::register_kernels(t);
  else isa_generic::register_kernels(t);
  t.isa = kIsaNames[isa];
  return t;
}

std::atomic<int>& current_isa() {
  static std::atomic<int> isa{best_isa()};
  return isa;
}

}  // namespace

int cpu_isa_index() { return current_isa().load(std::memory_order_relaxed); }

const KernelTable& kernels() {
  static const KernelTable tables[3] = {make_table(0), make_table(1), make_table(2)};
  return tables[cpu_isa_index()];
}

const char* cpu_isa_name() { return kIsaNames[cpu_isa_index()]; }

bool set_cpu_isa(const char* name) {
  static const int best = best_isa();
  for (int i = 0; i <= best; i++)
    if (std::strcmp(name, kIsaNames[i]) == 0) {
      current_isa().store(i);
      return true;
    }
  return false;
}

}  // namespace pyml
