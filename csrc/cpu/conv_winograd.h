// Winograd F(4x4, 3x3) float32 convolution (Lavin & Gray 2015) for 3x3, stride-1, undilated,
// ungrouped convs: the driver (conv_winograd.cpp) and the per-ISA tile kernels
// (conv_winograd_tiles.h, compiled by conv_winograd_{generic,avx2,avx512}.cpp).
// A 4x4 output tile needs a 6x6 input patch d: y = At [(G g Gt) . (Bt d B)] A, so the 9*16
// multiply-adds per (tile, k, c) of the direct conv become 36 (in 36 GEMMs K x C @ C x tiles).
// Tiles are handled in groups of up to 16 consecutive tiles of one tile row (one tile per vector
// lane). PanelGemm (conv_gemm.cpp) lends the AVX-512 GEMM kernel to the im2col path.
#pragma once
#include <cstdint>
#include <vector>
#include "ops/conv.h"

namespace pyml {
namespace wino {

constexpr int kLanes = 16;  // tiles per group (one per float lane of a 16-wide vector)

// Tile kernels of one ISA for a group of up to 16 tiles. rows[i] points at the group's first
// column in one image row (nullptr: a row of zeros, or for output a row to skip); only columns
// [lo, hi) / [0, width) of it are read or written. The transformed buffers hold one float per
// (position xi = 6*a + b, lane), positions ld apart; stores write all 16 lanes (lanes past the
// group's tiles hold values of zero padding or of neighbouring columns, to be overwritten or ignored).
struct TileKernels {
  // 6 input rows (columns [lo, hi) of 0..65 valid) -> V = Bt d B
  void (*input)(const float* const* rows, int64_t lo, int64_t hi, float* V, int64_t ld);
  // M (36 positions) -> 4 output rows of width (<= 64) floats: At M A + bias
  void (*output)(const float* M, int64_t ld, float bias, float* const* rows, int64_t width);
  // 4 rows of the output gradient (width <= 64 valid) -> Y = A dy At (the gradient of the 36 products)
  void (*grad)(const float* const* rows, int64_t width, float* Y, int64_t ld);
  // M (K x ncols) = U (K x C) @ V (C x ncols), U in 8-row panels (Up[(k/8)*8*C + 8*c + k%8]); reads
  // and writes stop at ncols. nullptr where the engine GEMM (kernels().sgemm) is used instead
  void (*gemm)(const float* Up, int64_t K, int64_t C, const float* V, int64_t ldv, int64_t ncols, float* M,
               int64_t ldm);
  // dUt (C x Kp, Kp = K rounded up to 16) += V (C x n) @ Y^T for Y (K x n): the weight-gradient
  // products of one position (reads stop at n); Yt is scratch of (n rounded up to 16) x Kp floats.
  // nullptr where sgemm is used instead.
  void (*grad_gemm)(const float* Y, int64_t ldy, int64_t K, const float* V, int64_t ldv, int64_t C, int64_t n,
                    float* Yt, float* dUt);
  // Strided convs by phases (conv_phase.cpp). M (K x ncols) = sum_s U_s (K x Cs) @ B_s for B_s =
  // bs[s] (Cs x ncols, rows ldb apart, read in whole 16-float vectors past ncols), U in 8-row panels
  // over the nseg*Cs columns; segment s reaches only columns [seg_lo[s], seg_hi[s]) when those are
  // given (slivers outside skip it); nullptr where absent (then the im2col path runs)
  void (*gemm_taps)(const float* Up, int64_t K, int64_t Cs, const float* const* bs, int nseg, int64_t ldb,
                    int64_t ncols, float* M, int64_t ldm, const int64_t* seg_lo, const int64_t* seg_hi);
  // dUt_s (C x Kp, s*dstride apart) += V_s (C x n) @ Y^T for Y (K x n); Yt scratch as for grad_gemm
  void (*grad_gemm_taps)(const float* Y, int64_t ldy, int64_t K, const float* const* Vs, int nseg, int64_t ldv,
                         int64_t C, int64_t n, float* Yt, float* dUt, int64_t dstride);
  // out[v] (v < n; stores rounded up to 16) = row[(w0 + v*step)*ld], 0 outside columns [0, W)
  void (*phase_row)(const float* row, int64_t ld, int64_t w0, int64_t step, int64_t W, float* out, int64_t n);
  // o_b[v] (v < n; stores rounded up to 16) = row[2v + b - off], 0 outside [0, W); row contiguous
  void (*split_row2)(const float* row, int64_t off, int64_t W, float* o0, float* o1, int64_t n);
  // row[w] (w < W) = s_{z%2}[z/2], z = w + off (null source: zeros)
  void (*merge_row2)(const float* s0, const float* s1, int64_t off, int64_t W, float* row);
};
const TileKernels& tile_kernels();  // the copy for this CPU (cpu_isa_name())

namespace isa_generic { const TileKernels& wino_tile_kernels(); }
namespace isa_avx2 { const TileKernels& wino_tile_kernels(); }
namespace isa_avx512 { const TileKernels& wino_tile_kernels(); }

// Whether the Winograd path serves this float32 conv pass (shape rules measured in bench/NOTES.md).
bool use_forward(const ConvParams& p);
bool use_backward_input(const ConvParams& p);
bool use_backward_weight(const ConvParams& p);

// Same contracts as conv_forward_cpu / conv_backward_input_cpu / conv_backward_weight_cpu (float32).
void forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void backward_input(const ConvParams& p, const float* dy, const float* w, float* dx);
void backward_weight(const ConvParams& p, const float* dy, const float* x, float* dw);

// ---- weight-side transforms (conv_winograd_weights.cpp), computed in double

// Where the transformed weights U[xi][o][c] live: per position (stride floats apart) either
// row-major (KO, CI) for kernels().sgemm, or 8-row panels [o/8][c][o%8] for TileKernels::gemm.
struct ULayout {
  int64_t KO, CI, stride;
  bool panels;
  // (o, c) of float f of a position; o >= KO marks panel padding
  void element(int64_t f, int64_t& o, int64_t& c) const {
    if (!panels) { o = f / CI, c = f % CI; return; }
    int64_t rem = f % (8 * CI);
    o = f / (8 * CI) * 8 + rem % 8, c = rem / 8;
  }
};

ULayout u_layout(int64_t KO, int64_t CI);  // the layout TileKernels::gemm or kernels().sgemm reads
// U (36 positions, L.stride floats apart) = G g G^T, g = w[o][c] or, flipped, w[c][o] rotated 180
// degrees; w: (KO, CI, 3, 3), or (CI, KO, 3, 3) when flipped
void transform_weights(const float* w, const ULayout& L, bool flip, float* U);
// dw[k][c] (K, C, 3, 3) = Gt dU[xi][k][c] G; dU per position is (K, C) row-major or, transposed,
// (C, Kp) with columns past K ignored
void weights_from_grad(const float* dU, int64_t K, int64_t C, int64_t Kp, bool transposed, float* dw);

// A (M x K, element (m, k) at A[m*rsa + k*csa]) packed once for TileKernels::gemm (conv_gemm.cpp);
// run: C (M x N, row stride ldc) = A @ B for B (K x N, row stride ldb), threads over columns.
// Only where that kernel exists (available(): AVX-512).
class PanelGemm {
 public:
  static bool available();
  PanelGemm(const float* A, int64_t M, int64_t K, int64_t rsa, int64_t csa);
  void run(const float* B, int64_t ldb, int64_t N, float* C, int64_t ldc) const;

 private:
  std::vector<float> panels_;
  int64_t M_, K_;
};

}  // namespace wino
}  // namespace pyml
