// Chooses the kernel table for this CPU once, at first use: AVX-512 > AVX2+FMA > generic. Tests
// switch to a lesser instruction set this CPU also runs (set_cpu_isa) so that the AVX2 and generic
// copies of every kernel are checked on an AVX-512 machine too; tables are built once per ISA.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include "cpu/kernels.h"
#include "cpu/prefetch.h"

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

// The L3 one core sees, from sysfs (sysconf's figure can be the whole package's: 384 MB on this
// machine's EPYC, whose cores share 32 MB); 32 MB where neither is readable.
static int64_t l3_bytes() {
  if (FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
    long kb = 0;
    int got = std::fscanf(f, "%ldK", &kb);
    std::fclose(f);
    if (got == 1 && kb > 0) return (int64_t)kb << 10;
  }
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return l3 > 0 ? (int64_t)l3 : int64_t(32) << 20;
}

static int64_t default_stream_bytes() {
  static const int64_t half_l3 = l3_bytes() / 2;
  return half_l3;
}

static std::atomic<int64_t>& stream_bytes() {
  static std::atomic<int64_t> bytes{default_stream_bytes()};
  return bytes;
}

int64_t set_stream_bytes(int64_t bytes) {
  return stream_bytes().exchange(bytes < 0 ? default_stream_bytes() : bytes);
}

bool output_streams(int64_t bytes) { return bytes >= stream_bytes().load(std::memory_order_relaxed); }

}  // namespace pyml
