// Winograd F(4x4, 3x3) driver for float32 3x3 stride-1 convs, NCHW (math: conv_winograd.h).
//   forward:      per block of tiles  V = Bt d B (36, C, cols), M[xi] = U[xi] (K x C) @ V[xi], y = At M A
//   grad input:   the same pass over dy with the kernel rotated 180 degrees and K/C swapped
//   grad weight:  dU[xi] (K x C) += Y[xi] (K x cols) @ V[xi]^T with Y = A dy At, dw = Gt dU G
// Blocks hold up to ~kBlockCols tiles (whole 16-tile groups of one tile row), so the transformed
// buffers of a block stay near L2 size whatever the image size. Threads take whole blocks and run
// single-threaded GEMMs (the AVX-512 TileKernels, else kernels().sgemm); forward and grad-input
// results do not depend on the thread count.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>
#include "cpu/conv_winograd.h"
#include "cpu/kernels.h"
#include "cpu/prefetch.h"
#include "core/parallel.h"

namespace pyml {
namespace wino {

const TileKernels& tile_kernels() {
  static const TileKernels* const k[3] = {&isa_generic::wino_tile_kernels(), &isa_avx2::wino_tile_kernels(),
                                          &isa_avx512::wino_tile_kernels()};
  return *k[cpu_isa_index()];
}

namespace {

constexpr int kPos = 36;  // 6 x 6 transformed positions
constexpr int64_t kBlockCols = 128;
constexpr int64_t kRowStride = 96, kRowBuf = 6 * kRowStride;  // strided-input row copies (66 columns)

// One stride-1 3x3 conv: in (N, C, H, W) with strides xs -> out (N, K, P, Q) contiguous.
struct Geom {
  int64_t N, C, H, W, K, P, Q;
  int64_t oh, ow;  // input row/column under the top-left tap of output (0, 0): -padding
  int64_t xs[4];
  int64_t TH() const { return (P + 3) / 4; }
  int64_t TW() const { return (Q + 3) / 4; }
};

struct Group { int64_t n, tr, tc, cnt, col; };  // tiles tc..tc+cnt of tile row tr of image n; col in the block

// Groups in (image, tile row, tile column) order, cut into blocks of at most cols_max columns.
struct Plan {
  std::vector<Group> groups;
  std::vector<int64_t> start;  // block b = groups [start[b], start[b + 1])
  std::vector<int64_t> cols;   // columns of block b
  int64_t ldc = 0;             // row length of the block buffers (with room for a full-vector store)
  int64_t blocks() const { return (int64_t)cols.size(); }
  // distance between positions xi of a block buffer with `rows` rows: one cache line more than the
  // rows need, so the 36 vectors a tile kernel touches don't all fall into one L1 set
  int64_t pos(int64_t rows) const { return rows * ldc + 16; }
};

// Columns per block: at most kBlockCols, and few enough that every thread gets blocks.
int64_t block_cols(const Geom& g) {
  int64_t total = g.N * g.TH() * g.TW(), nt = get_num_threads();
  int64_t blocks = std::max<int64_t>((total + kBlockCols - 1) / kBlockCols, 1);
  blocks = (blocks + nt - 1) / nt * nt;
  return std::clamp<int64_t>(((total + blocks - 1) / blocks + 15) / 16 * 16, kLanes, kBlockCols);
}

Plan make_plan(const Geom& g, int64_t cols_max) {
  Plan pl;
  int64_t used = cols_max;
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t tr = 0; tr < g.TH(); tr++)
      for (int64_t tc = 0; tc < g.TW(); tc += kLanes) {
        int64_t cnt = std::min<int64_t>(kLanes, g.TW() - tc);
        if (used + cnt > cols_max) {
          pl.start.push_back((int64_t)pl.groups.size());
          pl.cols.push_back(0);
          used = 0;
        }
        pl.groups.push_back({n, tr, tc, cnt, used});
        used += cnt;
        pl.cols.back() = used;
      }
  pl.start.push_back((int64_t)pl.groups.size());
  pl.ldc = (cols_max + kLanes + 31) / 32 * 32;  // >= the columns rounded up to 32 (GEMM N) or a group
  return pl;
}

// Thread-private, grow-only, 64-byte aligned scratch (a fresh buffer per block would page-fault).
struct Scratch {
  float* p = nullptr;
  size_t cap = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t n) {
    if (n <= cap) return p;
    std::free(p);
    cap = (n + 1023) / 1024 * 1024;
    p = static_cast<float*>(std::aligned_alloc(64, cap * sizeof(float)));
    if (!p) cap = 0;
    else std::memset(p, 0, cap * sizeof(float));  // columns past a block's tiles are computed, not used
    return p;
  }
};
thread_local Scratch t_scratch;

// rows[i] -> columns [w0, w0 + span) of row h0 + i of a plane (H x W, strides sh, sw), nullptr
// for rows outside it; [lo, hi) is the part inside the plane. Strided rows are copied to buf.
void plane_rows(const float* plane, int64_t H, int64_t W, int64_t sh, int64_t sw, int64_t h0, int64_t w0,
                int64_t span, int nrows, float* buf, const float** rows, int64_t& lo, int64_t& hi) {
  lo = std::clamp<int64_t>(-w0, 0, span), hi = std::clamp<int64_t>(W - w0, lo, span);
  for (int i = 0; i < nrows; i++) {
    int64_t h = h0 + i;
    rows[i] = h < 0 || h >= H ? nullptr : plane + h * sh + w0 * sw;
    if (!rows[i] || sw == 1) continue;
    float* r = buf + i * kRowStride;
    for (int64_t j = lo; j < hi; j++) r[j] = rows[i][j * sw];
    rows[i] = r;
  }
}

// Fetches columns [lo, hi) (hi - lo <= 80) of the rows `ahead` floats further on (the same rows of
// the next channel), which the tile kernel reads one channel sweep of the block later: the planes
// of a block are read in short runs that the hardware prefetchers don't pick up in time.
void prefetch_rows(const float* const* rows, int nrows, int64_t lo, int64_t hi, int64_t ahead) {
  if (lo >= hi) return;
  for (int i = 0; i < nrows; i++)
    if (rows[i])
      for (int v = 0; v < 5; v++) prefetch_line(rows[i] + ahead + std::min(lo + 16 * v, hi - 1));
}

// V[xi][c][col] (xi stride pos(C)) = Bt d B for every tile of block b, input channels [0, C)
void block_inputs(const Geom& g, const Plan& pl, int64_t b, const float* x, float* V, float* rowbuf) {
  const TileKernels& tk = tile_kernels();
  const float* rows[6];
  int64_t lo, hi;
  for (int64_t c = 0; c < g.C; c++)
    for (int64_t gi = pl.start[b]; gi < pl.start[b + 1]; gi++) {
      const Group& gr = pl.groups[gi];
      const float* plane = x + gr.n * g.xs[0] + c * g.xs[1];
      plane_rows(plane, g.H, g.W, g.xs[2], g.xs[3], gr.tr * 4 + g.oh, gr.tc * 4 + g.ow, 4 * gr.cnt + 2, 6, rowbuf,
                 rows, lo, hi);
      if (c + 1 < g.C && g.xs[3] == 1) prefetch_rows(rows, 6, lo, hi, g.xs[1]);
      tk.input(rows, lo, hi, V + c * pl.ldc + gr.col, pl.pos(g.C));
    }
}

// y tiles of block b from M[xi][k][col] (xi stride pos(K)), plus bias
void block_outputs(const Geom& g, const Plan& pl, int64_t b, const float* M, const float* bias, float* y) {
  const TileKernels& tk = tile_kernels();
  float* rows[4];
  for (int64_t k = 0; k < g.K; k++)
    for (int64_t gi = pl.start[b]; gi < pl.start[b + 1]; gi++) {
      const Group& gr = pl.groups[gi];
      float* plane = y + (gr.n * g.K + k) * g.P * g.Q + gr.tc * 4;
      for (int i = 0; i < 4; i++) rows[i] = gr.tr * 4 + i < g.P ? plane + (gr.tr * 4 + i) * g.Q : nullptr;
      tk.output(M + k * pl.ldc + gr.col, pl.pos(g.K), bias ? bias[k] : 0.0f, rows,
                std::min(4 * gr.cnt, g.Q - gr.tc * 4));
    }
}

// Y[xi][k][col] (xi stride pos(K)) = A dy At for every tile of block b (dy: (N, K, P, Q) contiguous)
void block_grads(const Geom& g, const Plan& pl, int64_t b, const float* dy, float* Y) {
  const TileKernels& tk = tile_kernels();
  const float* rows[4];
  for (int64_t k = 0; k < g.K; k++)
    for (int64_t gi = pl.start[b]; gi < pl.start[b + 1]; gi++) {
      const Group& gr = pl.groups[gi];
      const float* plane = dy + (gr.n * g.K + k) * g.P * g.Q + gr.tc * 4;
      for (int i = 0; i < 4; i++) rows[i] = gr.tr * 4 + i < g.P ? plane + (gr.tr * 4 + i) * g.Q : nullptr;
      if (k + 1 < g.K) prefetch_rows(rows, 4, 0, std::min(4 * gr.cnt, g.Q - gr.tc * 4), g.P * g.Q);
      tk.grad(rows, std::min(4 * gr.cnt, g.Q - gr.tc * 4), Y + k * pl.ldc + gr.col, pl.pos(g.K));
    }
}

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa, const float* B, int64_t rsb,
           int64_t csb, float* C, int64_t rsc, double beta) {
  GemmArgs a{M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, 1, 1.0, beta};
  kernels().sgemm(a);
}

