// Host entries of batch_norm, layer_norm/rms_norm and group_norm: validate shapes, dtypes and
// devices, cast float16/bfloat16 to float32 (kernels run in float32/float64), make operands
// contiguous, allocate on the input's device and call the CPU kernels (cpu/norm.cpp) or the CUDA
// ones (cuda/norm.cu). Batch norm's running statistics are updated here, in place, with PyTorch's
// momentum rule and the unbiased batch variance.
#include <cmath>
#include "core/memory_format.h"
#include "ops/norm.h"
#include "cuda/norm.h"

namespace pyml {

// dtype the kernels compute in for a floating input (raises TypeError for other dtypes)
DType norm_compute_dtype(const Tensor& x, const char* op, const char* what) {
  PYML_CHECK(is_floating(x.dtype), TypeError, op, ": expected a floating point ", what, ", got dtype ",
             dtype_name(x.dtype), " for ", what, " ", x.shape);
  return x.dtype == DType::Float64 ? DType::Float64 : DType::Float32;
}

Tensor norm_prep(const Tensor& t, DType ct) { return contiguous(to_dtype(t, ct)); }

static const void* opt_ptr(const OptTensor& t) { return t ? t->data() : nullptr; }

static OptTensor prep_param(const OptTensor& p, const Shape& want, DType ct, const char* op, const char* name,
                            const Tensor& x) {
  if (!p) return std::nullopt;
  check_same_device(x, *p, op);
  norm_compute_dtype(*p, op, name);
  PYML_CHECK(p->shape == want, ValueError, op, ": ", name, " must have shape ", want, ", got ", name, " ", p->shape, "; input ", x.shape);
  return norm_prep(*p, ct);
}

static Tensor out_as(const Tensor& t, DType dt) { return t.dtype == dt ? t : to_dtype(t, dt); }

// ------------------------------------------------------------------------------ batch_norm
// CUDA batch and group norm keep a channels_last(_3d) input so (their kernels read (N, S, C) too),
// sparing a layout copy on the way in and one on the way out; the CPU kernels take (N, C, S).
static MemoryFormat kernel_format(const Tensor& x) {
  return x.device().is_cpu() ? MemoryFormat::Contiguous : suggest_format(x);
}

// the user-facing result of a kernel output y computed in format f for input x0
static Tensor norm_result(const Tensor& y, const Tensor& x0, MemoryFormat f) {
  if (f == MemoryFormat::Contiguous) return to_format_of(out_as(y, x0.dtype), x0);
  return to_dtype_format(y, x0.dtype, f, "norm");
}

static void update_running(const Tensor& running, const Tensor& stat, double momentum, double factor) {
  Tensor r = to_dtype(contiguous(running), DType::Float64, true);
  double* rp = r.ptr<double>();
  const double* sp = stat.ptr<double>();
  if (!r.device().is_cpu()) batch_norm_update_running_cuda(rp, sp, momentum, factor, r.numel(), r.device().index);
  else for (int64_t c = 0, n = r.numel(); c < n; c++) rp[c] = (1 - momentum) * rp[c] + momentum * factor * sp[c];
  copy_(running, r, "batch_norm");
  running.bump_version();
}

std::tuple<Tensor, Tensor, Tensor> batch_norm_forward(const Tensor& x0, const OptTensor& w0, const OptTensor& b0,
                                                      const OptTensor& rm, const OptTensor& rv, bool training,
                                                      double momentum, double eps) {
  const char* op = "batch_norm";
  DType ct = norm_compute_dtype(x0, op, "input");
  Device dev = x0.device();
  PYML_CHECK(x0.dim() >= 2, ValueError, op, ": expected input of shape (N, C, *) with at least 2 dims, got input ", x0.shape);
  int64_t N = x0.shape[0], C = x0.shape[1], S = x0.numel() / std::max<int64_t>(N * C, 1);
  if (N * C == 0) S = shape_numel(Shape(x0.shape.begin() + 2, x0.shape.end()));
  OptTensor w = prep_param(w0, {C}, ct, op, "weight", x0), b = prep_param(b0, {C}, ct, op, "bias", x0);
  prep_param(rm, {C}, ct, op, "running_mean", x0);
  prep_param(rv, {C}, ct, op, "running_var", x0);
  PYML_CHECK(training || (rm && rv), ValueError, op, ": running_mean and running_var are required when training=False, "
             "got ", rm ? "running_mean" : "no running_mean", " and ", rv ? "running_var" : "no running_var");
  PYML_CHECK(!training || N * S != 1, ValueError, op, ": expected more than 1 value per channel when training, got input ",
             x0.shape);
  const MemoryFormat f = kernel_format(x0);
  Tensor x = to_dtype_format(x0, ct, f, op), y = empty_strided(x.shape, format_strides(x.shape, f, op), ct, dev);
  Tensor mean = empty({C}, DType::Float64, dev), invstd = empty({C}, DType::Float64, dev);
  Tensor var = empty({C}, DType::Float64, dev);
  if (!training) {
    mean = to_dtype(contiguous(*rm), DType::Float64, true);
    Tensor rvd = contiguous(to_dtype(*rv, DType::Float64));
    if (!dev.is_cpu()) batch_norm_invstd_cuda(rvd.ptr<double>(), eps, invstd.ptr<double>(), C, dev.index);
    else for (int64_t c = 0; c < C; c++) invstd.ptr<double>()[c] = 1.0 / std::sqrt(rvd.ptr<double>()[c] + eps);
  }
  BatchNormParams p{ct, N, C, S, x.data(), y.data(), opt_ptr(w), opt_ptr(b), mean.ptr<double>(), invstd.ptr<double>(),
                    var.ptr<double>(), eps, training, f != MemoryFormat::Contiguous};
  if (training && N * S == 0) {  // empty batch: NaN statistics like PyTorch, nothing to normalise
    fill_(mean, Scalar::from_double(NAN));
    fill_(invstd, Scalar::from_double(NAN));
  } else if (C > 0) {
    if (!dev.is_cpu()) batch_norm_forward_cuda(p, dev.index);
    else batch_norm_forward_cpu(p);
  }
  if (training && rm && N * S > 0) update_running(*rm, mean, momentum, 1.0);
  if (training && rv && N * S > 0) update_running(*rv, var, momentum, (double)(N * S) / (double)std::max<int64_t>(N * S - 1, 1));
  return {norm_result(y, x0, f), mean, invstd};  // channels_last in, channels_last out
}

std::tuple<OptTensor, OptTensor, OptTensor> batch_norm_backward(const Tensor& dy0, const Tensor& x0, const OptTensor& w0,
                                                                const Tensor& mean, const Tensor& invstd, bool training,
                                                                std::vector<bool> need) {
  const char* op = "batch_norm_backward";
  DType ct = norm_compute_dtype(x0, op, "input");
  PYML_CHECK(dy0.shape == x0.shape, ValueError, op, ": grad_output must have the input's shape ", x0.shape, ", got ", dy0.shape);
  Device dev = x0.device();
  for (const Tensor* t : {&dy0, &mean, &invstd}) check_same_device(x0, *t, op);
  need.resize(3, false);
  int64_t N = x0.shape[0], C = x0.shape[1], S = shape_numel(Shape(x0.shape.begin() + 2, x0.shape.end()));
  OptTensor w = prep_param(w0, {C}, ct, op, "weight", x0);
  const MemoryFormat f = kernel_format(x0);
  Tensor x = to_dtype_format(x0, ct, f, op), dy = to_dtype_format(dy0, ct, f, op);
  Tensor mc = norm_prep(mean, DType::Float64), ic = norm_prep(invstd, DType::Float64);
  PYML_CHECK(mc.numel() == C && ic.numel() == C, ValueError, op, ": saved statistics must have ", C, " channels");
  Tensor dx = need[0] ? empty_strided(x.shape, format_strides(x.shape, f, op), ct, dev) : Tensor();
  Tensor dw = empty({C}, ct, dev), db = empty({C}, ct, dev);
  BatchNormParams p{ct, N, C, S, x.data(), nullptr, opt_ptr(w), nullptr, mc.ptr<double>(), ic.ptr<double>(), nullptr,
                    0.0, training, f != MemoryFormat::Contiguous};
  if (C > 0) {
    if (N * S == 0) { fill_(dw, Scalar::from_int(0)); fill_(db, Scalar::from_int(0)); }
    else if (!dev.is_cpu()) batch_norm_backward_cuda(p, dy.data(), need[0] ? dx.data() : nullptr, dw.data(), db.data(), dev.index);
    else batch_norm_backward_cpu(p, dy.data(), need[0] ? dx.data() : nullptr, dw.data(), db.data());
  }
  OptTensor rdx, rdw, rdb;
  if (need[0]) rdx = norm_result(dx, x0, f);
  if (need[1]) rdw = w0 ? out_as(dw, w0->dtype) : dw;
  if (need[2]) rdb = db;
  return {rdx, rdw, rdb};
}

// ------------------------------------------------------------------------------ layer_norm
std::tuple<Tensor, Tensor, Tensor> layer_norm_forward(const Tensor& x0, const Shape& nshape, const OptTensor& w0,
                                                      const OptTensor& b0, double eps, bool rms, const char* op) {
  DType ct = norm_compute_dtype(x0, op, "input");
  Device dev = x0.device();
  int64_t k = (int64_t)nshape.size();
  PYML_CHECK(k >= 1, ValueError, op, ": normalized_shape must have at least one dimension, got ", nshape);
  bool ok = x0.dim() >= k && Shape(x0.shape.end() - k, x0.shape.end()) == nshape;
  PYML_CHECK(ok, ValueError, op, ": normalized_shape ", nshape, " must equal the trailing dims of the input, got input ",
             x0.shape);
  OptTensor w = prep_param(w0, nshape, ct, op, "weight", x0), b = prep_param(b0, nshape, ct, op, "bias", x0);
  Shape outer(x0.shape.begin(), x0.shape.end() - k);
  int64_t K = shape_numel(nshape), M = shape_numel(outer);
  Tensor x = norm_prep(x0, ct), y = empty(x.shape, ct, dev);
  Tensor mean = empty(outer, DType::Float64, dev), rstd = empty(outer, DType::Float64, dev);
  RowNormParams p{ct, M, K, x.data(), y.data(), opt_ptr(w), opt_ptr(b), mean.ptr<double>(), rstd.ptr<double>(), nullptr,
                  eps, rms, 0, 0, 0};
  if (M > 0) {
    if (K > 0 && !dev.is_cpu()) layer_norm_forward_cuda(p, dev.index);
    else if (K > 0) layer_norm_forward_cpu(p);
    else { fill_(mean, Scalar::from_double(NAN)); fill_(rstd, Scalar::from_double(NAN)); }
  }
  return {out_as(y, x0.dtype), mean, rstd};
}

std::tuple<OptTensor, OptTensor, OptTensor> layer_norm_backward(const Tensor& dy0, const Tensor& x0, const OptTensor& w0,
                                                                const Tensor& mean, const Tensor& rstd, int64_t k,
                                                                bool rms, std::vector<bool> need) {
  const char* op = rms ? "rms_norm_backward" : "layer_norm_backward";
  DType ct = norm_compute_dtype(x0, op, "input");
  PYML_CHECK(dy0.shape == x0.shape && k >= 1 && k <= x0.dim(), ValueError, op,
             ": grad_output must have the input's shape ", x0.shape, ", got ", dy0.shape);
  Device dev = x0.device();
  for (const Tensor* t : {&dy0, &mean, &rstd}) check_same_device(x0, *t, op);
  need.resize(3, false);
  Shape nshape(x0.shape.end() - k, x0.shape.end());
  OptTensor w = prep_param(w0, nshape, ct, op, "weight", x0);
  int64_t K = shape_numel(nshape), M = x0.numel() / std::max<int64_t>(K, 1);
  if (K == 0) M = shape_numel(Shape(x0.shape.begin(), x0.shape.end() - k));
  Tensor x = norm_prep(x0, ct), dy = norm_prep(dy0, ct);
  Tensor mc = norm_prep(mean, DType::Float64), rc = norm_prep(rstd, DType::Float64);
  PYML_CHECK(mc.numel() == M && rc.numel() == M, ValueError, op, ": saved statistics must have ", M, " rows");
  Tensor dx = need[0] ? empty(x.shape, ct, dev) : Tensor(), dw = empty(nshape, ct, dev), db = empty(nshape, ct, dev);
  fill_(dw, Scalar::from_int(0)); fill_(db, Scalar::from_int(0));
  RowNormParams p{ct, M, K, x.data(), nullptr, opt_ptr(w), nullptr, mc.ptr<double>(), rc.ptr<double>(), nullptr, 0.0,
                  rms, 0, 0, 0};
  if (M > 0 && K > 0 && !dev.is_cpu())
    layer_norm_backward_cuda(p, dy.data(), need[0] ? dx.data() : nullptr, need[1] ? dw.data() : nullptr,
                             need[2] ? db.data() : nullptr, dev.index);
  else if (M > 0 && K > 0)
    layer_norm_backward_cpu(p, dy.data(), need[0] ? dx.data() : nullptr, need[1] ? dw.data() : nullptr,
                            need[2] ? db.data() : nullptr);
  OptTensor rdx, rdw, rdb;
  if (need[0]) rdx = out_as(dx, x0.dtype);
  if (need[1]) rdw = w0 ? out_as(dw, w0->dtype) : dw;
  if (need[2]) rdb = db;
  return {rdx, rdw, rdb};
}

// ------------------------------------------------------------------------------ group_norm
static void group_geometry(const Tensor& x, int64_t G, const char* op, int64_t& N, int64_t& C, int64_t& S) {
  PYML_CHECK(x.dim() >= 2, ValueError, op, ": expected input of shape (N, C, *) with at least 2 dims, got input ", x.shape);
  N = x.shape[0]; C = x.shape[1];
  S = shape_numel(Shape(x.shape.begin() + 2, x.shape.end()));
  PYML_CHECK(G > 0 && C % G == 0, ValueError, op, ": num_channels (", C, ") must be divisible by num_groups (", G,
             "); input ", x.shape);
}

std::tuple<Tensor, Tensor, Tensor, Tensor> group_norm_forward(const Tensor& x0, int64_t G, const OptTensor& w0,
                                                              const OptTensor& b0, double eps, const char* op) {
  DType ct = norm_compute_dtype(x0, op, "input");
  Device dev = x0.device();
  int64_t N, C, S;
  group_geometry(x0, G, op, N, C, S);
  OptTensor w = prep_param(w0, {C}, ct, op, "weight", x0), b = prep_param(b0, {C}, ct, op, "bias", x0);
  const MemoryFormat f = kernel_format(x0);
  Tensor x = to_dtype_format(x0, ct, f, op), y = empty_strided(x.shape, format_strides(x.shape, f, op), ct, dev);
  Tensor mean = empty({N, G}, DType::Float64, dev), rstd = empty({N, G}, DType::Float64, dev);
  Tensor var = empty({N, G}, DType::Float64, dev);
  RowNormParams p{ct, N * G, (C / G) * S, x.data(), y.data(), opt_ptr(w), opt_ptr(b), mean.ptr<double>(),
                  rstd.ptr<double>(), var.ptr<double>(), eps, false, C, G, S, f != MemoryFormat::Contiguous};
  if (N * G > 0) {
    if (S > 0 && !dev.is_cpu()) group_norm_forward_cuda(p, dev.index);
    else if (S > 0) group_norm_forward_cpu(p);
    else for (auto* t : {&mean, &rstd, &var}) fill_(*t, Scalar::from_double(NAN));
  }
  return {norm_result(y, x0, f), mean, rstd, var};
}

std::tuple<OptTensor, OptTensor, OptTensor> group_norm_backward(const Tensor& dy0, const Tensor& x0, const OptTensor& w0,
                                                                const Tensor& mean, const Tensor& rstd, int64_t G,
                                                                std::vector<bool> need) {
  const char* op = "group_norm_backward";
  DType ct = norm_compute_dtype(x0, op, "input");
  PYML_CHECK(dy0.shape == x0.shape, ValueError, op, ": grad_output must have the input's shape ", x0.shape, ", got ", dy0.shape);
  Device dev = x0.device();
  for (const Tensor* t : {&dy0, &mean, &rstd}) check_same_device(x0, *t, op);
  need.resize(3, false);
  int64_t N, C, S;
  group_geometry(x0, G, op, N, C, S);
  OptTensor w = prep_param(w0, {C}, ct, op, "weight", x0);
  const MemoryFormat f = kernel_format(x0);
  Tensor x = to_dtype_format(x0, ct, f, op), dy = to_dtype_format(dy0, ct, f, op);
  Tensor mc = norm_prep(mean, DType::Float64), rc = norm_prep(rstd, DType::Float64);
  PYML_CHECK(mc.numel() == N * G && rc.numel() == N * G, ValueError, op, ": saved statistics must have ", N * G, " rows");
  Tensor dx = need[0] ? empty_strided(x.shape, format_strides(x.shape, f, op), ct, dev) : Tensor();
  Tensor dw = empty({C}, ct, dev), db = empty({C}, ct, dev);
  fill_(dw, Scalar::from_int(0)); fill_(db, Scalar::from_int(0));
  RowNormParams p{ct, N * G, (C / G) * S, x.data(), nullptr, opt_ptr(w), nullptr, mc.ptr<double>(), rc.ptr<double>(),
                  nullptr, 0.0, false, C, G, S, f != MemoryFormat::Contiguous};
  if (N * G > 0 && S > 0 && !dev.is_cpu())
    group_norm_backward_cuda(p, dy.data(), need[0] ? dx.data() : nullptr, need[1] ? dw.data() : nullptr,
                             need[2] ? db.data() : nullptr, dev.index);
  else if (N * G > 0 && S > 0)
    group_norm_backward_cpu(p, dy.data(), need[0] ? dx.data() : nullptr, need[1] ? dw.data() : nullptr,
                            need[2] ? db.data() : nullptr);
  OptTensor rdx, rdw, rdb;
  if (need[0]) rdx = norm_result(dx, x0, f);
  if (need[1]) rdw = w0 ? out_as(dw, w0->dtype) : dw;
  if (need[2]) rdb = db;
  return {rdx, rdw, rdb};
}

}  // namespace pyml
