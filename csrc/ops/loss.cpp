// Host entries of the fused cross-entropy (kernels in cpu/loss.cpp). PyTorch's rules: a target with
// the input's shape holds class probabilities (floating); otherwise it holds class indices (an
// integer tensor shaped like the input without the class dim). Mean reduction divides by the sum
// of the target classes' weights over non-ignored rows (class indices) or by the row count
// (probabilities); label smoothing mixes in eps/C of the uniform distribution (weighted by w).
// CUDA inputs run cuda/loss.cu; the reductions and the mean's divisor then stay on the device, and
// class indices are checked by a device kernel (one small copy back) with the CPU's IndexError.
#include <cmath>
#include "ops/norm.h"
#include "cuda/embedding.h"
#include "cuda/loss.h"

namespace pyml {

namespace {
struct CeGeom {
  int64_t N, C, S;
  Shape rows;    // shape of the per-row loss: input without the class dim
  bool prob;     // probability targets
};

CeGeom ce_geometry(const Tensor& input, const Tensor& target, const char* op) {
  PYML_CHECK(input.dim() >= 1, ValueError, op, ": input must be (C,) or (N, C, *), got input ", input.shape);
  CeGeom g;
  bool unbatched = input.dim() == 1;
  g.N = unbatched ? 1 : input.shape[0];
  g.C = unbatched ? input.shape[0] : input.shape[1];
  g.S = unbatched ? 1 : shape_numel(Shape(input.shape.begin() + 2, input.shape.end()));
  g.rows = input.shape;
  g.rows.erase(g.rows.begin() + (unbatched ? 0 : 1));
  g.prob = target.shape == input.shape;
  if (g.prob) {
    PYML_CHECK(is_floating(target.dtype), TypeError, op, ": a target with the input's shape ", input.shape,
               " holds class probabilities and must be floating point, got dtype ", dtype_name(target.dtype));
  } else {
    PYML_CHECK(target.shape == g.rows, ValueError, op, ": expected target of shape ", g.rows,
               " (class indices) or ", input.shape, " (probabilities) for input ", input.shape, ", got target ",
               target.shape);
    PYML_CHECK(is_integral(target.dtype, false), TypeError, op, ": class-index target must be an integer tensor "
               "(int64), got dtype ", dtype_name(target.dtype), " for target ", target.shape);
  }
  return g;
}

// class indices as contiguous int64, each checked against [0, C) unless it is ignore_index
Tensor ce_indices(const Tensor& target, const CeGeom& g, int64_t ignore_index, const Tensor& input, const char* op) {
  Tensor t = contiguous(to_dtype(target, DType::Int64));
  const int64_t* tp = t.ptr<int64_t>();
  auto check = [&](int64_t v) {
    PYML_CHECK(v == ignore_index || (v >= 0 && v < g.C), IndexError, op, ": target ", v, " is out of bounds for ",
               g.C, " classes (valid 0..", g.C - 1, " or ignore_index ", ignore_index, "); input ", input.shape,
               ", target ", target.shape);
  };
  if (!t.device().is_cpu()) {
    int dev = t.device().index;
    int64_t i = first_bad_index_cuda(tp, t.numel(), g.C, true, ignore_index, dev);
    int64_t v = 0;
    if (i >= 0) cuda_memcpy(&v, tp + i, sizeof(int64_t), CopyKind::DeviceToHost, dev);
    if (i >= 0) check(v);
    return t;
  }
  for (int64_t i = 0, n = t.numel(); i < n; i++) check(tp[i]);
  return t;
}

OptTensor ce_weight(const OptTensor& w, const CeGeom& g, DType ct, const Tensor& input, const char* op) {
  if (!w) return std::nullopt;
  check_same_device(input, *w, op);
  norm_compute_dtype(*w, op, "weight");
  PYML_CHECK(w->shape == Shape{g.C}, ValueError, op, ": weight must have shape (C,) = ", Shape{g.C},
             ", got weight ", w->shape, "; input ", input.shape);
  return norm_prep(*w, ct);
}

CrossEntropyParams ce_params(const CeGeom& g, DType ct, const Tensor& x, const Tensor& t, const OptTensor& w,
                             int64_t ignore_index, double smoothing, const Tensor& lse) {
  CrossEntropyParams p;
  p.dtype = ct; p.N = g.N; p.C = g.C; p.S = g.S;
  p.x = x.data();
  p.target = g.prob ? nullptr : t.ptr<int64_t>();
  p.prob = g.prob ? t.data() : nullptr;
  p.w = w ? w->data() : nullptr;
  p.ignore_index = ignore_index;
  p.smoothing = smoothing;
  p.lse = lse.data();
  return p;
}

Tensor prep_target(const Tensor& target, const CeGeom& g, DType ct, int64_t ignore_index, const Tensor& input,
                   const char* op) {
  check_same_device(input, target, op);
  return g.prob ? norm_prep(target, ct) : ce_indices(target, g, ignore_index, input, op);
}
}  // namespace

namespace {
struct CeForward { Tensor loss, lse, denom, dx; };

// forward on any device; with `grad` (CPU only) also dx for a unit loss gradient, in input's dtype
CeForward ce_forward(const Tensor& input, const Tensor& target, const OptTensor& weight, int64_t reduction,
                     int64_t ignore_index, double smoothing, bool grad, const char* op) {
  DType ct = norm_compute_dtype(input, op, "input");
  Device dev = input.device();
  CeGeom g = ce_geometry(input, target, op);
  PYML_CHECK(smoothing >= 0.0 && smoothing <= 1.0, ValueError, op, ": label_smoothing must be between 0.0 and 1.0, got ",
             smoothing);
  PYML_CHECK(reduction >= 0 && reduction <= 2, ValueError, op, ": reduction must be 'none', 'mean' or 'sum'");
  PYML_CHECK(g.C > 0 || g.N * g.S == 0, ValueError, op, ": input must have at least one class, got input ", input.shape);
  OptTensor w = ce_weight(weight, g, ct, input, op);
  Tensor t = prep_target(target, g, ct, ignore_index, input, op);
  Tensor x = norm_prep(input, ct), lse = empty({g.N * g.S}, ct, dev), rows = empty(g.rows, ct, dev);
  CrossEntropyParams p = ce_params(g, ct, x, t, w, ignore_index, smoothing, lse);
  if (!dev.is_cpu()) {
    Tensor reduced = empty({}, ct, dev), d = empty({}, DType::Float64, dev);
    cross_entropy_forward_cuda(p, rows.data(), reduction, reduced.data(), d.ptr<double>(), dev.index);
    Tensor loss = reduction == 0 ? rows : reduced;
    return {loss.dtype == input.dtype ? loss : to_dtype(loss, input.dtype), lse, d, Tensor()};
  }
  Tensor dx = grad ? empty(x.shape, ct, dev) : Tensor();
  std::pair<double, double> tot{0.0, 0.0};
  if (g.N * g.S > 0) tot = cross_entropy_forward_cpu(p, rows.data(), grad ? dx.data() : nullptr, reduction == 1);
  double denom = g.prob ? (double)(g.N * g.S) : tot.second;
  Tensor d = scalar_tensor(Scalar::from_double(denom), DType::Float64);
  Tensor loss = rows;
  if (reduction == 1) loss = scalar_tensor(Scalar::from_double(g.N * g.S > 0 ? tot.first / denom : NAN), ct);
  if (reduction == 2) loss = scalar_tensor(Scalar::from_double(tot.first), ct);
  if (grad && dx.dtype != input.dtype) dx = to_dtype(dx, input.dtype);
  return {loss.dtype == input.dtype ? loss : to_dtype(loss, input.dtype), lse, d, dx};
}
}  // namespace

std::tuple<Tensor, Tensor, Tensor> cross_entropy_forward(const Tensor& input, const Tensor& target,
                                                         const OptTensor& weight, int64_t reduction,
                                                         int64_t ignore_index, double smoothing) {
  CeForward f = ce_forward(input, target, weight, reduction, ignore_index, smoothing, false, "cross_entropy");
  return {f.loss, f.lse, f.denom};
}

std::tuple<Tensor, Tensor, Tensor, Tensor> cross_entropy_forward_grad(const Tensor& input, const Tensor& target,
                                                                      const OptTensor& weight, int64_t reduction,
                                                                      int64_t ignore_index, double smoothing) {
  const char* op = "cross_entropy_forward_grad";
  PYML_CHECK(input.device().is_cpu(), RuntimeError, op, ": CPU tensors only, got input on ", input.device().str());
  PYML_CHECK(reduction == 1 || reduction == 2, ValueError, op, ": reduction must be 'mean' (1) or 'sum' (2), got ",
             reduction);
  CeForward f = ce_forward(input, target, weight, reduction, ignore_index, smoothing, true, op);
  return {f.loss, f.lse, f.denom, f.dx};
}

std::tuple<OptTensor, OptTensor> cross_entropy_backward(const Tensor& dloss, const Tensor& input, const Tensor& target,
                                                        const OptTensor& weight, const Tensor& lse, const Tensor& denom,
                                                        int64_t reduction, int64_t ignore_index, double smoothing,
                                                        std::vector<bool> need) {
  const char* op = "cross_entropy_backward";
  DType ct = norm_compute_dtype(input, op, "input");
  CeGeom g = ce_geometry(input, target, op);
  need.resize(2, false);
  need[1] = need[1] && g.prob;
  Shape want = reduction == 0 ? g.rows : Shape{};
  PYML_CHECK(dloss.shape == want, ValueError, op, ": grad_output must have shape ", want, ", got ", dloss.shape);
  PYML_CHECK(lse.numel() == g.N * g.S, ValueError, op, ": saved lse has ", lse.numel(), " rows, expected ", g.N * g.S);
  Device dev = input.device();
  for (const Tensor* o : {&dloss, &lse, &denom}) check_same_device(input, *o, op);
  OptTensor w = ce_weight(weight, g, ct, input, op);
  Tensor t = prep_target(target, g, ct, ignore_index, input, op);
  Tensor x = norm_prep(input, ct), l = norm_prep(lse, ct);
  Tensor dx = need[0] ? empty(x.shape, ct, dev) : Tensor(), dp = need[1] ? empty(x.shape, ct, dev) : Tensor();
  Tensor dl = reduction == 0 ? norm_prep(dloss, ct) : Tensor();
  CrossEntropyParams p = ce_params(g, ct, x, t, w, ignore_index, smoothing, l);
  if (!dev.is_cpu()) {  // the scalar gradient and the divisor stay on the device
    Tensor num = reduction != 0 ? contiguous(to_dtype(dloss, DType::Float64)) : Tensor();
    Tensor den = reduction == 1 ? contiguous(to_dtype(denom, DType::Float64)) : Tensor();
    cross_entropy_backward_cuda(p, reduction == 0 ? dl.data() : nullptr, num.defined() ? num.ptr<double>() : nullptr,
                                den.defined() ? den.ptr<double>() : nullptr, need[0] ? dx.data() : nullptr,
                                need[1] ? dp.data() : nullptr, dev.index);
  }
  double scale = 0;
  if (reduction != 0 && dev.is_cpu()) {
    scale = to_dtype(dloss, DType::Float64).ptr<double>()[0];
    if (reduction == 1) scale /= to_dtype(denom, DType::Float64).ptr<double>()[0];
  }
  if (dev.is_cpu() && g.N * g.S > 0 && (need[0] || need[1]))
    cross_entropy_backward_cpu(p, reduction == 0 ? dl.data() : nullptr, scale, need[0] ? dx.data() : nullptr,
                               need[1] ? dp.data() : nullptr);
  OptTensor rdx, rdp;
  if (need[0]) rdx = dx.dtype == input.dtype ? dx : to_dtype(dx, input.dtype);
  if (need[1]) rdp = dp.dtype == target.dtype ? dp : to_dtype(dp, target.dtype);
  return {rdx, rdp};
}

}  // namespace pyml
