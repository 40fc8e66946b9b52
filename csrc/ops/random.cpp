// Host entries of the random ops: validate, reserve Philox blocks from the generator of the
// tensor's device, run the kernel of cpu/random.cpp or cuda/random.cu into the tensor (or a
// contiguous buffer copied into a strided one). Value checks of CUDA tensors (probabilities, std,
// multinomial weights) run on the device; one small copy back reports the first bad value.
#include "ops/random.h"
#include <cmath>
#include <limits>
#include <random>
#include <vector>
#include "core/device.h"
#include "cuda/random.h"

namespace pyml {

// ---------------------------------------------------------------------------- Generator
void Generator::manual_seed(uint64_t s) {
  std::lock_guard<std::mutex> lk(mu_);
  seed_ = s;
  offset_ = 0;
}

uint64_t Generator::seed() {
  std::random_device rd;
  uint64_t s = ((uint64_t)rd() << 32) ^ (uint64_t)rd();
  manual_seed(s);
  return s;
}

uint64_t Generator::initial_seed() const { std::lock_guard<std::mutex> lk(mu_); return seed_; }
uint64_t Generator::offset() const { std::lock_guard<std::mutex> lk(mu_); return offset_; }

void Generator::set_state(uint64_t s, uint64_t off) {
  std::lock_guard<std::mutex> lk(mu_);
  seed_ = s;
  offset_ = off;
}

PhiloxState Generator::reserve(uint64_t blocks) {
  std::lock_guard<std::mutex> lk(mu_);
  PhiloxState st{seed_, offset_};
  offset_ += blocks;
  return st;
}

GeneratorPtr default_generator() {
  static GeneratorPtr g = std::make_shared<Generator>();
  return g;
}

GeneratorPtr cuda_default_generator(int index) {
  static std::mutex mu;
  static std::vector<GeneratorPtr> gens;  // one per device, made on first use
  std::lock_guard<std::mutex> lk(mu);
  if (gens.empty())
    for (int i = 0, n = cuda_device_count(); i < n; i++) gens.push_back(std::make_shared<Generator>(Device{Device::CUDA, (int8_t)i}));
  PYML_CHECK(index >= 0 && index < (int)gens.size(), RuntimeError, "cuda default generator: CUDA device index must be "
             "in [0, ", gens.size(), "), got ", index);
  return gens[index];
}

GeneratorPtr make_generator(Device dev) {
  if (!dev.is_cpu()) {
    int n = cuda_device_count();
    PYML_CHECK(dev.index >= 0 && dev.index < n, RuntimeError, "Generator: CUDA device index must be in [0, ", n,
               "), got ", dev.str());
  }
  return std::make_shared<Generator>(dev);
}

// The generator for a request on `dev`: the given one (which must belong to dev) or dev's default.
static Generator& gen_for(Generator* g, Device dev, const char* op) {
  if (!g) return dev.is_cpu() ? *default_generator() : *cuda_default_generator(dev.index);
  PYML_CHECK(g->device() == dev, RuntimeError, op, ": expected a generator for device ", dev.str(),
             " (the tensor's device), got a generator for ", g->device().str());
  return *g;
}

// ---------------------------------------------------------------------------- helpers
static void check_float(const Tensor& t, const char* op) {
  PYML_CHECK(is_floating(t.dtype), TypeError, op, ": expected a floating point tensor, got dtype ",
             dtype_name(t.dtype));
}

static void check_target(const Tensor& t, const char* op) { check_writable(t, op); }

// Run kernel(ptr) producing t's elements in logical order as `dt`, straight into t when it is
// contiguous of that dtype, else through a contiguous buffer (on t's device) and a (casting) copy.
template <typename K>
static void fill_target(const Tensor& t, DType dt, const K& kernel) {
  if (t.numel() == 0) return;
  if (t.is_contiguous() && t.dtype == dt) {
    kernel(t.data());
  } else {
    Tensor tmp = empty(t.shape, dt, t.device());
    kernel(tmp.data());
    copy_(t, tmp);
  }
  t.bump_version();
}

static uint64_t blocks_for(const Tensor& t, int per_block) { return (uint64_t)random_blocks(t.numel(), per_block); }

// contiguous float64 copy of t expanded to shape (how weights and probabilities are scanned)
static Tensor as_f64(const Tensor& t, const Shape& shape) {
  return contiguous(to_dtype(expand(t, shape), DType::Float64));
}

// first flat index of a float64 contiguous tensor whose value lies outside [lo, hi] (NaN included),
// or -1; CUDA tensors are scanned on the device and the bad value is copied back into *bad
static int64_t first_outside(const Tensor& v64, double lo, double hi, double* bad) {
  const double* p = v64.ptr<double>();
  int64_t n = v64.numel();
  if (!v64.device().is_cpu()) {
    int dev = v64.device().index;
    int64_t i = first_outside_cuda(p, n, lo, hi, dev);
    if (i >= 0) cuda_memcpy(bad, p + i, sizeof(double), CopyKind::DeviceToHost, dev);
    return i;
  }
  for (int64_t i = 0; i < n; i++)
    if (!(p[i] >= lo && p[i] <= hi)) { *bad = p[i]; return i; }
  return -1;
}

// ---------------------------------------------------------------------------- continuous
void uniform_(const Tensor& t, double from, double to, Generator* g) {
  check_target(t, "uniform_");
  check_float(t, "uniform_");
  PYML_CHECK(std::isfinite(from) && std::isfinite(to), ValueError,
             "uniform_: from and to must be finite, got from=", from, ", to=", to);
  PYML_CHECK(from <= to, ValueError, "uniform_: expects to return a [from, to) range, got from=", from, " > to=", to);
  Device dev = t.device();
  PhiloxState s = gen_for(g, dev, "uniform_").reserve(blocks_for(t, uniform_per_block(t.dtype)));
  fill_target(t, t.dtype, [&](void* p) {
    if (dev.is_cpu()) uniform_cpu(p, t.dtype, t.numel(), s, from, to);
    else uniform_cuda(p, t.dtype, t.numel(), s, from, to, dev.index);
  });
}

void normal_(const Tensor& t, double mean, double std, Generator* g) {
  check_target(t, "normal_");
  check_float(t, "normal_");
  PYML_CHECK(std >= 0.0, ValueError, "normal_: expects std >= 0.0, got std=", std);
  PYML_CHECK(std::isfinite(mean) && std::isfinite(std), ValueError, "normal_: mean and std must be finite, got mean=",
             mean, ", std=", std);
  Device dev = t.device();
  PhiloxState s = gen_for(g, dev, "normal_").reserve(blocks_for(t, normal_per_block(t.dtype)));
  fill_target(t, t.dtype, [&](void* p) {
    if (dev.is_cpu()) normal_cpu(p, t.dtype, t.numel(), s, mean, std);
    else normal_cuda(p, t.dtype, t.numel(), s, mean, std, dev.index);
  });
}

void exponential_(const Tensor& t, double lambd, Generator* g) {
  check_target(t, "exponential_");
  check_float(t, "exponential_");
  PYML_CHECK(lambd > 0.0, ValueError, "exponential_: expects lambd > 0.0, got lambd=", lambd);
  Device dev = t.device();
  PhiloxState s = gen_for(g, dev, "exponential_").reserve(blocks_for(t, uniform_per_block(t.dtype)));
  fill_target(t, t.dtype, [&](void* p) {
    if (dev.is_cpu()) exponential_cpu(p, t.dtype, t.numel(), s, lambd);
    else exponential_cuda(p, t.dtype, t.numel(), s, lambd, dev.index);
  });
}

Tensor normal(const Tensor& mean, const Tensor& std, Generator* g) {
  check_same_device(mean, std, "normal");
  DType dt = result_type(mean, std);
  PYML_CHECK(is_floating(dt), TypeError, "normal: expected floating point mean and std, got ",
             dtype_name(mean.dtype), " and ", dtype_name(std.dtype));
  Shape shape = broadcast_shapes(mean.shape, std.shape, "normal");
  Device dev = mean.device();
  double bad = 0;
  int64_t i = first_outside(as_f64(std, std.shape), 0.0, INFINITY, &bad);
  PYML_CHECK(i < 0, ValueError, "normal: expects all elements of std >= 0.0, got ", bad, " at flat index ", i);
  Tensor z = empty(shape, dt, dev);
  normal_(z, 0.0, 1.0, g);
  if (!dev.is_cpu()) {  // out = mean + std * z in one kernel, rounded like the two CPU ops
    Tensor out = empty(shape, dt, dev), m = to_dtype(mean, dt), sd = to_dtype(std, dt);
    normal_combine_cuda(ElemIter::make({&out, &m, &sd, &z}), dt, dev.index);
    return out;
  }
  Tensor out = binary(BinaryOp::Add, to_dtype(mean, dt), binary(BinaryOp::Mul, to_dtype(std, dt), z));
  return to_dtype(out, dt);
}

// ---------------------------------------------------------------------------- discrete
// Inclusive [lo, hi] of values `dt` holds exactly (floats: the integers up to 2^digits).
static void int_range(DType dt, double& lo, double& hi) {
  switch (dt) {
    case DType::Bool: lo = 0; hi = 1; return;
    case DType::UInt8: lo = 0; hi = 255; return;
    case DType::Int8: lo = -128; hi = 127; return;
    case DType::Int16: lo = -32768; hi = 32767; return;
    case DType::Int32: lo = -2147483648.0; hi = 2147483647.0; return;
    case DType::Int64: lo = -0x1p63; hi = 0x1p63; return;  // exact checks happen in int64 below
    case DType::Float16: lo = -0x1p11; hi = 0x1p11; return;
    case DType::BFloat16: lo = -0x1p8; hi = 0x1p8; return;
    case DType::Float32: lo = -0x1p24; hi = 0x1p24; return;
    default: lo = -0x1p53; hi = 0x1p53; return;
  }
}

void random_(const Tensor& t, int64_t from, std::optional<int64_t> to, Generator* g) {
  check_target(t, "random_");
  double lo, hi;
  int_range(t.dtype, lo, hi);
  const char* dn = dtype_name(t.dtype);
  PYML_CHECK((double)from >= lo && (t.dtype == DType::Int64 || (double)from <= hi), ValueError,
             "random_: from is out of bounds for ", dn, ", got from=", from);
  int64_t last;  // inclusive upper bound
  if (to) {
    PYML_CHECK(from < *to, ValueError, "random_: expects 'from' to be less than 'to', got from=", from, " >= to=", *to);
    last = *to - 1;
    PYML_CHECK(t.dtype == DType::Int64 || (double)last <= hi, ValueError, "random_: to - 1 is out of bounds for ", dn,
               " (values must lie in [", (int64_t)lo, ", ", (int64_t)hi, "]), got to=", *to);
  } else {
    last = t.dtype == DType::Int64 ? std::numeric_limits<int64_t>::max() : (int64_t)hi;
    PYML_CHECK(from <= last, ValueError, "random_: from is out of bounds for ", dn, ", got from=", from);
  }
  uint64_t range = (uint64_t)last - (uint64_t)from + 1;  // 0 stands for 2^64
  Device dev = t.device();
  PhiloxState s = gen_for(g, dev, "random_").reserve(blocks_for(t, 2));
  fill_target(t, DType::Int64, [&](void* p) {
    if (dev.is_cpu()) randint_cpu(static_cast<int64_t*>(p), t.numel(), s, from, range);
    else randint_cuda(static_cast<int64_t*>(p), t.numel(), s, from, range, dev.index);
  });
}

static void check_probs(const Tensor& p64, const char* op) {
  double bad = 0;
  int64_t i = first_outside(p64, 0.0, 1.0, &bad);
  PYML_CHECK(i < 0, ValueError, op, ": expects all elements of p to be in [0, 1], got ", bad, " at flat index ", i);
}

// out[i] = u_i < p[i] (p64 null: the scalar p) on out's device
static void bernoulli_fill(const Tensor& out, const Tensor* p64, double p, Generator* g, const char* op) {
  Device dev = out.device();
  PhiloxState s = gen_for(g, dev, op).reserve(blocks_for(out, 2));
  const double* pp = p64 ? p64->ptr<double>() : nullptr;
  fill_target(out, DType::Bool, [&](void* o) {
    if (dev.is_cpu()) bernoulli_cpu(static_cast<bool*>(o), pp, p, out.numel(), s);
    else bernoulli_cuda(static_cast<bool*>(o), pp, p, out.numel(), s, dev.index);
  });
}

void bernoulli_(const Tensor& t, const Tensor& p, Generator* g) {
  check_target(t, "bernoulli_");
  check_same_device(t, p, "bernoulli_");
  Shape b = broadcast_shapes(t.shape, p.shape, "bernoulli_");
  PYML_CHECK(b == t.shape, ValueError, "bernoulli_: p of shape ", p.shape, " must be broadcastable to self of shape ",
             t.shape);
  Tensor p64 = as_f64(p, t.shape);
  check_probs(p64, "bernoulli_");
  bernoulli_fill(t, &p64, 0.0, g, "bernoulli_");
}

void bernoulli_scalar_(const Tensor& t, double p, Generator* g) {
  check_target(t, "bernoulli_");
  PYML_CHECK(p >= 0.0 && p <= 1.0, ValueError, "bernoulli_: expects p to be in [0, 1], got p=", p);
  bernoulli_fill(t, nullptr, p, g, "bernoulli_");
}

Tensor bernoulli(const Tensor& p, Generator* g) {
  check_float(p, "bernoulli");
  Tensor out = empty(p.shape, p.dtype, p.device());
  Tensor p64 = as_f64(p, p.shape);
  check_probs(p64, "bernoulli");
  bernoulli_fill(out, &p64, 0.0, g, "bernoulli");
  return out;
}

static void check_weights(const Tensor& w64, int64_t rows, int64_t K) {
  if (!w64.device().is_cpu()) {  // the device finds the first bad row; the messages are the CPU's
    int64_t k = 0;
    double v = 0;
    int64_t r = multinomial_check_cuda(w64.ptr<double>(), rows, K, &k, &v, w64.device().index);
    PYML_CHECK(r < 0 || k < 0, ValueError, "multinomial: probability tensor contains either inf, nan or element < 0, "
               "got ", v, " at row ", r, ", category ", k);
    PYML_CHECK(r < 0, ValueError, "multinomial: invalid multinomial distribution (sum of probabilities must be "
               "positive and finite), got sum ", v, " in row ", r);
    return;
  }
  const double* w = w64.ptr<double>();
  for (int64_t r = 0; r < rows; r++) {
    double sum = 0;
    for (int64_t k = 0; k < K; k++) {
      double v = w[r * K + k];
      PYML_CHECK(std::isfinite(v) && v >= 0.0, ValueError, "multinomial: probability tensor contains either inf, nan "
                 "or element < 0, got ", v, " at row ", r, ", category ", k);
      sum += v;
    }
    PYML_CHECK(sum > 0.0 && std::isfinite(sum), ValueError, "multinomial: invalid multinomial distribution (sum of "
               "probabilities must be positive and finite), got sum ", sum, " in row ", r);
  }
}

Tensor multinomial(const Tensor& w, int64_t ns, bool replacement, Generator* g) {
  PYML_CHECK(is_floating(w.dtype), TypeError, "multinomial: only floating-point dtypes are supported for input, got ",
             dtype_name(w.dtype));
  PYML_CHECK(w.dim() == 1 || w.dim() == 2, ValueError, "multinomial: input must be 1 or 2 dim, got shape ", w.shape);
  int64_t K = w.shape.back(), rows = w.dim() == 2 ? w.shape[0] : 1;
  PYML_CHECK(ns > 0, ValueError, "multinomial: cannot sample num_samples <= 0 samples, got ", ns);
  PYML_CHECK(K > 0, ValueError, "multinomial: input must have at least one category, got shape ", w.shape);
  PYML_CHECK(replacement || ns <= K, ValueError, "multinomial: cannot sample num_samples > number of categories "
             "without replacement, got num_samples=", ns, " and ", K, " categories");
  Tensor w64 = as_f64(w, w.shape);
  check_weights(w64, rows, K);
  Device dev = w.device();
  Tensor out = empty(w.dim() == 2 ? Shape{rows, ns} : Shape{ns}, DType::Int64, dev);
  uint64_t bpr = (uint64_t)multinomial_blocks_per_row(K, ns, replacement);
  PhiloxState s = gen_for(g, dev, "multinomial").reserve(bpr * (uint64_t)rows);
  if (rows > 0 && dev.is_cpu()) multinomial_cpu(out.ptr<int64_t>(), w64.ptr<double>(), rows, K, ns, replacement, s);
  else if (rows > 0) multinomial_cuda(out.ptr<int64_t>(), w64.ptr<double>(), rows, K, ns, replacement, s, dev.index);
  return out;
}

Tensor randperm(int64_t n, DType dtype, Generator* g, Device dev) {
  PYML_CHECK(n >= 0, ValueError, "randperm: n must be non-negative, got ", n);
  PYML_CHECK(dtype != DType::Bool, TypeError, "randperm: dtype bool is not supported, got ", dtype_name(dtype));
  double lo, hi;
  int_range(dtype, lo, hi);
  PYML_CHECK(dtype == DType::Int64 || (double)(n - 1) <= hi, ValueError, "randperm: n is too large for result tensor "
             "type ", dtype_name(dtype), " (values must be at most ", (int64_t)hi, "), got n=", n);
  PhiloxState s = gen_for(g, dev, "randperm").reserve((uint64_t)random_blocks(n, 2));
  Tensor host = empty({n}, dtype);
  fill_target(host, DType::Int64, [&](void* p) { randperm_cpu(static_cast<int64_t*>(p), n, s); });
  if (dev.is_cpu()) return host;
  Tensor out = empty({n}, dtype, dev);  // the serial shuffle ran on the host: one copy over
  copy_(out, host);
  return out;
}

}  // namespace pyml
