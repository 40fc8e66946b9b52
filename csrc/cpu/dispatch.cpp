// Chooses the kernel table for this CPU once, at first use: AVX-512 > AVX2+FMA > generic.
#include "cpu/kernels.h"

namespace pyml {

static KernelTable make_table() {
  KernelTable t;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    isa_avx512::register_kernels(t);
    t.isa = "avx512";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    isa_avx2::register_kernels(t);
    t.isa = "avx2";
  } else {
    isa_generic::register_kernels(t);
    t.isa = "generic";
  }
  return t;
}

const KernelTable& kernels() {
  static const KernelTable table = make_table();
  return table;
}

const char* cpu_isa_name() { return kernels().isa; }

}  // namespace pyml
