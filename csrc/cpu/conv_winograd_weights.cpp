// Weight-side transforms of the Winograd F(4x4, 3x3) conv (conv_winograd.h): U = G g Gt for the
// forward / grad-input passes, dw = Gt dU G for the weight gradient. Both work on 64 consecutive
// floats of every position at a time in double, so each of the 36 positions is written (or read)
// as one contiguous run instead of 36 stores a whole position apart per filter.
#include <algorithm>
#include <cstring>
#include "cpu/conv_winograd.h"
#include "core/parallel.h"

namespace pyml {
namespace wino {

namespace {

constexpr double kG[6][3] = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                             {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
constexpr int64_t kChunk = 64;  // filters transformed together: positions are written as 64-float runs

}  // namespace

ULayout u_layout(int64_t KO, int64_t CI) {
  bool panels = tile_kernels().gemm != nullptr;
  return {KO, CI, (panels ? (KO + 7) / 8 * 8 : KO) * CI, panels};
}

void transform_weights(const float* w, const ULayout& L, bool flip, float* U) {
  parallel_for(0, (L.stride + kChunk - 1) / kChunk, 8, [&](int64_t q0, int64_t q1) {
    double g[9][kChunk], t[18][kChunk];
    float u[kChunk];
    for (int64_t f0 = q0 * kChunk; f0 < std::min(L.stride, q1 * kChunk); f0 += kChunk) {
      int64_t n = std::min(kChunk, L.stride - f0), o, c;
      for (int64_t i = 0; i < n; i++) {
        L.element(f0 + i, o, c);
        const float* src = flip ? w + (c * L.KO + o) * 9 : w + (o * L.CI + c) * 9;
        for (int r = 0; r < 9; r++) g[r][i] = o >= L.KO ? 0.0 : flip ? src[8 - r] : src[r];
      }
      for (int a = 0; a < 6; a++)
        for (int s = 0; s < 3; s++)
          for (int64_t i = 0; i < n; i++) t[a * 3 + s][i] = kG[a][0] * g[s][i] + kG[a][1] * g[3 + s][i] + kG[a][2] * g[6 + s][i];
      for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
          for (int64_t i = 0; i < n; i++)
            u[i] = float(kG[b][0] * t[a * 3][i] + kG[b][1] * t[a * 3 + 1][i] + kG[b][2] * t[a * 3 + 2][i]);
          std::memcpy(U + (a * 6 + b) * L.stride + f0, u, n * sizeof(float));
        }
    }
  });
}

void weights_from_grad(const float* dU, int64_t K, int64_t C, int64_t Kp, bool transposed, float* dw) {
  const int64_t F = transposed ? C * Kp : K * C;  // floats per position
  parallel_for(0, (F + kChunk - 1) / kChunk, 8, [&](int64_t q0, int64_t q1) {
    double t[18][kChunk];  // t[r*6 + b] = (Gt dU)[r][b]
    for (int64_t f0 = q0 * kChunk; f0 < std::min(F, q1 * kChunk); f0 += kChunk) {
      int64_t n = std::min(kChunk, F - f0);
      for (int v = 0; v < 18; v++)
        for (int64_t i = 0; i < n; i++) t[v][i] = 0;
      for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
          const float* src = dU + (a * 6 + b) * F + f0;
          for (int r = 0; r < 3; r++)
            for (int64_t i = 0; i < n; i++) t[r * 6 + b][i] += kG[a][r] * src[i];
        }
      for (int64_t i = 0; i < n; i++) {
        int64_t f = f0 + i, k = transposed ? f % Kp : f / C, c = transposed ? f / Kp : f % C;
        if (k >= K) continue;
        for (int r = 0; r < 3; r++)
          for (int q = 0; q < 3; q++) {
            double v = 0;
            for (int b = 0; b < 6; b++) v += t[r * 6 + b][i] * kG[b][q];
            dw[(k * C + c) * 9 + r * 3 + q] = float(v);
          }
      }
    }
  });
}

}  // namespace wino
}  // namespace pyml
