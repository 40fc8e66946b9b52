// Strided float32 convolutions (stride >= 2, undilated, ungrouped) by phases, where the AVX-512
// tap GEMM exists. With stride s, input row h = u*s + a - pad is row u of phase a, and tap i of
// output row p reads phase i % s at row p + i / s (columns alike): every tap is one phase plane
// shifted by a constant. Phase planes are stored with rows Wq = Q + (S-1)/s long, so the outputs
// of a band of rows, flattened as p*Wq + q (columns q >= Q computed, then dropped), are ONE GEMM
// over all taps whose right operand is read in place from the phase planes: no im2col buffer
// (9x the input for a 3x3), each input element copied once per band.
//   forward:     y (K x band*Wq) = sum_taps W_tap (K x C) @ X_phase(tap) shifted
//   grad input:  each dx phase plane = the same GEMM of the filters' transposes over a zero-bordered
//                dy band, taps of that phase only; the phases are interleaved into dx (written once)
//   grad weight: dW_tap^T (C x K) += X_phase(tap) shifted @ dy_band^T (dy zero in dropped columns)
#include "cpu/conv_phase.h"
#include <algorithm>
#include <cstring>
#include <vector>
#include "cpu/conv_winograd.h"
#include "core/parallel.h"

namespace pyml {
namespace phase {
namespace {
using wino::tile_kernels;

constexpr int64_t kBandFloats = int64_t(1) << 18;  // one band's phase planes: about 1 MiB
constexpr int64_t kSlack = 48;                     // readable floats past a plane (whole-vector reads)

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// Grow-only buffer private to the calling thread (fresh ~1 MB buffers page-fault every call);
// zeroed when it grows so that slack columns hold finite values.
template <int kTag>
float* thread_buffer(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.assign(n, 0.0f);
  return buf.data();
}

struct Tap { int64_t i, j, phase, off; };  // filter tap, its phase, its shift in the stored plane

struct Plan {
  int64_t sh, sw, padT, padL;  // padT = (R-1)/sh, padL = (S-1)/sw
  int64_t ld;                  // stored row length
  int64_t band, nbands;        // rows per work item
  int64_t L;                   // floats per (phase or channel) plane of a band, slack included
  std::vector<Tap> taps;       // in (i, j) order
};

// Taps with their phase a*sw + b and their shift in planes of rows `ld` long: sign +1 for the
// forward (tap reads row p + i/s), -1 for grad-input (reads dy row u - i/s, plus the border).
Plan make_plan(const ConvParams& p, int64_t ld, int64_t rows_out, int64_t per_row, int sign) {
  Plan pl{p.sh, p.sw, (p.R - 1) / p.sh, (p.S - 1) / p.sw, ld, 1, 1, 0, {}};
  for (int64_t i = 0; i < p.R; i++)
    for (int64_t j = 0; j < p.S; j++) {
      int64_t off = sign > 0 ? i / p.sh * ld + j / p.sw : (pl.padT - i / p.sh) * ld + (pl.padL - j / p.sw);
      pl.taps.push_back({i, j, i % p.sh * p.sw + j % p.sw, off});
    }
  int64_t fit = kBandFloats / std::max<int64_t>(per_row * ld, 1) - pl.padT - 1;
  int64_t per_image = (get_num_threads() + p.N - 1) / std::max<int64_t>(p.N, 1);  // items >= threads
  pl.band = std::clamp<int64_t>(std::min(fit, (rows_out + per_image - 1) / per_image), 1, std::max<int64_t>(rows_out, 1));
  pl.nbands = (rows_out + pl.band - 1) / pl.band;
  pl.L = (pl.band + pl.padT + 1) * ld + kSlack;
  return pl;
}

// Panels of the left operand for the taps `ts`: A[m][t*Kin + kin] = w at (m, kin) of tap t, where
// w (K, C, R, S): m = k, kin = c (transposed = false) or m = c, kin = k (transposed).
std::vector<float> pack_taps(const ConvParams& p, const float* w, const std::vector<Tap>& ts, bool transposed) {
  const int64_t M = transposed ? p.C : p.K, Kin = transposed ? p.K : p.C, Kt = Kin * (int64_t)ts.size();
  std::vector<float> up(round_up(M, 8) * Kt, 0.0f);
  parallel_for(0, M, 8, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++)
      for (size_t t = 0; t < ts.size(); t++)
        for (int64_t kin = 0; kin < Kin; kin++) {
          int64_t k = transposed ? kin : m, c = transposed ? m : kin;
          up[m / 8 * 8 * Kt + 8 * (t * Kin + kin) + m % 8] = w[((k * p.C + c) * p.R + ts[t].i) * p.S + ts[t].j];
        }
  });
  return up;
}

// Starts loading n floats at p (an asm statement: GCC deletes inlined __builtin_prefetch loops)
inline void prefetch_row(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
#if defined(__x86_64__) && defined(__GNUC__)
    asm volatile("prefetcht0 %0" : : "m"(p[i]));
#else
    __builtin_prefetch(p + i, 0, 3);
#endif
  }
}

