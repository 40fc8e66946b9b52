// Host entries of scaled dot-product attention (shapes in ops/attention.h): validate, broadcast
// the batch dims of q, k, v and the mask as per-matrix element offsets (no broadcast copies, any
// strides), convert float16/bfloat16 to float32 for the kernels, allocate, dispatch.
// On CUDA (cuda/attention.cu) the operands stay in their own dtype (the kernels accumulate the
// half types in float32) and the batch offsets travel as strides (cuda/batch_index.h).
#include "ops/attention.h"
#include "cuda/attention.h"

namespace pyml {

static const char* kOp = "scaled_dot_product_attention";

static void check_device(const Tensor& t, const Tensor& q) { check_same_device(q, t, kOp); }

// Element offset of every matrix of t (dims but the last two) broadcast to batch, row-major.
static std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
  const int64_t nd = (int64_t)batch.size(), tb = t.dim() - 2;
  Shape st(nd, 0);
  for (int64_t d = 0; d < tb; d++) st[nd - tb + d] = t.shape[d] == 1 ? 0 : t.strides[d];
  std::vector<int64_t> off(shape_numel(batch), 0);
  Shape idx(nd, 0);
  for (size_t i = 1; i < off.size(); i++) {
    int64_t d = nd - 1, o = off[i - 1];
    for (; idx[d] + 1 == batch[d]; d--) { o -= idx[d] * st[d]; idx[d] = 0; }
    idx[d]++;
    off[i] = o + st[d];
  }
  return off;
}

static Shape batch_of(const Tensor& t) { return Shape(t.shape.begin(), t.shape.end() - 2); }

// Broadcast batch shapes of q, k, v (raises naming all three).
static Shape broadcast_batch(const Tensor& q, const Tensor& k, const Tensor& v) {
  Shape out;
  for (const Tensor* t : {&q, &k, &v}) {
    Shape b = batch_of(*t);
    if (b.size() > out.size()) out.insert(out.begin(), b.size() - out.size(), 1);
    for (size_t i = 0; i < b.size(); i++) {
      int64_t& o = out[out.size() - b.size() + i];
      PYML_CHECK(o == b[i] || o == 1 || b[i] == 1, ValueError, kOp, ": batch dimensions of query, key and "
                 "value must be broadcastable, got query ", q.shape, ", key ", k.shape, ", value ", v.shape);
      if (o == 1) o = b[i];
    }
  }
  return out;
}

// Validated inputs in the compute dtype with their kernel geometry.
struct Prep {
  Shape batch;
  DType ct = DType::Float32;
  Tensor q, k, v, mask;
  std::vector<int64_t> oq, ok, ov, om;
  SdpaParams p;
};

static AttnOperand operand(const Tensor& t, const std::vector<int64_t>& off) {
  int64_t n = t.dim();
  return AttnOperand{t.data(), off.data(), t.shape[n - 2] == 1 ? 0 : t.strides[n - 2],
                     t.shape[n - 1] == 1 ? 0 : t.strides[n - 1]};
}

// mask (any rank) must broadcast to (batch..., L, S) without growing it
static Tensor check_mask(const Tensor& m0, const Tensor& q, const Tensor& k, const Shape& full) {
  check_device(m0, q);
  PYML_CHECK(m0.dtype == DType::Bool || is_floating(m0.dtype), TypeError, kOp, ": attn_mask must be bool "
             "(true = takes part) or floating point (added to the scores), got dtype ", dtype_name(m0.dtype));
  bool ok = m0.dim() <= (int64_t)full.size();
  for (int64_t i = 0; ok && i < m0.dim(); i++) {
    int64_t s = m0.shape[m0.dim() - 1 - i], f = full[full.size() - 1 - i];
    ok = s == f || s == 1;
  }
  PYML_CHECK(ok, ValueError, kOp, ": attn_mask of shape ", m0.shape, " must broadcast to (batch..., L, S) = ",
             full, "; query ", q.shape, ", key ", k.shape);
  Tensor m = m0;
  while (m.dim() < 2) m = unsqueeze(m, 0);
  return m;
}

