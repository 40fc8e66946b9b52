// Fused optimizer steps on the GPU (SGD, Adam/AdamW/AMSGrad, Adagrad, RMSprop, Adamax, NAdam,
// RAdam): one launch updates up to kMaxTensors parameters with their states. The tensor list
// travels in the kernel's parameter struct; each block takes chunks of kChunk elements from the
// concatenated list (a prefix table maps a chunk to its tensor), so tensors of any mix of sizes keep
// the whole GPU busy. Arithmetic repeats cpu/optim.cpp operation by operation in the parameter's
// dtype with explicitly rounded adds and multiplies (no FMA contraction) and IEEE division and
// square root, so the result equals the CPU step bit for bit.
#include "optim.h"
#include "cuda_common.cuh"

namespace pyml {
namespace {

constexpr int kMaxTensors = 48;
constexpr int64_t kChunk = 4096;  // elements per block chunk

struct Batch {
  void* p[kMaxTensors];
  const void* g[kMaxTensors];
  void* s0[kMaxTensors];
  void* s1[kMaxTensors];
  void* s2[kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t chunk_start[kMaxTensors + 1];  // chunks of tensors before t; [count] = total
  int count;
};

// Rounded arithmetic that the compiler may not fuse into FMAs.
__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline double add(double a, double b) { return __dadd_rn(a, b); }
__device__ inline float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline double sub(double a, double b) { return __dsub_rn(a, b); }
__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float dvd(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline double dvd(double a, double b) { return __ddiv_rn(a, b); }
__device__ inline float root(float a) { return __fsqrt_rn(a); }
__device__ inline double root(double a) { return __dsqrt_rn(a); }
template <typename T> __device__ inline T maxv(T a, T b) { return a < b ? b : a; }  // std::max
// torch.lerp: s + w*(e - s) for w < 0.5, else e - (e - s)*(1 - w)
template <typename T> __device__ inline T lerp(T s, T e, T w) {
  return w < T(0.5) ? add(s, mul(w, sub(e, s))) : sub(e, mul(sub(e, s), sub(T(1), w)));
}

// the step's scalars rounded to T on the host, as the CPU kernel rounds them
template <typename T> struct Coeffs {
  T wd, decay, neg, mom, damp1, nlr, w1, b2, w2, bc2s, eps, nss, nclr, md, a, w, cg, ca, bc2, bc1, lr, rect;
  bool l2, dec, first, nesterov, root_mean, first_abs, rectified;
};

template <typename T> Coeffs<T> coeffs(const OptimStep& o) {
  Coeffs<T> k;
  k.wd = (T)o.weight_decay; k.decay = (T)o.decay_factor; k.neg = o.maximize ? T(-1) : T(1);
  k.mom = (T)o.momentum; k.damp1 = (T)(1 - o.dampening); k.nlr = (T)(-o.lr);
  k.w1 = (T)(1 - o.beta1); k.b2 = (T)o.beta2; k.w2 = (T)(1 - o.beta2); k.bc2s = (T)o.bc2_sqrt; k.eps = (T)o.eps;
  k.nss = (T)(-o.step_size); k.nclr = (T)(-o.clr); k.md = (T)o.mean_div; k.a = (T)o.alpha; k.w = (T)(1 - o.alpha);
  k.cg = (T)o.c_grad; k.ca = (T)o.c_avg; k.bc2 = (T)o.bc2; k.bc1 = (T)o.bc1; k.lr = (T)o.lr; k.rect = (T)o.rect;
  k.l2 = !o.decoupled && o.weight_decay != 0; k.dec = o.decoupled && o.weight_decay != 0;
  k.first = o.first; k.nesterov = o.nesterov; k.root_mean = o.root_mean; k.first_abs = o.first_abs;
  k.rectified = o.rect > 0;
  return k;
}

// One element of one tensor. p, g, s0..s2 point at the element (state pointers may be null).
template <typename T, int A>
__device__ inline void step_elem(T* p, const T* g, T* s0, T* s1, T* s2, const Coeffs<T>& k) {
  if (A == OptimStep::NAdam || A == OptimStep::RAdam) {
    if (k.dec) *p = mul(*p, k.decay);
  }
  T pv = (A == OptimStep::Adam && k.dec) ? mul(*p, k.decay) : *p;
  T d = mul(k.neg, *g);
  if (k.l2) d = add(d, mul(k.wd, pv));
  if (A == OptimStep::SGD) {
    if (!s0) { *p = add(pv, mul(k.nlr, d)); return; }
    T buf = k.first ? d : add(mul(*s0, k.mom), mul(k.damp1, d));
    *s0 = buf;
    *p = add(pv, mul(k.nlr, k.nesterov ? add(d, mul(k.mom, buf)) : buf));
  } else if (A == OptimStep::Adam) {
    T m = lerp(*s0, d, k.w1), v = add(mul(*s1, k.b2), mul(mul(k.w2, d), d));
    *s0 = m;
    *s1 = v;
    if (s2) { v = maxv(*s2, v); *s2 = v; }
    *p = add(pv, dvd(mul(k.nss, m), add(dvd(root(v), k.bc2s), k.eps)));
  } else if (A == OptimStep::Adagrad) {
    T s = add(*s0, mul(d, d));
    *s0 = s;
    T den = k.root_mean ? root(dvd(s, k.md)) : add(root(s), k.eps);
    *p = add(pv, dvd(mul(k.nclr, d), den));
  } else if (A == OptimStep::RMSprop) {
    T sq = k.first_abs ? mul(d, d) : add(mul(*s0, k.a), mul(mul(k.w, d), d));
    *s0 = sq;
    T avg;
    if (s2) {
      T ga = lerp(*s2, d, k.w);
      *s2 = ga;
      avg = root(add(sq, mul(mul(T(-1), ga), ga)));
    } else {
      avg = root(sq);
    }
    avg = add(avg, k.eps);
    if (s1) {
      T buf = add(mul(*s1, k.mom), dvd(d, avg));
      *s1 = buf;
      *p = add(pv, mul(k.nlr, buf));
    } else {
      *p = add(pv, dvd(mul(k.nlr, d), avg));
    }
  } else if (A == OptimStep::Adamax) {
    T m = lerp(*s0, d, k.w1), u = maxv(mul(*s1, k.b2), add(fabs(d), k.eps));
    *s0 = m;
    *s1 = u;
    *p = add(pv, dvd(mul(k.nclr, m), u));
  } else if (A == OptimStep::NAdam) {
    T m = lerp(*s0, d, k.w1), v = add(mul(*s1, k.b2), mul(mul(k.w2, d), d));
    *s0 = m;
    *s1 = v;
    T den = add(root(dvd(v, k.bc2)), k.eps);
    T q = add(pv, dvd(mul(k.cg, d), den));
    *p = add(q, dvd(mul(k.ca, m), den));
  } else {  // RAdam
    T m = lerp(*s0, d, k.w1), v = add(mul(*s1, k.b2), mul(mul(k.w2, d), d));
    *s0 = m;
    *s1 = v;
    T bcm = dvd(m, k.bc1);
    if (k.rectified) *p = sub(pv, mul(mul(mul(bcm, k.lr), dvd(k.bc2s, add(root(v), k.eps))), k.rect));
    else *p = sub(pv, mul(bcm, k.lr));
  }
}

// Block-chunk c of the concatenated tensors: tensor t, elements [first, last).
template <typename T, int A> __global__ void optim_kernel(Batch b, Coeffs<T> k) {
  int64_t total = b.chunk_start[b.count];
  for (int64_t c = blockIdx.x; c < total; c += gridDim.x) {
    int t = 0;
    while (c >= b.chunk_start[t + 1]) t++;
    int64_t first = (c - b.chunk_start[t]) * kChunk, last = first + kChunk < b.n[t] ? first + kChunk : b.n[t];
    T *p = (T*)b.p[t], *s0 = (T*)b.s0[t], *s1 = (T*)b.s1[t], *s2 = (T*)b.s2[t];
    const T* g = (const T*)b.g[t];
    for (int64_t i = first + threadIdx.x; i < last; i += blockDim.x)
      step_elem<T, A>(p + i, g + i, s0 ? s0 + i : nullptr, s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr, k);
  }
}

template <typename T, int A> void launch(const Batch& b, const Coeffs<T>& k, int index) {
  unsigned blocks = (unsigned)std::min<int64_t>(b.chunk_start[b.count], 65535LL * 8);
  optim_kernel<T, A><<<blocks, cuda::kThreads, 0, cuda::stream(index)>>>(b, k);
  PYML_CUDA_LAUNCH_CHECK("optim_step");
}

template <typename T> void launch_algo(const OptimStep& o, const Batch& b, int index) {
  Coeffs<T> k = coeffs<T>(o);
  switch (o.algo) {
    case OptimStep::SGD: return launch<T, OptimStep::SGD>(b, k, index);
    case OptimStep::Adam: return launch<T, OptimStep::Adam>(b, k, index);
    case OptimStep::Adagrad: return launch<T, OptimStep::Adagrad>(b, k, index);
    case OptimStep::RMSprop: return launch<T, OptimStep::RMSprop>(b, k, index);
    case OptimStep::Adamax: return launch<T, OptimStep::Adamax>(b, k, index);
    case OptimStep::NAdam: return launch<T, OptimStep::NAdam>(b, k, index);
    case OptimStep::RAdam: return launch<T, OptimStep::RAdam>(b, k, index);
  }
}

}  // namespace

void optim_step_cuda(const OptimStep& o, DType dtype, const std::vector<OptimTensorPtrs>& tensors, int index) {
  cuda::DeviceGuard guard(index);
  Batch b{};
  for (size_t i = 0; i < tensors.size(); i++) {
    const OptimTensorPtrs& t = tensors[i];
    if (t.n == 0) continue;
    int c = b.count++;
    b.p[c] = t.p; b.g[c] = t.g; b.s0[c] = t.s[0]; b.s1[c] = t.s[1]; b.s2[c] = t.s[2]; b.n[c] = t.n;
    b.chunk_start[c + 1] = b.chunk_start[c] + (t.n + kChunk - 1) / kChunk;
    bool full = b.count == kMaxTensors, last = i + 1 == tensors.size();
    if (!full && !last) continue;
    if (dtype == DType::Float64) launch_algo<double>(o, b, index); else launch_algo<float>(o, b, index);
    b = Batch{};
  }
  if (b.count > 0) {  // the list ended with empty tensors after a partial batch
    if (dtype == DType::Float64) launch_algo<double>(o, b, index); else launch_algo<float>(o, b, index);
  }
}

}  // namespace pyml