// Phase planes of image n for phase rows [u0, u0 + rows): buf[phase][c][r*ld + v] = x at input row
// (u0 + r)*sh + a - ph, column v*sw + b - pw (zero outside the image). Only phases some tap reads.
// Input rows are visited in memory order, each split into its sw phases while in L1, the row
// two ahead prefetched (the planes are read in short runs the hardware prefetchers pick up late).
void fill_phases(const ConvParams& p, const Plan& pl, const float* x, int64_t n, int64_t u0, int64_t rows,
                 const std::vector<char>& used, float* buf) {
  const auto& tk = tile_kernels();
  for (int64_t c = 0; c < p.C; c++) {
    const float* plane = x + n * p.xs[0] + c * p.xs[1];
    for (int64_t r = 0; r < rows; r++)
      for (int64_t a = 0; a < pl.sh; a++) {
        int64_t h = (u0 + r) * pl.sh + a - p.ph;
        if (h >= 0 && h + 2 < p.H && p.xs[3] == 1) prefetch_row(plane + (h + 2) * p.xs[2], p.W);
        float* out0 = buf + (a * pl.sw * p.C + c) * pl.L + r * pl.ld;
        if (pl.sw == 2 && p.xs[3] == 1 && used[a * 2] && used[a * 2 + 1] && h >= 0 && h < p.H) {
          tk.split_row2(plane + h * p.xs[2], p.pw, p.W, out0, out0 + p.C * pl.L, pl.ld);
          continue;
        }
        for (int64_t b = 0; b < pl.sw; b++) {
          int64_t ph = a * pl.sw + b;
          if (!used[ph]) continue;
          float* out = buf + (ph * p.C + c) * pl.L + r * pl.ld;
          if (h < 0 || h >= p.H) std::memset(out, 0, pl.ld * sizeof(float));
          else tk.phase_row(plane + h * p.xs[2], p.xs[3], b - p.pw, pl.sw, p.W, out, pl.ld);
        }
      }
  }
}

std::vector<char> used_phases(const Plan& pl) {
  std::vector<char> used(pl.sh * pl.sw, 0);
  for (const Tap& t : pl.taps) used[t.phase] = 1;
  return used;
}

// Right-operand rows of every tap in `ts`: plane of its phase (channel planes L apart) + its shift
std::vector<const float*> tap_operands(const std::vector<Tap>& ts, const float* buf, int64_t planes, int64_t L) {
  std::vector<const float*> bs;
  for (const Tap& t : ts) bs.push_back(buf + t.phase * planes * L + t.off);
  return bs;
}

}  // namespace

bool use(const ConvParams& p) {
  return tile_kernels().gemm_taps && p.G == 1 && p.dh == 1 && p.dw == 1 && (p.sh > 1 || p.sw > 1) && p.C >= 16 &&
         p.K >= 16 && p.N > 0 && p.P > 0 && p.Q > 0;
}

void forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const int64_t ld = p.Q + (p.S - 1) / p.sw;
  const Plan pl = make_plan(p, ld, p.P, p.sh * p.sw * p.C, 1);
  const std::vector<float> up = pack_taps(p, w, pl.taps, false);
  const std::vector<char> used = used_phases(pl);
  const int64_t phases = pl.sh * pl.sw, msize = p.K * pl.band * ld + kSlack;
  parallel_for(0, p.N * pl.nbands, 1, [&](int64_t i0, int64_t i1) {
    float *buf = thread_buffer<0>(phases * p.C * pl.L), *M = thread_buffer<1>(msize);
    for (int64_t it = i0; it < i1; it++) {
      int64_t n = it / pl.nbands, p0 = it % pl.nbands * pl.band, nb = std::min(pl.band, p.P - p0);
      fill_phases(p, pl, x, n, p0, nb + pl.padT + 1, used, buf);
      std::vector<const float*> bs = tap_operands(pl.taps, buf, p.C, pl.L);
      tile_kernels().gemm_taps(up.data(), p.K, p.C, bs.data(), (int)bs.size(), pl.L, nb * ld, M, nb * ld);
      for (int64_t k = 0; k < p.K; k++)
        for (int64_t r = 0; r < nb; r++) {
          const float* src = M + (k * nb + r) * ld;
          float* dst = y + ((n * p.K + k) * p.P + p0 + r) * p.Q;
          float bias = b ? b[k] : 0.0f;
          for (int64_t q = 0; q < p.Q; q++) dst[q] = src[q] + bias;
        }
    }
  });
}

namespace {

// dy rows [u0 - padT, u0 - padT + rows) of image n with padL zero columns on the left, rows ld
// long: buf[k][r*ld + col] = dy[n][k][u0 - padT + r][col - padL] (zero outside dy)
void fill_dy_border(const ConvParams& p, const Plan& pl, const float* dy, int64_t n, int64_t u0, int64_t rows,
                    float* buf) {
  for (int64_t k = 0; k < p.K; k++) {
    const float* plane = dy + (n * p.K + k) * p.P * p.Q;
    float* out = buf + k * pl.L;
    for (int64_t r = 0; r < rows; r++) {
      int64_t row = u0 - pl.padT + r, ncopy = std::clamp<int64_t>(pl.ld - pl.padL, 0, p.Q);
      float* o = out + r * pl.ld;
      if (row < 0 || row >= p.P) { std::memset(o, 0, pl.ld * sizeof(float)); continue; }
      std::memset(o, 0, pl.padL * sizeof(float));
      std::memcpy(o + pl.padL, plane + row * p.Q, ncopy * sizeof(float));
      std::memset(o + pl.padL + ncopy, 0, (pl.ld - pl.padL - ncopy) * sizeof(float));
    }
  }
}

// dx rows of phase row a for phase rows [u0, u0 + nb): dx[h][w] = M_b[c][r*ld + (w + pw)/sw] with
// b = (w + pw) % sw, h = (u0 + r)*sh + a - ph; a null M_b (no tap in that phase) gives zeros
void merge_phases(const ConvParams& p, const Plan& pl, const std::vector<const float*>& Ms, int64_t msize,
                  int64_t n, int64_t a, int64_t u0, int64_t nb, float* dx) {
  for (int64_t c = 0; c < p.C; c++)
    for (int64_t r = 0; r < nb; r++) {
      int64_t h = (u0 + r) * pl.sh + a - p.ph;
      if (h < 0 || h >= p.H) continue;
      float* row = dx + ((n * p.C + c) * p.H + h) * p.W;
      auto src = [&](int64_t b) { return Ms[b] ? Ms[b] + c * msize + r * pl.ld : nullptr; };
      if (pl.sw == 2) { tile_kernels().merge_row2(src(0), src(1), p.pw, p.W, row); continue; }
      for (int64_t wc = 0; wc < p.W; wc++) {
        const float* s = src((wc + p.pw) % pl.sw);
        row[wc] = s ? s[(wc + p.pw) / pl.sw] : 0.0f;
      }
    }
}

}  // namespace

