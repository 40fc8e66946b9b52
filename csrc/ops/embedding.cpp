// Host entries of embedding and embedding_bag (kernels in cpu/embedding.cpp): index dtype and
// range checks, offsets normalised to (B+1,) starts with offsets[B] = n, padding_idx given as a
// row number (negative = none). The embedding forward is a typed row copy for any dtype; the
// bag forward and all backward passes run in float32/float64. CUDA tensors run cuda/embedding.cu:
// indices are range-checked by a device kernel (one small copy back, the CPU's IndexError), bag
// offsets are validated on the host (a copy of the (B+1,) offsets) and moved back to the device.
#include <algorithm>
#include "ops/norm.h"
#include "cuda/embedding.h"

namespace pyml {

namespace {
Tensor check_indices(const Tensor& idx, int64_t V, const char* op, const Tensor& weight) {
  check_same_device(weight, idx, op);
  PYML_CHECK(idx.dtype == DType::Int64 || idx.dtype == DType::Int32, TypeError, op,
             ": indices must be an int64 or int32 tensor, got dtype ", dtype_name(idx.dtype), " for indices ", idx.shape);
  Tensor t = contiguous(to_dtype(idx, DType::Int64));
  const int64_t* p = t.ptr<int64_t>();
  auto check = [&](int64_t v) {
    PYML_CHECK(v >= 0 && v < V, IndexError, op, ": index ", v, " is out of range for weight ", weight.shape,
               " (valid 0..", V - 1, ")");
  };
  if (!t.device().is_cpu()) {
    int dev = t.device().index;
    int64_t i = first_bad_index_cuda(p, t.numel(), V, false, 0, dev);
    int64_t v = 0;
    if (i >= 0) cuda_memcpy(&v, p + i, sizeof(int64_t), CopyKind::DeviceToHost, dev);
    if (i >= 0) check(v);
    return t;
  }
  for (int64_t i = 0, n = t.numel(); i < n; i++) check(p[i]);
  return t;
}

void check_weight(const Tensor& w, const char* op) {
  PYML_CHECK(w.dim() == 2, ValueError, op, ": weight must be 2-D (num_embeddings, embedding_dim), got weight ", w.shape);
}

Tensor on_device(const Tensor& t, Device dev) {
  if (t.device() == dev) return t;
  Tensor r = empty(t.shape, t.dtype, dev);
  copy_(r, t);
  return r;
}
}  // namespace

Tensor embedding_forward(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  const char* op = "embedding";
  check_weight(weight, op);
  (void)padding_idx;  // only the backward treats the padding row differently
  Tensor idx = check_indices(indices, weight.shape[0], op, weight);
  Tensor w = contiguous(weight);
  Shape out_shape = indices.shape;
  out_shape.push_back(weight.shape[1]);
  Tensor out = empty(out_shape, weight.dtype, weight.device());
  if (!out.numel()) return out;
  if (!out.device().is_cpu())
    embedding_forward_cuda(w.data(), w.itemsize(), w.shape[1], idx.ptr<int64_t>(), idx.numel(), out.data(),
                           out.device().index);
  else
    embedding_forward_cpu(w.data(), w.itemsize(), w.shape[1], idx.ptr<int64_t>(), idx.numel(), out.data());
  return out;
}

Tensor embedding_backward(const Tensor& dout, const Tensor& indices, int64_t V, int64_t padding_idx, bool freq) {
  const char* op = "embedding_backward";
  DType ct = norm_compute_dtype(dout, op, "grad_output");
  check_same_device(dout, indices, op);
  Tensor idx = contiguous(to_dtype(indices, DType::Int64));
  int64_t n = idx.numel();
  PYML_CHECK(dout.dim() >= 1 && dout.numel() == n * dout.shape.back(), ValueError, op, ": grad_output ", dout.shape,
             " does not match indices ", indices.shape);
  int64_t D = dout.shape.back();
  Device dev = dout.device();
  Tensor g = norm_prep(dout, ct), dw = empty({V, D}, ct, dev);
  if (V > 0 && D > 0 && !dev.is_cpu())
    embedding_backward_cuda(ct, g.data(), D, idx.ptr<int64_t>(), n, V, padding_idx, freq, dw.data(), dev.index);
  else if (V > 0 && D > 0)
    embedding_backward_cpu(ct, g.data(), D, idx.ptr<int64_t>(), n, V, padding_idx, freq, dw.data());
  return dw.dtype == dout.dtype ? dw : to_dtype(dw, dout.dtype);
}

void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
  const char* op = "embedding_renorm_";
  check_weight(weight, op);
  DType ct = norm_compute_dtype(weight, op, "weight");
  PYML_CHECK(max_norm >= 0, ValueError, op, ": max_norm must be non-negative, got ", max_norm);
  PYML_CHECK(norm_type > 0, ValueError, op, ": norm_type must be positive, got ", norm_type);
  Tensor idx = check_indices(indices, weight.shape[0], op, weight);
  bool direct = weight.is_contiguous() && weight.dtype == ct;
  Tensor w = direct ? weight : to_dtype(contiguous(weight), ct, true);
  if (!w.device().is_cpu()) {  // the kernel finds each distinct row itself
    embedding_renorm_cuda(ct, w.data(), w.shape[0], w.shape[1], idx.ptr<int64_t>(), idx.numel(), max_norm, norm_type,
                          w.device().index);
  } else {
    std::vector<int64_t> rows(idx.ptr<int64_t>(), idx.ptr<int64_t>() + idx.numel());
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    embedding_renorm_cpu(ct, w.data(), w.shape[1], rows.data(), (int64_t)rows.size(), max_norm, norm_type);
  }
  if (!direct) copy_(weight, w, op);
  weight.bump_version();
}

