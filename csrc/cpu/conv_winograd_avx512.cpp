// Winograd F(4x4, 3x3) tile kernels for AVX-512: one zmm register per 16-float vector; shuffles become vpermt2ps.
// The code is conv_winograd_tiles.h; this file only fixes the target (a function attribute, so the
// rest of csrc/cpu keeps its portable flags) and the namespace. Chosen at run time by cpu_isa_name().
#include <vector>
#include "cpu/conv_winograd.h"

#include <immintrin.h>

#define PYML_WINO_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define PYML_WINO_MASKED 1  // masked loads/stores at the image border
namespace pyml {
namespace wino {
namespace isa_avx512 {
#include "cpu/conv_winograd_tiles.h"
}  // namespace isa_avx512
}  // namespace wino
}  // namespace pyml
