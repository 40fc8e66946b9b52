// Random number generation: the Generator (a Philox4x32-10 key and counter) and the host entries
// of the random ops. A Generator is (seed, offset): every op reserves a range of Philox blocks
// under the generator's lock and advances the offset past it, so a request's values depend only
// on the state it started from. Ops fill tensors in logical (row-major) element order, whatever
// their strides, so x.t().uniform_() and x.uniform_() draw the same sequence. A generator belongs to
// a device: the CPU default one, or one default generator per CUDA device; with the same state the
// CUDA kernels draw the CPU's numbers (cuda/random.cu says which ops match bit for bit).
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include "ops/ops.h"
#include "cpu/philox.h"

namespace pyml {

class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // PyTorch's default seed
  explicit Generator(Device device = Device{}) : device_(device) {}
  Device device() const { return device_; }
  void manual_seed(uint64_t seed);
  uint64_t seed();               // a fresh nondeterministic seed, set and returned
  uint64_t initial_seed() const;
  uint64_t offset() const;
  void set_state(uint64_t seed, uint64_t offset);
  PhiloxState reserve(uint64_t blocks);  // the start of `blocks` fresh blocks

 private:
  mutable std::mutex mu_;
  uint64_t seed_ = kDefaultSeed, offset_ = 0;
  Device device_;
};
using GeneratorPtr = std::shared_ptr<Generator>;
GeneratorPtr default_generator();
// The default generator of CUDA device `index` (RuntimeError when there is no such device).
GeneratorPtr cuda_default_generator(int index);
// A new generator for `dev` (RuntimeError for a CUDA device that does not exist).
GeneratorPtr make_generator(Device dev);

// In-place fills; t is a tensor of any strides on any device. g == nullptr uses the default
// generator of t's device; a given generator must belong to t's device.
void uniform_(const Tensor& t, double from, double to, Generator* g);
void normal_(const Tensor& t, double mean, double std, Generator* g);
void exponential_(const Tensor& t, double lambd, Generator* g);
// Integers in [from, to); no `to`: up to the dtype's largest value (2^digits for float types).
void random_(const Tensor& t, int64_t from, std::optional<int64_t> to, Generator* g);
// t[i] = 1 with probability p[i] (p broadcast to t's shape) or with the scalar probability.
void bernoulli_(const Tensor& t, const Tensor& p, Generator* g);
void bernoulli_scalar_(const Tensor& t, double p, Generator* g);
Tensor bernoulli(const Tensor& p, Generator* g);
// mean + std * N(0, 1) over the broadcast shape of mean and std (floating dtypes, std >= 0)
Tensor normal(const Tensor& mean, const Tensor& std, Generator* g);
// w: (K,) or (rows, K) non-negative weights -> int64 (num_samples,) or (rows, num_samples)
Tensor multinomial(const Tensor& w, int64_t num_samples, bool replacement, Generator* g);
// On CUDA the permutation is drawn on the host from the device generator's stream (Fisher-Yates is
// serial) and copied over: the same permutation as the CPU's for the same state.
Tensor randperm(int64_t n, DType dtype, Generator* g, Device dev = Device{});

}  // namespace pyml
