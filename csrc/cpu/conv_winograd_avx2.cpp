// Winograd F(4x4, 3x3) tile kernels for AVX2 + FMA: each 16-float vector is two ymm registers.
// The code is conv_winograd_tiles.h; this file only fixes the target (a function attribute, so the
// rest of csrc/cpu keeps its portable flags) and the namespace. Chosen at run time by cpu_isa_name().
#include <vector>
#include "cpu/conv_winograd.h"

#define PYML_WINO_TARGET __attribute__((target("avx2,fma")))
namespace pyml {
namespace wino {
namespace isa_avx2 {
#include "cpu/conv_winograd_tiles.h"
}  // namespace isa_avx2
}  // namespace wino
}  // namespace pyml