// Runs f(block, thread scratch) for every block, threads taking blocks dynamically. An allocation
// failure is rethrown after the parallel region (exceptions must not leave it).
template <typename F>
void for_blocks(int64_t blocks, size_t scratch, const F& f) {
  int nt = (int)std::min<int64_t>(get_num_threads(), blocks);
  if (nt <= 1 || omp_in_parallel()) {
    float* s = t_scratch.get(scratch);
    if (!s) throw std::bad_alloc();
    for (int64_t b = 0; b < blocks; b++) f(b, s);
    return;
  }
  bool failed = false;
#pragma omp parallel num_threads(nt)
  {
    float* s = t_scratch.get(scratch);
    if (!s) {
#pragma omp atomic write
      failed = true;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; b++)
      if (s) f(b, s);
  }
  if (failed) throw std::bad_alloc();
}

// Buffers of the calling thread for the transformed weights or the weight-gradient sums: up to
// kCachedFloats come from a grow-only buffer (a fresh 1-10 MB allocation page-faults every call).
constexpr size_t kCachedFloats = size_t(1) << 22;
thread_local Scratch t_big;

struct BigBuffer {
  std::unique_ptr<float[]> own;  // when the cached buffer is not a home for n floats (uninitialised)
  float* p;
  explicit BigBuffer(size_t n) {
    p = n <= kCachedFloats ? t_big.get(n) : nullptr;
    if (!p) { own.reset(new float[n]); p = own.get(); }
  }
};

