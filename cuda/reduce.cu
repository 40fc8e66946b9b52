// CUDA reductions: sum/prod/mean/nan*/amax/amin/arg max-min/all/any/count/var/logsumexp/norm over
// any set of dims of an arbitrarily strided input. The host hands kept dims (output index ->
// input and output offsets) and reduced dims (reduction index -> input offset), innermost first.
// One kernel for every op: a block of 256 threads = X outputs x R lanes (R a power of 2). When
// the reduced dims are innermost, lanes are adjacent threads (tid % R) reading adjacent elements
// of one output; when a kept dim is innermost, adjacent threads are adjacent outputs (tid % X) and
// the R lanes split the reduction rows, so loads stay coalesced either way. Few outputs with long
// reductions split the range over blockIdx.y; partials go to a workspace and a second kernel
// combines them in order. Lanes combine in a fixed shared-memory tree: deterministic, no atomics.
// Accumulators: int64 for integer sums, double for float32/float64 sums, float for half types.
#include "reduce_common.cuh"

namespace pyml {
namespace {

using cuda::convert;
using cuda::is_nan;

// --- accumulation types: integers sum in int64, float32/float64 in double, half types in float
template <typename T> struct SumAccT { using type = int64_t; };
template <> struct SumAccT<float> { using type = double; };
template <> struct SumAccT<double> { using type = double; };
template <> struct SumAccT<__half> { using type = float; };
template <> struct SumAccT<__nv_bfloat16> { using type = float; };
template <typename T> using sum_acc = typename SumAccT<T>::type;
template <typename T> using om = cuda::acc_t<T>;  // value type for comparisons (half types: float)

// Every op: A, init(), step(a, x, r, c) with r the reduction index and c the output's aux value,
// combine(a, b) (order-free or applied in a fixed order), write(out_offset, a, c).
enum SumMode : int { kPlain, kNanZero, kAbs, kSquare, kPow, kNonzero, kExp };

// sums of f(x) for the modes above; integer inputs use kPlain only
template <typename T> struct SumOp {
  using A = sum_acc<T>;
  static constexpr bool kFloat = cuda::is_float_v<T>;
  using Out = std::conditional_t<kFloat, T, int64_t>;
  Out* out;
  int mode;
  double scale, p;
  __device__ A init() const { return A(0); }
  __device__ void step(A& a, T x, int64_t, double c) const {
    if constexpr (!kFloat) {
      a += convert<A>(x);
    } else {
      om<T> v = convert<om<T>>(x);
      switch (mode) {
        case kNanZero: a += is_nan(v) ? A(0) : A(v); break;
        case kAbs: a += A(v < 0 ? -v : v); break;
        case kSquare: a += A(v) * A(v); break;
        case kPow: a += A(pow(fabs(double(v)), p)); break;
        case kNonzero: a += A(v != 0); break;
        case kExp: a += exp_shifted(v, c); break;
        default: a += A(v);
      }
    }
  }
  __device__ static A exp_shifted(om<T> v, double c) {
    if constexpr (std::is_same_v<om<T>, double>) return exp(v - shift(c));
    else return A(expf(v - float(shift(c))));
  }
  // logsumexp's shift: the slice max, 0 where it is infinite (NaN stays NaN)
  __device__ static double shift(double c) { return isinf(c) ? 0.0 : c; }
  __device__ A combine(A a, A b) const { return a + b; }
  __device__ void write(int64_t o, A a, double c) const {
    if constexpr (!kFloat) {
      out[o] = a;
    } else {
      double r = double(a);
      switch (mode) {
        case kSquare: r = sqrt(r); break;
        case kPow: r = pow(r, 1.0 / p); break;
        case kExp: r = log(r) + shift(c); break;
        default: r = r * scale;
      }
      out[o] = convert<T>(r);
    }
  }
};

template <typename T> struct ProdOp {
  using A = sum_acc<T>;
  using Out = std::conditional_t<cuda::is_float_v<T>, T, int64_t>;
  Out* out;
  __device__ A init() const { return A(1); }
  __device__ void step(A& a, T x, int64_t, double) const { a *= convert<A>(convert<om<T>>(x)); }
  __device__ A combine(A a, A b) const { return a * b; }
  __device__ void write(int64_t o, A a, double) const { out[o] = convert<Out>(a); }
};

// max/min (of |x| for the inf/-inf norms), NaN propagating
template <typename T> struct ExtOp {
  using U = om<T>;
  using A = U;
  T* out;
  bool is_max, use_abs;
  __device__ A init() const {
    if (use_abs && is_max) return U(0);
    return is_max ? cuda::lowest<U>() : cuda::highest<U>();
  }
  __device__ bool better(U x, U a) const { return (is_max ? x > a : x < a) || is_nan(x); }
  __device__ void step(A& a, T x, int64_t, double) const {
    U v = convert<U>(x);
    if constexpr (cuda::is_float_v<T>) if (use_abs) v = v < 0 ? -v : v;
    a = better(v, a) ? v : a;
  }
  __device__ A combine(A a, A b) const { return better(b, a) ? b : a; }
  __device__ void write(int64_t o, A a, double) const { out[o] = convert<T>(a); }
};

// arg max/min: the first index of the extreme value; the first NaN wins over any number
template <typename U> struct ValIdx { U v; int64_t i; };
template <typename T> struct ArgOp {
  using U = om<T>;
  using A = ValIdx<U>;
  T* out;
  int64_t* idx;
  bool is_max;
  __device__ A init() const { return {is_max ? cuda::lowest<U>() : cuda::highest<U>(), -1}; }
  __device__ bool better(U x, U a) const { return (is_max ? x > a : x < a) || (is_nan(x) && !is_nan(a)); }
  // each thread visits increasing r, so a tie keeps the earlier index
  __device__ void step(A& a, T x, int64_t r, double) const {
    U v = convert<U>(x);
    if (a.i < 0 || better(v, a.v)) a = {v, r};
  }
  __device__ A combine(A a, A b) const {  // order-free: equal values keep the smaller index
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    if (better(b.v, a.v)) return b;
    if (better(a.v, b.v)) return a;
    return b.i < a.i ? b : a;
  }
  __device__ void write(int64_t o, A a, double) const { out[o] = convert<T>(a.v); idx[o] = a.i; }
};

// count_nonzero (int64 out), all (count == N) and any (count > 0) (bool out)
enum CountMode : int { kCount, kAll, kAny };
template <typename T> struct CountOp {
  using A = int64_t;
  char* out;
  int mode;
  int64_t nred;
  __device__ A init() const { return 0; }
  __device__ void step(A& a, T x, int64_t, double) const { a += convert<om<T>>(x) != om<T>(0); }
  __device__ A combine(A a, A b) const { return a + b; }
  __device__ void write(int64_t o, A a, double) const {
    if (mode == kCount) reinterpret_cast<int64_t*>(out)[o] = a;
    else reinterpret_cast<bool*>(out)[o] = mode == kAll ? a == nred : a > 0;
  }
};

template <typename S> struct SumCount { S s; int64_t c; };
template <typename T> struct NanMeanOp {
  using A = SumCount<sum_acc<T>>;
  T* out;
  __device__ A init() const { return {0, 0}; }
  __device__ void step(A& a, T x, int64_t, double) const {
    om<T> v = convert<om<T>>(x);
    if (!is_nan(v)) { a.s += v; a.c++; }
  }
  __device__ A combine(A a, A b) const { return {a.s + b.s, a.c + b.c}; }
  __device__ void write(int64_t o, A a, double) const { out[o] = convert<T>(double(a.s) / double(a.c)); }
};

// Squared deviations from a per-output shift c (the mean): M2 = sum d^2 - (sum d)^2 / N with
// d = x - c, exact for any c (as the CPU kernel); in double for every float type.
struct Dev { double d1, d2; };
template <typename T> struct SqDevOp {
  using A = Dev;
  T* out;
  double scale, inv_n;
  bool take_sqrt;
  __device__ A init() const { return {0, 0}; }
  __device__ void step(A& a, T x, int64_t, double c) const {
    double d = double(convert<om<T>>(x)) - c;
    a.d1 += d; a.d2 += d * d;
  }
  __device__ A combine(A a, A b) const { return {a.d1 + b.d1, a.d2 + b.d2}; }
  __device__ void write(int64_t o, A a, double) const {
    double m2 = a.d2 - a.d1 * a.d1 * inv_n, v = (m2 < 0 ? 0.0 : m2) * scale;
    out[o] = convert<T>(take_sqrt ? sqrt(v) : v);
  }
};

// --- kernels
struct RedShape {
  cuda::Geom kept;   // output index -> (input offset, output offset)
  cuda::Geom red;    // reduction index -> input offset
  int64_t nout, nred, chunk;  // chunk: reduction elements per blockIdx.y
  int R;                      // lanes per output (power of 2); X = kThreads / R outputs per block
  bool lanes_inner;           // lane = tid % R (reduced dims innermost), else lane = tid / X
};

// in: strided input at its offset; part: (gridDim.y, nout) partials, or null to write outputs.
// aux: per-output doubles laid out like the output (or null).
template <class Op, typename T>
__global__ void reduce_kernel(const T* in, RedShape S, Op op, const double* aux, typename Op::A* part) {
  using A = typename Op::A;
  A* sm = cuda::scratch<A>();
  const int R = S.R, X = cuda::kThreads / R, t = threadIdx.x;
  const int lane = S.lanes_inner ? t % R : t / X, col = S.lanes_inner ? t / R : t % X;
  const int lstride = S.lanes_inner ? 1 : X;  // scratch slots between neighbouring lanes
  const int64_t r0 = blockIdx.y * S.chunk, r1 = min(S.nred, r0 + S.chunk);
  const int64_t nblk = (S.nout + X - 1) / X;
  for (int64_t b = blockIdx.x; b < nblk; b += gridDim.x) {
    int64_t o = b * X + col, ia = 0, ob = 0;
    double c = 0;
    A acc = op.init();
    if (o < S.nout) {
      S.kept.offsets(o, ia, ob);
      if (aux) c = aux[ob];
      for (int64_t r = r0 + lane; r < r1; r += R) op.step(acc, in[ia + S.red.offset_a(r)], r, c);
    }
    __syncthreads();  // the previous iteration's results are read
    sm[t] = acc;
    __syncthreads();
    for (int s = R / 2; s > 0; s >>= 1) {
      if (lane < s) sm[t] = op.combine(sm[t], sm[t + s * lstride]);
      __syncthreads();
    }
    if (lane == 0 && o < S.nout) {
      if (part) part[blockIdx.y * S.nout + o] = sm[t];
      else op.write(ob, sm[t], c);
    }
  }
}

// part: (nsplit, nout) partials of reduce_kernel, combined in split order
template <class Op>
__global__ void reduce_finish_kernel(Op op, const typename Op::A* part, int64_t nsplit, cuda::Geom kept,
                                     int64_t nout, const double* aux) {
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < nout; o += (int64_t)gridDim.x * blockDim.x) {
    typename Op::A acc = part[o];
    for (int64_t s = 1; s < nsplit; s++) acc = op.combine(acc, part[s * nout + o]);
    int64_t ia, ob;
    kept.offsets(o, ia, ob);
    op.write(ob, acc, aux ? aux[ob] : 0.0);
  }
}

const char* kind_name(RedKind k) {
  static const char* names[] = {"sum", "prod", "amax", "amin", "argmax", "argmin", "all", "any", "count_nonzero",
                                "nansum", "nanmean", "var", "logsumexp", "norm", "norm", "norm", "norm", "norm",
                                "norm"};
  return names[(int)k];
}

// Launch shape: lanes per output, blocks over outputs, and a split of long reductions.
RedShape plan(const ReduceParams& p, const char* op) {
  RedShape S;
  S.kept = cuda::make_geom(p.kept, op);
  S.red = cuda::make_geom(p.red, op);
  S.nout = p.nout;
  S.nred = p.nred;
  S.lanes_inner = p.kept.size.empty() || cuda::abs64(p.red.sa[0]) <= cuda::abs64(p.kept.sa[0]);
  if (S.lanes_inner) {
    S.R = cuda::pow2_at_least(p.nred, cuda::kThreads);
  } else {
    S.R = p.nred >= 128 ? 8 : p.nred >= 64 ? 4 : p.nred >= 32 ? 2 : 1;
  }
  int64_t X = cuda::kThreads / S.R, nblk = (p.nout + X - 1) / X, nsplit = 1;
  if (nblk < 128) {  // too few blocks to fill the GPU: split each reduction, >= 256 items per lane
    int64_t want = (512 + nblk - 1) / nblk, most = p.nred / (256 * (int64_t)S.R);
    nsplit = std::max<int64_t>(1, std::min<int64_t>({want, most, 65535}));
  }
  S.chunk = std::max<int64_t>(1, (p.nred + nsplit - 1) / nsplit);
  return S;
}

template <class Op, typename T> void launch(const ReduceParams& p, const Op& op, int index) {
  const char* name = kind_name(p.kind);
  RedShape S = plan(p, name);
  int64_t nsplit = std::max<int64_t>(1, (p.nred + S.chunk - 1) / S.chunk);
  int64_t X = cuda::kThreads / S.R, nblk = (p.nout + X - 1) / X;
  cudaStream_t st = cuda::stream(index);
  dim3 grid(cuda::blocks_for(nblk), (unsigned)nsplit);
  const T* in = reinterpret_cast<const T*>(p.in);
  if (nsplit == 1) {
    reduce_kernel<Op, T><<<grid, cuda::kThreads, 0, st>>>(in, S, op, p.aux, nullptr);
    PYML_CUDA_LAUNCH_CHECK(name);
    return;
  }
  using A = typename Op::A;
  Tensor ws = empty({nsplit * p.nout * (int64_t)sizeof(A)}, DType::UInt8, Device{Device::CUDA, (int8_t)index});
  A* part = reinterpret_cast<A*>(ws.data());
  reduce_kernel<Op, T><<<grid, cuda::kThreads, 0, st>>>(in, S, op, p.aux, part);
  PYML_CUDA_LAUNCH_CHECK(name);
  reduce_finish_kernel<Op><<<cuda::grid_for(p.nout), cuda::kThreads, 0, st>>>(op, part, nsplit, S.kept, p.nout, p.aux);
  PYML_CUDA_LAUNCH_CHECK(name);
}

template <typename T> void sum_like(const ReduceParams& p, int mode, int index) {
  SumOp<T> op{reinterpret_cast<typename SumOp<T>::Out*>(p.out), mode, p.scale, p.p};
  launch<SumOp<T>, T>(p, op, index);
}

template <typename T> void ext(const ReduceParams& p, bool is_max, bool use_abs, int index) {
  launch<ExtOp<T>, T>(p, ExtOp<T>{reinterpret_cast<T*>(p.out), is_max, use_abs}, index);
}

template <typename T> void dispatch_kind(const ReduceParams& p, int index) {
  using K = RedKind;
  T* out = reinterpret_cast<T*>(p.out);
  switch (p.kind) {
    case K::Sum: return sum_like<T>(p, kPlain, index);
    case K::Prod: return launch<ProdOp<T>, T>(p, ProdOp<T>{reinterpret_cast<typename ProdOp<T>::Out*>(p.out)}, index);
    case K::Max: return ext<T>(p, true, false, index);
    case K::Min: return ext<T>(p, false, false, index);
    case K::ArgMax: return launch<ArgOp<T>, T>(p, ArgOp<T>{out, p.out2, true}, index);
    case K::ArgMin: return launch<ArgOp<T>, T>(p, ArgOp<T>{out, p.out2, false}, index);
    case K::CountNonzero: return launch<CountOp<T>, T>(p, CountOp<T>{p.out, kCount, p.nred}, index);
    case K::All: return launch<CountOp<T>, T>(p, CountOp<T>{p.out, kAll, p.nred}, index);
    case K::Any: return launch<CountOp<T>, T>(p, CountOp<T>{p.out, kAny, p.nred}, index);
    default: break;
  }
  if constexpr (cuda::is_float_v<T>) {
    switch (p.kind) {
      case K::NanSum: return sum_like<T>(p, kNanZero, index);
      case K::NanMean: return launch<NanMeanOp<T>, T>(p, NanMeanOp<T>{out}, index);
      case K::SqDev:
        return launch<SqDevOp<T>, T>(p, SqDevOp<T>{out, p.scale, 1.0 / double(p.nred), p.sqrt_out}, index);
      case K::SumExp: return sum_like<T>(p, kExp, index);
      case K::NormAbs: return sum_like<T>(p, kAbs, index);
      case K::NormSq: return sum_like<T>(p, kSquare, index);
      case K::NormPow: return sum_like<T>(p, kPow, index);
      case K::NormZero: return sum_like<T>(p, kNonzero, index);
      case K::NormMax: return ext<T>(p, true, true, index);
      case K::NormMin: return ext<T>(p, false, true, index);
      default: break;
    }
  }
  throw RuntimeError(cat_str(kind_name(p.kind), ": internal error, reduction kind ", (int)p.kind,
                             " not compiled for CUDA ", dtype_name(p.dtype)));
}

}  // namespace

void reduce_cuda(const ReduceParams& p, int index) {
  if (p.nout == 0) return;
  cuda::DeviceGuard guard(index);
  PYML_CUDA_DISPATCH_ALL(p.dtype, kind_name(p.kind), [&] { dispatch_kind<scalar_t>(p, index); });
}

}  // namespace pyml