// Every user-input check; returns the broadcast batch shape and the mask brought to >= 2 dims.
static Shape validate(const Tensor& q0, const Tensor& k0, const Tensor& v0, const std::optional<Tensor>& mask,
                      bool causal, Tensor* mask_out) {
  check_device(k0, q0);
  check_device(v0, q0);
  PYML_CHECK(q0.dim() >= 2 && k0.dim() >= 2 && v0.dim() >= 2, ValueError, kOp, ": query, key and value must "
             "have at least 2 dims (..., L, E), (..., S, E), (..., S, Ev), got query ", q0.shape, ", key ",
             k0.shape, ", value ", v0.shape);
  PYML_CHECK(is_floating(q0.dtype) && k0.dtype == q0.dtype && v0.dtype == q0.dtype, TypeError, kOp,
             ": query, key and value must share one floating-point dtype, got ", dtype_name(q0.dtype), ", ",
             dtype_name(k0.dtype), ", ", dtype_name(v0.dtype));
  const int64_t L = q0.shape[q0.dim() - 2], E = q0.shape[q0.dim() - 1], S = k0.shape[k0.dim() - 2];
  PYML_CHECK(k0.shape[k0.dim() - 1] == E, ValueError, kOp, ": query and key must have the same embedding size "
             "(last dim), got query ", q0.shape, ", key ", k0.shape);
  PYML_CHECK(v0.shape[v0.dim() - 2] == S, ValueError, kOp, ": key and value must have the same sequence length "
             "(dim -2), got key ", k0.shape, ", value ", v0.shape);
  PYML_CHECK(!(causal && mask), ValueError, kOp, ": an explicit attn_mask cannot be combined with is_causal=True "
             "(as in torch), got attn_mask of shape ", mask ? mask->shape : Shape{});
  Shape batch = broadcast_batch(q0, k0, v0);
  if (mask) {
    Shape full = batch;
    full.insert(full.end(), {L, S});
    *mask_out = check_mask(*mask, q0, k0, full);
  }
  return batch;
}

static Prep prepare(const Tensor& q0, const Tensor& k0, const Tensor& v0, const std::optional<Tensor>& mask,
                    bool causal, double scale) {
  Prep r;
  Tensor m;
  r.batch = validate(q0, k0, v0, mask, causal, &m);
  r.ct = q0.dtype == DType::Float64 ? DType::Float64 : DType::Float32;
  r.q = to_dtype(q0, r.ct); r.k = to_dtype(k0, r.ct); r.v = to_dtype(v0, r.ct);
  r.oq = batch_offsets(r.q, r.batch); r.ok = batch_offsets(r.k, r.batch); r.ov = batch_offsets(r.v, r.batch);
  SdpaParams& p = r.p;
  p.nb = shape_numel(r.batch);
  p.L = q0.shape[q0.dim() - 2]; p.E = q0.shape[q0.dim() - 1];
  p.S = k0.shape[k0.dim() - 2]; p.Ev = v0.shape[v0.dim() - 1];
  p.scale = scale; p.causal = causal;
  p.q = operand(r.q, r.oq); p.k = operand(r.k, r.ok); p.v = operand(r.v, r.ov);
  if (mask) {
    r.mask = m.dtype == DType::Bool ? m : to_dtype(m, r.ct);
    r.om = batch_offsets(r.mask, r.batch);
    p.mask = operand(r.mask, r.om);
    p.mask_kind = m.dtype == DType::Bool ? MaskKind::Bool : MaskKind::Additive;
  }
  return r;
}

void sdpa_check(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask, bool causal) {
  Tensor m;
  validate(q, k, v, mask, causal, &m);
}

static Shape with_last2(Shape s, int64_t a, int64_t b) { s.insert(s.end(), {a, b}); return s; }