struct Weights {
  ULayout L;
  BigBuffer buf;
  const float* U;
  Weights(const float* w, int64_t KO, int64_t CI, bool flip) : L(u_layout(KO, CI)), buf(kPos * L.stride) {
    transform_weights(w, L, flip, buf.p);
    U = buf.p;
  }
};

// M[xi] (K x cols) = U[xi] @ V[xi] for one block; columns past the block's tiles are computed too
void block_gemms(const Weights& u, const Plan& pl, int64_t b, const float* V, float* M) {
  const TileKernels& tk = tile_kernels();
  const int64_t K = u.L.KO, C = u.L.CI;
  for (int xi = 0; xi < kPos; xi++) {
    const float *Ux = u.U + xi * u.L.stride, *Vx = V + xi * pl.pos(C);
    float* Mx = M + xi * pl.pos(K);
    if (u.L.panels) tk.gemm(Ux, K, C, Vx, pl.ldc, (pl.cols[b] + 15) / 16 * 16, Mx, pl.ldc);
    else sgemm(K, (pl.cols[b] + 31) / 32 * 32, C, Ux, C, 1, Vx, pl.ldc, 1, Mx, pl.ldc, 0.0);
  }
}

// out (N, K, P, Q) = conv of in with the transformed weights, plus bias
void run_conv(const Geom& g, const float* in, const Weights& u, const float* bias, float* out) {
  Plan pl = make_plan(g, block_cols(g));
  size_t vsize = kPos * pl.pos(g.C), msize = kPos * pl.pos(g.K);
  for_blocks(pl.blocks(), vsize + msize + kRowBuf, [&](int64_t b, float* s) {
    float *V = s, *M = s + vsize, *rowbuf = M + msize;
    block_inputs(g, pl, b, in, V, rowbuf);
    block_gemms(u, pl, b, V, M);
    block_outputs(g, pl, b, M, bias, out);
  });
}

}  // namespace

// The pass shapes Winograd serves: 3x3, stride 1, undilated, ungrouped, both channel counts >= 2.
static bool fits(const ConvParams& p) {
  return p.R == 3 && p.S == 3 && p.sh == 1 && p.sw == 1 && p.dh == 1 && p.dw == 1 && p.G == 1 && p.C >= 2 &&
         p.K >= 2;
}

static int64_t tiles(int64_t N, int64_t P, int64_t Q) { return N * ((P + 3) / 4) * ((Q + 3) / 4); }

// Measured against im2col (bench/NOTES.md): the weight transform (and for the weight gradient the
// per-call sums and back-transform) costs ~K*C whatever the image, so a pass needs enough tiles
// per filter: T >= K*C/2048 (at least 4) for forward / grad-input, T >= K*C/1024 within [16, 64]
// for grad-weight. Small images still win: im2col of a 3x3 image is mostly padding too.
static bool enough_tiles(int64_t T, const ConvParams& p, int64_t per, int64_t lo, int64_t hi) {
  return T >= std::clamp(p.K * p.C / per, lo, hi);
}

