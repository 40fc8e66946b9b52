// Entry point of one ISA's kernel set: fills the KernelTable with this translation unit's kernels.
#include "cpu/kernels.h"
#include "cpu/isa/isa.h"

namespace pyml {
namespace PYML_ISA_NS {
void register_elementwise(KernelTable& t);
void register_gemm(KernelTable& t);
void register_reduce(KernelTable& t);
void register_rows(KernelTable& t);

void register_kernels(KernelTable& t) {
  register_elementwise(t);
  register_gemm(t);
  register_reduce(t);
  register_rows(t);
}
}  // namespace PYML_ISA_NS
}  // namespace pyml