// grad_output, out and lse of a backward call: device, shapes (os, ls) and dtype
static void check_backward_args(const Tensor& dout, const Tensor& out, const Tensor& lse, const Tensor& q,
                                const Shape& os, const Shape& ls) {
  check_device(dout, q);
  check_device(out, q);
  check_device(lse, q);
  PYML_CHECK(dout.shape == os && out.shape == os && lse.shape == ls, ValueError, kOp, "_backward: "
             "grad_output and out must have shape ", os, " and lse ", ls, ", got ", dout.shape, ", ", out.shape,
             ", ", lse.shape);
  PYML_CHECK(is_floating(dout.dtype), TypeError, kOp, "_backward: grad_output must be floating point, got ",
             dtype_name(dout.dtype));
}

// ------------------------------------------------------------------------------ CUDA
// dtype of lse and of an additive mask on CUDA: the kernels' accumulation type
static DType acc_dtype(DType t) { return t == DType::Float64 ? DType::Float64 : DType::Float32; }

// t's batch strides aligned to batch (0 where t broadcasts or lacks the dim)
static std::vector<int64_t> batch_strides(const Tensor& t, const Shape& batch) {
  const int64_t nd = (int64_t)batch.size(), tb = t.dim() - 2;
  std::vector<int64_t> st(nd, 0);
  for (int64_t d = 0; d < tb; d++) st[nd - tb + d] = t.shape[d] == 1 ? 0 : t.strides[d];
  return st;
}

static SdpaCudaParams::View view_of(const Tensor& t) {
  int64_t n = t.dim();
  return {t.data(), t.shape[n - 2] == 1 ? 0 : t.strides[n - 2], t.shape[n - 1] == 1 ? 0 : t.strides[n - 1]};
}

// Validated CUDA params: q, k, v (and dout) in q's dtype, the mask as bool or in acc_dtype; keep
// holds the converted tensors alive until the launch is queued. Backward passes dout, out, lse.
static SdpaCudaParams cuda_params(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
                                  bool causal, double scale, Shape& batch, std::vector<Tensor>& keep,
                                  const Tensor* dout = nullptr, const Tensor* out = nullptr,
                                  const Tensor* lse = nullptr) {
  Tensor m;
  batch = validate(q, k, v, mask, causal, &m);
  SdpaCudaParams p;
  p.L = q.shape[q.dim() - 2]; p.E = q.shape[q.dim() - 1];
  p.S = k.shape[k.dim() - 2]; p.Ev = v.shape[v.dim() - 1];
  if (dout) {
    Shape ls = batch;
    ls.push_back(p.L);
    check_backward_args(*dout, *out, *lse, q, with_last2(batch, p.L, p.Ev), ls);
  }
  p.scale = scale; p.causal = causal;
  p.q = view_of(q); p.k = view_of(k); p.v = view_of(v);
  std::vector<int64_t> st[5] = {batch_strides(q, batch), batch_strides(k, batch), batch_strides(v, batch),
                                std::vector<int64_t>(batch.size(), 0), std::vector<int64_t>(batch.size(), 0)};
  if (mask) {
    keep.push_back(m.dtype == DType::Bool ? m : to_dtype(m, acc_dtype(q.dtype)));
    p.mask = view_of(keep.back());
    p.mask_kind = m.dtype == DType::Bool ? MaskKind::Bool : MaskKind::Additive;
    st[3] = batch_strides(keep.back(), batch);
  }
  if (dout) {
    keep.push_back(to_dtype(*dout, q.dtype));
    p.dout = view_of(keep.back());
    st[4] = batch_strides(keep.back(), batch);
  }
  p.bi = make_batch_index<5>(batch, st, kOp);
  return p;
}

static std::pair<Tensor, Tensor> sdpa_forward_on_cuda(const Tensor& q, const Tensor& k, const Tensor& v,
                                                      const std::optional<Tensor>& mask, bool causal, double scale) {
  Shape batch;
  std::vector<Tensor> keep;
  SdpaCudaParams p = cuda_params(q, k, v, mask, causal, scale, batch, keep);
  Shape os = batch, ls = batch;
  os.insert(os.end(), {p.L, p.Ev});
  ls.push_back(p.L);
  Tensor out = empty(os, q.dtype, q.device()), lse = empty(ls, acc_dtype(q.dtype), q.device());
  p.out = out.data();
  p.lse = lse.data();
  sdpa_forward_cuda(p, q.dtype, q.device().index);
  return {out, lse};
}

