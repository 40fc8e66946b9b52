// Same-device copies and casts between any two dtypes over any strides (clone, contiguous,
// to(dtype), copy_ into views). One kernel per (dst, src) dtype pair through the elementwise
// launcher: 100 small instantiations, each a load, a convert and a store.
#include "copy.h"
#include "elementwise_launch.cuh"

namespace pyml {

template <typename Dst, typename Src> struct CastOp {
  __device__ Dst operator()(Src v) const { return cuda::convert<Dst>(v); }
};

void copy_cuda(const ElemIter& it, DType dst, DType src, int index) {
  PYML_CUDA_DISPATCH_ALL(dst, "copy_", [&] {
    using dst_t = scalar_t;
    PYML_CUDA_DISPATCH_ALL(src, "copy_", [&] {
      cuda::launch_elementwise<dst_t, scalar_t>(it, index, "copy_", CastOp<dst_t, scalar_t>{});
    });
  });
}

}  // namespace pyml
