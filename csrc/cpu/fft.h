// Shared by the FFT driver (cpu/fft.cpp: plans, threading) and the per-ISA kernels (cpu/isa/fft.cpp:
// gather, butterflies, scatter). A plan holds everything that depends only on n (transforms are
// always computed forward; inverses conjugate around them): the Stockham stages with their twiddle
// tables, Bluestein's chirp and transformed kernel, the four-step split of long lines. Plans are
// built once per length and cached; kernels only read them. A job is one pass's geometry: line l
// of the input is at block l / in_inner, column l % in_inner of (outer, in_len, in_inner), and
// likewise in the output with out_inner (different for the four-step's transposed store).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace pyml {
namespace fftk {

template <typename T> struct C { T re, im; };

constexpr int64_t kMaxRadix = 61;  // direct DFT up to this prime, Bluestein above

// w_n^m for any m in [0, n) from two short tables (hi[m >> shift] * lo[m & (2^shift - 1)], 2^shift
// ~ sqrt n), in double: the twiddles of a four-step transform, n of them, without an n-entry table
// and without a division per look-up.
struct Twiddle {
  int64_t n = 0;
  int shift = 0;
  std::vector<C<double>> hi, lo;
};

// One Stockham stage: the current sub-length r*m splits into r interleaved ones; s = product of
// the radices before it. tw[p*r + k] = w_{rm}^{pk}; dft[j*r + k] = w_r^{jk} (radices above 5).
template <typename T> struct Stage {
  int64_t r, s, m;
  std::vector<C<T>> tw, dft;
};

template <typename T> struct Plan {
  int64_t n = 1;
  int sign = -1;
  std::vector<Stage<T>> stages;
  int64_t M = 0;                      // Bluestein: 2-3-5-smooth convolution length >= 2n - 1, else 0
  std::unique_ptr<Plan> fwd;          // the length-M transform (its inverse by conjugation)
  std::vector<C<T>> chirp, kernel;    // w^(j^2/2) and the transformed conj chirp (with 1/M)
  // Four-step (long lines, run by the driver): n = n1 * n2, n2 columns of n1 points, the twiddle
  // w_n^(j2 k1), n1 rows of n2 points, stored transposed. n1 = 0: not used.
  int64_t n1 = 0;
  std::unique_ptr<Plan> cols, rows;
  Twiddle tw;
  int64_t work() const { return M ? 2 * M : n; }  // scratch elements a run needs besides x
};

enum class Kind { C2C, R2C, C2R };

template <typename T> struct Job {
  Kind kind = Kind::C2C;
  const Plan<T>* plan = nullptr;  // complex transform per line: n (c2c, odd real n) or n/2 (even real n)
  const C<T>* half = nullptr;     // even real n: w_n^k (forward sign), k <= n/2; else null
  int64_t n = 0;                  // logical length: complex n (c2c), real n (r2c, c2r)
  const void* in = nullptr;       // (outer, in_len, in_inner) contiguous: complex pairs, or reals for r2c
  void* out = nullptr;            // (outer, out_len, out_inner) contiguous: complex pairs, or reals for c2r
  int64_t in_len = 0, out_len = 0, in_inner = 1, out_inner = 1;
  bool conj_in = false, conj_out = false;  // c2c: conjugate the input / output (an inverse is both)
  const Twiddle* tw = nullptr;    // c2c: then entry k of line l times w_{tw->n}^((l % in_inner) k)
  double scale = 1.0;
};

// Runs lines [l0, l1) of a job on the calling thread (in == out is allowed: a group of lines is
// gathered whole before anything is written). lanes = lines per SIMD group.
// post: X[k] for k in [k0, k1) of one contiguous line, X = scale * the r2c bins (k <= h) of the
// half-length transform Z (h values); pre: Z[k], k in [k0, k1) < h, the conjugated input of the
// half-length transform that c2r runs on the bins X (h + 1 values). half: w_2h^k, k <= h.
struct Kernels {
  int lanes_f32, lanes_f64;
  void (*run_f32)(const Job<float>& job, int64_t l0, int64_t l1);
  void (*run_f64)(const Job<double>& job, int64_t l0, int64_t l1);
  void (*post_f32)(const C<float>* Z, int64_t h, const C<float>* half, float scale, C<float>* X, int64_t k0,
                   int64_t k1);
  void (*post_f64)(const C<double>* Z, int64_t h, const C<double>* half, double scale, C<double>* X, int64_t k0,
                   int64_t k1);
  void (*pre_f32)(const C<float>* X, int64_t h, const C<float>* half, C<float>* Z, int64_t k0, int64_t k1);
  void (*pre_f64)(const C<double>* X, int64_t h, const C<double>* half, C<double>* Z, int64_t k0, int64_t k1);
};

}  // namespace fftk

namespace isa_generic { const fftk::Kernels& fft_kernels(); }
namespace isa_avx2 { const fftk::Kernels& fft_kernels(); }
namespace isa_avx512 { const fftk::Kernels& fft_kernels(); }

}  // namespace pyml