std::pair<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const std::optional<Tensor>& mask, bool causal, double scale) {
  if (!q.device().is_cpu()) return sdpa_forward_on_cuda(q, k, v, mask, causal, scale);
  Prep r = prepare(q, k, v, mask, causal, scale);
  Tensor out = empty(with_last2(r.batch, r.p.L, r.p.Ev), r.ct);
  Shape ls = r.batch;
  ls.push_back(r.p.L);
  Tensor lse = empty(ls, r.ct);
  r.p.out = out.data();
  r.p.lse = lse.data();
  sdpa_forward_cpu(r.p, r.ct);
  return {to_dtype(out, q.dtype), lse};
}

using Grads = std::tuple<std::optional<Tensor>, std::optional<Tensor>, std::optional<Tensor>>;

static Grads sdpa_backward_on_cuda(const Tensor& dout0, const Tensor& q, const Tensor& k, const Tensor& v,
                                   const std::optional<Tensor>& mask, const Tensor& out0, const Tensor& lse0,
                                   bool causal, double scale, bool need_dq, bool need_dk, bool need_dv) {
  Shape batch;
  std::vector<Tensor> keep;
  SdpaCudaParams p = cuda_params(q, k, v, mask, causal, scale, batch, keep, &dout0, &out0, &lse0);
  Tensor out = contiguous(to_dtype(out0, q.dtype)), lse = contiguous(to_dtype(lse0, acc_dtype(q.dtype)));
  p.out = out.data();
  p.lse = lse.data();
  auto grad = [&](bool need, int64_t rows, int64_t cols, void*& ptr) -> std::optional<Tensor> {
    if (!need) return std::nullopt;
    Tensor g = empty(with_last2(batch, rows, cols), q.dtype, q.device());  // the kernels write every element
    ptr = g.data();
    return g;
  };
  auto dq = grad(need_dq, p.L, p.E, p.dq), dk = grad(need_dk, p.S, p.E, p.dk), dv = grad(need_dv, p.S, p.Ev, p.dv);
  sdpa_backward_cuda(p, q.dtype, q.device().index);
  return {dq, dk, dv};
}

std::tuple<std::optional<Tensor>, std::optional<Tensor>, std::optional<Tensor>> sdpa_backward(
    const Tensor& dout0, const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
    const Tensor& out0, const Tensor& lse0, bool causal, double scale, bool need_dq, bool need_dk, bool need_dv) {
  if (!q.device().is_cpu())
    return sdpa_backward_on_cuda(dout0, q, k, v, mask, out0, lse0, causal, scale, need_dq, need_dk, need_dv);
  Prep r = prepare(q, k, v, mask, causal, scale);
  SdpaParams& p = r.p;
  Shape os = with_last2(r.batch, p.L, p.Ev), ls = r.batch;
  ls.push_back(p.L);
  check_backward_args(dout0, out0, lse0, q, os, ls);
  Tensor dout = to_dtype(dout0, r.ct), out = contiguous(to_dtype(out0, r.ct)), lse = contiguous(to_dtype(lse0, r.ct));
  std::vector<int64_t> odo = batch_offsets(dout, r.batch);
  p.dout = operand(dout, odo);
  p.out = out.data();
  p.lse = lse.data();
  auto grad = [&](bool need, int64_t rows, int64_t cols, void*& ptr) -> std::optional<Tensor> {
    if (!need) return std::nullopt;
    Tensor g = full(with_last2(r.batch, rows, cols), Scalar::from_double(0), r.ct);
    ptr = g.data();
    return g;
  };
  auto dq = grad(need_dq, p.L, p.E, p.dq), dk = grad(need_dk, p.S, p.E, p.dk), dv = grad(need_dv, p.S, p.Ev, p.dv);
  sdpa_backward_cpu(p, r.ct);
  auto cast = [&](std::optional<Tensor>& g) { if (g) g = to_dtype(*g, q.dtype); };
  cast(dq); cast(dk); cast(dv);
  return {dq, dk, dv};
}

}  // namespace pyml
