#include "core/parallel.h"
#include "core/error.h"

namespace pyml {
int get_num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) {
  PYML_CHECK(n >= 1, ValueError, "set_num_threads: number of threads must be positive, got ", n);
  omp_set_num_threads(n);
}
}  // namespace pyml
