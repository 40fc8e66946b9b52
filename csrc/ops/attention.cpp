// Host entries of scaled dot-product attention (shapes in ops/attention.h): validate, broadcast
// the batch dims of q, k, v and the mask as per-matrix element offsets (no broadcast copies, any
// strides), convert float16/bfloat16 to float32 for the kernels, allocate, dispatch.
#include "ops/attention.h"

namespace pyml {

static const char* kOp = "scaled_dot_product_attention";

static void check_cpu_arg(const Tensor& t, const char* what) {
  PYML_CHECK(t.device().is_cpu(), RuntimeError, kOp, ": not implemented for device ", t.device().str(),
             " yet (only cpu), got ", what, " on ", t.device().str());
}

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
  check_cpu_arg(m0, "attn_mask");
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
  check_cpu_arg(q0, "query"); check_cpu_arg(k0, "key"); check_cpu_arg(v0, "value");
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

std::pair<Tensor, Tensor> sdpa_forward(const Tensor& q, const Tensor& k, const Tensor& v,
                                       const std::optional<Tensor>& mask, bool causal, double scale) {
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

std::tuple<std::optional<Tensor>, std::optional<Tensor>, std::optional<Tensor>> sdpa_backward(
    const Tensor& dout0, const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
    const Tensor& out0, const Tensor& lse0, bool causal, double scale, bool need_dq, bool need_dk, bool need_dv) {
  Prep r = prepare(q, k, v, mask, causal, scale);
  SdpaParams& p = r.p;
  Shape os = with_last2(r.batch, p.L, p.Ev), ls = r.batch;
  ls.push_back(p.L);
  check_cpu_arg(dout0, "grad_output");
  PYML_CHECK(dout0.shape == os && out0.shape == os && lse0.shape == ls, ValueError, kOp, "_backward: "
             "grad_output and out must have shape ", os, " and lse ", ls, ", got ", dout0.shape, ", ", out0.shape,
             ", ", lse0.shape);
  PYML_CHECK(is_floating(dout0.dtype), TypeError, kOp, "_backward: grad_output must be floating point, got ",
             dtype_name(dout0.dtype));
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