bool use_forward(const ConvParams& p) {
  return fits(p) && enough_tiles(tiles(p.N, p.P, p.Q), p, 2048, 4, INT64_MAX);
}
bool use_backward_input(const ConvParams& p) {
  return fits(p) && enough_tiles(tiles(p.N, p.H, p.W), p, 2048, 4, INT64_MAX);
}
bool use_backward_weight(const ConvParams& p) {
  return fits(p) && enough_tiles(tiles(p.N, p.P, p.Q), p, 1024, 16, 64);
}

void forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  Geom g{p.N, p.C, p.H, p.W, p.K, p.P, p.Q, -p.ph, -p.pw, {p.xs[0], p.xs[1], p.xs[2], p.xs[3]}};
  run_conv(g, x, Weights(w, p.K, p.C, false), b, y);
}

// dx[h] = sum_r dy[h + ph - r] w[r] = sum_r' dy[h + ph - 2 + r'] w[2 - r']: a forward pass over dy
void backward_input(const ConvParams& p, const float* dy, const float* w, float* dx) {
  Geom g{p.N, p.K, p.P, p.Q, p.C, p.H, p.W, p.ph - 2, p.pw - 2, {p.K * p.P * p.Q, p.P * p.Q, p.Q, 1}};
  run_conv(g, dy, Weights(w, p.C, p.K, true), nullptr, dx);
}

// dU of one block: += Y[xi] @ V[xi]^T per position, into (36, K, C) for sgemm or, with the
// AVX-512 kernel, into its transpose (36, C, Kp); Yt: that kernel's scratch.
static void block_grad_gemms(const Geom& g, const Plan& pl, int64_t b, const float* Y, const float* V, float* Yt,
                      int64_t Kp, float* dU) {
  const TileKernels& tk = tile_kernels();
  for (int xi = 0; xi < kPos; xi++) {
    const float *Yx = Y + xi * pl.pos(g.K), *Vx = V + xi * pl.pos(g.C);
    if (tk.grad_gemm) tk.grad_gemm(Yx, pl.ldc, g.K, Vx, pl.ldc, g.C, pl.cols[b], Yt, dU + xi * g.C * Kp);
    else sgemm(g.K, g.C, pl.cols[b], Yx, pl.ldc, 1, Vx, 1, pl.ldc, dU + xi * g.K * g.C, g.C, 1.0);
  }
}

// Partial sums of dU: one per thread, or up to four per thread (while they fit the cached
// buffer) so that threads can balance them on a busy machine. Fixed by the shape and the
// thread count, so dw depends on the thread count only within rounding.
int64_t grad_shares(int64_t blocks, int64_t usize) {
  int64_t nt = std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), blocks));
  if (nt == 1) return 1;
  int64_t fit = std::max<int64_t>(nt, (int64_t)kCachedFloats / usize);
  return std::min({blocks, 4 * nt, fit});
}

void backward_weight(const ConvParams& p, const float* dy, const float* x, float* dw) {
  Geom g{p.N, p.C, p.H, p.W, p.K, p.P, p.Q, -p.ph, -p.pw, {p.xs[0], p.xs[1], p.xs[2], p.xs[3]}};
  Plan pl = make_plan(g, block_cols(g));
  const bool transposed = tile_kernels().grad_gemm != nullptr;
  const int64_t Kp = transposed ? (p.K + 15) / 16 * 16 : p.K, usize = kPos * p.C * Kp, blocks = pl.blocks();
  const size_t vsize = kPos * pl.pos(g.C), ysize = kPos * pl.pos(g.K), tsize = transposed ? pl.ldc * Kp : 0;
  const int64_t shares = grad_shares(blocks, usize);
  BigBuffer acc(shares * usize);
  for_blocks(shares, vsize + ysize + tsize + kRowBuf, [&](int64_t t, float* s) {
    float *V = s, *Y = s + vsize, *Yt = Y + ysize, *rowbuf = Yt + tsize, *dU = acc.p + t * usize;
    std::memset(dU, 0, usize * sizeof(float));
    for (int64_t b = blocks * t / shares; b < blocks * (t + 1) / shares; b++) {
      block_inputs(g, pl, b, x, V, rowbuf);
      block_grads(g, pl, b, dy, Y);
      block_grad_gemms(g, pl, b, Y, V, Yt, Kp, dU);
    }
  });
  parallel_for(0, usize, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t t = 1; t < shares; t++)
      for (int64_t i = i0; i < i1; i++) acc.p[i] += acc.p[t * usize + i];
  });
  weights_from_grad(acc.p, p.K, p.C, Kp, transposed, dw);
}

}  // namespace wino
}  // namespace pyml