// ------------------------------------------------------------------------------ embedding_bag
namespace {
// bag starts (B+1,) with the end n appended; validates monotonicity and bounds (on the host: CUDA
// offsets are copied over, and the result goes back to idx's device)
Tensor bag_offsets(const Tensor& idx, const OptTensor& offsets, bool include_last, const char* op, int64_t& B) {
  int64_t n = idx.numel();
  if (idx.dim() == 2) {
    PYML_CHECK(!offsets, ValueError, op, ": offsets must be None when input is 2-D (B, L), got input ", idx.shape);
    B = idx.shape[0];
    Tensor o = empty({B + 1}, DType::Int64);
    for (int64_t b = 0; b <= B; b++) o.ptr<int64_t>()[b] = b * idx.shape[1];
    return on_device(o, idx.device());
  }
  PYML_CHECK(idx.dim() == 1, ValueError, op, ": input must be 1-D (with offsets) or 2-D (B, L), got input ", idx.shape);
  PYML_CHECK(offsets.has_value(), ValueError, op, ": offsets are required when input is 1-D, got input ", idx.shape);
  check_same_device(idx, *offsets, op);
  PYML_CHECK(offsets->dtype == DType::Int64 || offsets->dtype == DType::Int32, TypeError, op,
             ": offsets must be an int64 or int32 tensor, got dtype ", dtype_name(offsets->dtype));
  PYML_CHECK(offsets->dim() == 1, ValueError, op, ": offsets must be 1-D, got offsets ", offsets->shape);
  Tensor oc = on_device(contiguous(to_dtype(*offsets, DType::Int64)), Device{});
  int64_t m = oc.numel();
  B = include_last ? std::max<int64_t>(m - 1, 0) : m;
  Tensor o = empty({B + 1}, DType::Int64);
  const int64_t* src = oc.ptr<int64_t>();
  int64_t* dst = o.ptr<int64_t>();
  for (int64_t b = 0; b < B; b++) dst[b] = src[b];
  dst[B] = n;
  if (include_last && m > 0) dst[B] = std::min<int64_t>(src[m - 1], n);
  PYML_CHECK(B == 0 || dst[0] == 0, ValueError, op, ": offsets[0] must be 0 (the first bag starts at 0), got ", B ? dst[0] : 0);
  for (int64_t b = 0; b < B; b++)
    PYML_CHECK(dst[b] <= dst[b + 1] && dst[b] >= 0 && dst[b] <= n, ValueError, op, ": offsets must be non-decreasing "
               "and within [0, ", n, "], got offsets[", b, "] = ", dst[b], " followed by ", dst[b + 1]);
  return on_device(o, idx.device());
}
}  // namespace