void backward_input(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const int64_t Ux = (p.H - 1 + p.ph) / p.sh + 1, Vx = (p.W - 1 + p.pw) / p.sw + 1;
  const int64_t ld = Vx + (p.S - 1) / p.sw;
  const Plan pl = make_plan(p, ld, Ux, p.K, -1);
  const int64_t phases = pl.sh * pl.sw;
  std::vector<std::vector<Tap>> by_phase(phases);
  for (const Tap& t : pl.taps) by_phase[t.phase].push_back(t);
  std::vector<std::vector<float>> ups(phases);
  for (int64_t ph = 0; ph < phases; ph++)
    if (!by_phase[ph].empty()) ups[ph] = pack_taps(p, w, by_phase[ph], true);
  const int64_t msize = pl.band * ld + kSlack;  // one channel of a phase's output band
  parallel_for(0, p.N * pl.nbands, 1, [&](int64_t i0, int64_t i1) {
    float *buf = thread_buffer<0>(p.K * pl.L), *Mbuf = thread_buffer<1>(pl.sw * p.C * msize + kSlack);
    for (int64_t it = i0; it < i1; it++) {
      int64_t n = it / pl.nbands, u0 = it % pl.nbands * pl.band, nb = std::min(pl.band, Ux - u0);
      fill_dy_border(p, pl, dy, n, u0, nb + pl.padT + 1, buf);
      for (int64_t a = 0; a < pl.sh; a++) {
        std::vector<const float*> Ms(pl.sw, nullptr);
        for (int64_t b = 0; b < pl.sw; b++) {
          const std::vector<Tap>& ts = by_phase[a * pl.sw + b];
          if (ts.empty()) continue;
          std::vector<const float*> bs;
          for (const Tap& t : ts) bs.push_back(buf + t.off);
          float* M = Mbuf + b * p.C * msize;
          tile_kernels().gemm_taps(ups[a * pl.sw + b].data(), p.C, p.K, bs.data(), (int)bs.size(), pl.L, nb * ld, M,
                                   msize);
          Ms[b] = M;
        }
        merge_phases(p, pl, Ms, msize, n, a, u0, nb, dx);
      }
    }
  });
}

void backward_weight(const ConvParams& p, const float* dy, const float* x, float* dw) {
  const int64_t ld = p.Q + (p.S - 1) / p.sw, Kp = round_up(p.K, 16);
  const Plan pl = make_plan(p, ld, p.P, p.sh * p.sw * p.C, 1);
  const std::vector<char> used = used_phases(pl);
  const int64_t phases = pl.sh * pl.sw, T = (int64_t)pl.taps.size(), usize = T * p.C * Kp;
  const int64_t items = p.N * pl.nbands, shares = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), items));
  const int64_t ysize = p.K * pl.band * ld + kSlack, tsize = round_up(pl.band * ld, 16) * Kp;
  std::vector<float> acc(shares * usize, 0.0f);
  // share s sums items [items*s/shares, items*(s+1)/shares): fixed by the shape and thread count
  parallel_for(0, shares, 1, [&](int64_t s0, int64_t s1) {
    float *buf = thread_buffer<0>(phases * p.C * pl.L), *Y = thread_buffer<1>(ysize), *Yt = thread_buffer<2>(tsize);
    for (int64_t s = s0; s < s1; s++)
      for (int64_t it = items * s / shares; it < items * (s + 1) / shares; it++) {
        int64_t n = it / pl.nbands, p0 = it % pl.nbands * pl.band, nb = std::min(pl.band, p.P - p0);
        fill_phases(p, pl, x, n, p0, nb + pl.padT + 1, used, buf);
        for (int64_t k = 0; k < p.K; k++)
          for (int64_t r = 0; r < nb; r++) {
            float* o = Y + (k * nb + r) * ld;
            std::memcpy(o, dy + ((n * p.K + k) * p.P + p0 + r) * p.Q, p.Q * sizeof(float));
            std::fill(o + p.Q, o + ld, 0.0f);
          }
        std::vector<const float*> vs = tap_operands(pl.taps, buf, p.C, pl.L);
        tile_kernels().grad_gemm_taps(Y, nb * ld, p.K, vs.data(), (int)T, pl.L, p.C, nb * ld, Yt,
                                      acc.data() + s * usize, p.C * Kp);
      }
  });
  // dw[k][c][i][j] = sum over shares of acc[tap][c][k], shares in order
  parallel_for(0, p.K, 4, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++)
      for (int64_t c = 0; c < p.C; c++)
        for (int64_t t = 0; t < T; t++) {
          float sum = 0.0f;
          for (int64_t s = 0; s < shares; s++) sum += acc[s * usize + (t * p.C + c) * Kp + k];
          dw[((k * p.C + c) * p.R + pl.taps[t].i) * p.S + pl.taps[t].j] = sum;
        }
  });
}

}  // namespace phase
}  // namespace pyml
