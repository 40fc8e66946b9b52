// PanelGemm: a GEMM left operand packed once into the 8-row panels of the AVX-512 Winograd GEMM
// kernel (TileKernels::gemm), for the im2col convolution whose filters multiply every column
// chunk of every image: the engine GEMM would repack them per chunk. The right operand is read in
// place (rows of any stride), so an im2col chunk or a contiguous image is used without packing.
#include <algorithm>
#include "cpu/conv_winograd.h"
#include "core/parallel.h"

namespace pyml {
namespace wino {

bool PanelGemm::available() { return tile_kernels().gemm != nullptr; }

PanelGemm::PanelGemm(const float* A, int64_t M, int64_t K, int64_t rsa, int64_t csa)
    : panels_((M + 7) / 8 * 8 * K, 0.0f), M_(M), K_(K) {
  parallel_for(0, M, 8, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
      float* dst = panels_.data() + m / 8 * 8 * K + m % 8;
      for (int64_t k = 0; k < K; k++) dst[8 * k] = A[m * rsa + k * csa];
    }
  });
}

// Threads take runs of 48-column slivers (about 2 MFLOP each at least); inside a parallel region
// the call runs on the calling thread.
void PanelGemm::run(const float* B, int64_t ldb, int64_t N, float* C, int64_t ldc) const {
  const int64_t slivers = (N + 47) / 48, grain = std::max<int64_t>(1, (int64_t(1) << 21) / (96 * M_ * K_ + 1));
  parallel_for(0, slivers, grain, [&](int64_t s0, int64_t s1) {
    int64_t j0 = s0 * 48, j1 = std::min(N, s1 * 48);
    tile_kernels().gemm(panels_.data(), M_, K_, B + j0, ldb, j1 - j0, C + j0, ldc);
  });
}

}  // namespace wino
}  // namespace pyml