std::tuple<Tensor, Tensor, Tensor> embedding_bag_forward(const Tensor& weight, const Tensor& indices,
                                                         const OptTensor& offsets, int64_t mode,
                                                         const OptTensor& psw, bool include_last, int64_t padding_idx) {
  const char* op = "embedding_bag";
  check_weight(weight, op);
  DType ct = norm_compute_dtype(weight, op, "weight");
  PYML_CHECK(mode >= 0 && mode <= 2, ValueError, op, ": mode must be 'sum', 'mean' or 'max'");
  Tensor idx = check_indices(indices, weight.shape[0], op, weight);
  int64_t B = 0;
  Tensor off = bag_offsets(indices, offsets, include_last, op, B);
  Tensor pw;
  if (psw) {
    check_same_device(weight, *psw, op);
    PYML_CHECK(mode == 0, ValueError, op, ": per_sample_weights are only supported for mode='sum'");
    PYML_CHECK(psw->shape == indices.shape, ValueError, op, ": per_sample_weights must have the input's shape ",
               indices.shape, ", got ", psw->shape);
    norm_compute_dtype(*psw, op, "per_sample_weights");
    pw = norm_prep(*psw, ct);
  }
  Tensor w = norm_prep(weight, ct);
  int64_t D = weight.shape[1];
  Device dev = weight.device();
  Tensor out = empty({B, D}, ct, dev), mi = empty({mode == 2 ? B : 0, D}, DType::Int64, dev);
  EmbeddingBagParams p{ct, weight.shape[0], D, B, idx.numel(), w.data(), idx.ptr<int64_t>(), off.ptr<int64_t>(),
                       psw ? pw.data() : nullptr, mode, padding_idx};
  if (B > 0 && D > 0 && !dev.is_cpu())
    embedding_bag_forward_cuda(p, out.data(), mode == 2 ? mi.ptr<int64_t>() : nullptr, dev.index);
  else if (B > 0 && D > 0)
    embedding_bag_forward_cpu(p, out.data(), mode == 2 ? mi.ptr<int64_t>() : nullptr);
  return {out.dtype == weight.dtype ? out : to_dtype(out, weight.dtype), off, mi};
}

std::tuple<OptTensor, OptTensor> embedding_bag_backward(const Tensor& dout, const Tensor& weight, const Tensor& indices,
                                                        const Tensor& off, const Tensor& mi, int64_t mode,
                                                        const OptTensor& psw, int64_t padding_idx, bool freq,
                                                        std::vector<bool> need) {
  const char* op = "embedding_bag_backward";
  DType ct = norm_compute_dtype(weight, op, "weight");
  need.resize(2, false);
  need[1] = need[1] && psw.has_value();
  int64_t B = off.numel() - 1, D = weight.shape[1], V = weight.shape[0];
  PYML_CHECK(dout.shape == (Shape{B, D}), ValueError, op, ": grad_output must have shape ", Shape{B, D}, ", got ", dout.shape);
  Device dev = weight.device();
  for (const Tensor* t : {&dout, &indices, &off, &mi}) check_same_device(weight, *t, op);
  if (psw) check_same_device(weight, *psw, op);
  Tensor idx = contiguous(to_dtype(indices, DType::Int64)), g = norm_prep(dout, ct), w = norm_prep(weight, ct);
  Tensor pw = psw ? norm_prep(*psw, ct) : Tensor();
  Tensor dw = need[0] ? empty({V, D}, ct, dev) : Tensor(), dp = need[1] ? empty(indices.shape, ct, dev) : Tensor();
  if (need[0]) fill_(dw, Scalar::from_int(0));
  EmbeddingBagParams p{ct, V, D, B, idx.numel(), w.data(), idx.ptr<int64_t>(), off.ptr<int64_t>(),
                       psw ? pw.data() : nullptr, mode, padding_idx};
  if (D > 0 && (need[0] || need[1]) && !dev.is_cpu())
    embedding_bag_backward_cuda(p, g.data(), mode == 2 ? mi.ptr<int64_t>() : nullptr, freq,
                                need[0] ? dw.data() : nullptr, need[1] ? dp.data() : nullptr, dev.index);
  else if (D > 0 && (need[0] || need[1]))
    embedding_bag_backward_cpu(p, g.data(), mode == 2 ? mi.ptr<int64_t>() : nullptr, freq,
                               need[0] ? dw.data() : nullptr, need[1] ? dp.data() : nullptr);
  else if (need[1]) fill_(dp, Scalar::from_int(0));
  OptTensor rdw, rdp;
  if (need[0]) rdw = dw.dtype == weight.dtype ? dw : to_dtype(dw, weight.dtype);
  if (need[1]) rdp = dp.dtype == psw->dtype ? dp : to_dtype(dp, psw->dtype);
  return {rdw, rdp};
}

}  // namespace pyml
