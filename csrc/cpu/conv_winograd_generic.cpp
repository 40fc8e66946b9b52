// Winograd F(4x4, 3x3) tile kernels for generic x86-64 (SSE2): the 16-float vectors are lowered to 4 SSE registers.
// The code is conv_winograd_tiles.h; this file only fixes the target (a function attribute, so the
// rest of csrc/cpu keeps its portable flags) and the namespace. Chosen at run time by cpu_isa_name().
#include <vector>
#include "cpu/conv_winograd.h"

#define PYML_WINO_TARGET 
namespace pyml {
namespace wino {
namespace isa_generic {
#include "cpu/conv_winograd_tiles.h"
}  // namespace isa_generic
}  // namespace wino
}  // namespace pyml
