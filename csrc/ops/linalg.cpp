// Host entries of the matmul family. Every product becomes a batch of (M, K) @ (K, N) GEMMs:
// a: (batch..., M, K), b: (batch..., K, N) -> c: (batch..., M, N) contiguous. Batch dims are
// broadcast as stride-0 views; each GEMM reads its operands through their own strides (A.T costs
// nothing). Small matrices run one GEMM per thread; large ones thread inside the GEMM. When b is
// shared by every batch and a's batch dims merge with M (x @ W in a linear layer), the batch
// folds into one tall GEMM. float16/bfloat16 compute in float32; integers use a plain kernel.
// On CUDA the whole batch is one launch (cuda/matmul.cu) with the batch dims passed as strides,
// and float16/bfloat16 stay as they are (the kernel accumulates them in float).
#include "ops/linalg.h"
#include "core/parallel.h"
#include "cuda/matmul.h"
#include <atomic>

namespace pyml {

static std::atomic<bool> g_allow_tf32{false};
void set_matmul_allow_tf32(bool on) { g_allow_tf32.store(on); }
bool matmul_allow_tf32() { return g_allow_tf32.load(); }

// dtype the kernels compute in for result dtype t (the CUDA kernels take the half types as they are)
static DType compute_dtype(DType t, const char* op, bool cpu = true) {
  PYML_CHECK(t != DType::Bool, TypeError, op, ": bool tensors are not supported (as in torch); "
             "convert with .int() or .float() first, got dtype bool");
  return cpu && (t == DType::Float16 || t == DType::BFloat16) ? DType::Float32 : t;
}


static void run_gemm(const GemmArgs& g, DType t) {
  if (t == DType::Float32) kernels().sgemm(g);
  else if (t == DType::Float64) kernels().dgemm(g);
  else gemm_int_cpu(g, t);
}

// c is contiguous (freshly allocated), so any shape of the same numel is a plain view.
static Tensor view_contiguous(const Tensor& c, const Shape& shape) {
  return c.view_as(shape, contiguous_strides(shape), c.offset);
}

static Shape batch_of(const Tensor& t) { return Shape(t.shape.begin(), t.shape.end() - 2); }

// Element offset of every batch matrix of t (batch dims = all but the last two), row-major order.
static std::vector<int64_t> batch_offsets(const Tensor& t) {
  Shape batch = batch_of(t);
  std::vector<int64_t> off(shape_numel(batch), 0), idx(batch.size(), 0);
  for (size_t i = 1; i < off.size(); i++) {
    int64_t d = (int64_t)batch.size() - 1, o = off[i - 1];
    for (; idx[d] + 1 == batch[d]; d--) { o -= idx[d] * t.strides[d]; idx[d] = 0; }
    idx[d]++;
    off[i] = o + t.strides[d];
  }
  return off;
}

// b is the same matrix for every batch and a's batch dims continue M's stride: one tall GEMM.
static bool fold_batch_into_m(const Tensor& a, const Tensor& b) {
  int64_t nd = a.dim(), expect = a.strides[nd - 2] * a.shape[nd - 2];
  for (int64_t d = nd - 3; d >= 0; d--) {
    if (a.shape[d] == 1) continue;
    if (b.strides[d] != 0 || a.strides[d] != expect) return false;
    expect *= a.shape[d];
  }
  return true;
}

// One launch for the whole batch: the batch dims travel as strides (a tall GEMM when they fold).
static void batched_gemm_cuda(const Tensor& c, const Tensor& a, const Tensor& b, GemmArgs g, int64_t nb) {
  BatchIndex<3> bi;  // one matrix
  if (fold_batch_into_m(a, b)) {
    g.M *= nb;
  } else {
    auto lead = [](const Tensor& t) { return std::vector<int64_t>(t.strides.begin(), t.strides.end() - 2); };
    std::vector<int64_t> strides[3] = {lead(a), lead(b), lead(c)};
    bi = make_batch_index<3>(batch_of(c), strides, "matmul");
  }
  gemm_cuda(g, bi, c.dtype, c.device().index);
}

// c (batch..., M, N) contiguous; a, b expanded to c's batch shape; all of c.dtype (a compute type).
static void batched_gemm(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  int64_t nd = c.dim(), M = c.shape[nd - 2], N = c.shape[nd - 1], K = a.shape[nd - 1];
  if (c.numel() == 0) return;
  GemmArgs g{M, N, K, a.data(), a.strides[nd - 2], a.strides[nd - 1], b.data(), b.strides[nd - 2],
             b.strides[nd - 1], c.data(), N, 1, alpha, beta};
  int64_t nb = c.numel() / (M * N);
  if (!c.device().is_cpu()) return batched_gemm_cuda(c, a, b, g, nb);
  if (nb == 1 || fold_batch_into_m(a, b)) {
    g.M = M * nb;
    run_gemm(g, c.dtype);
    return;
  }
  std::vector<int64_t> oa = batch_offsets(a), ob = batch_offsets(b);
  int64_t isz = c.itemsize(), work = M * N * std::max<int64_t>(K, 1);
  auto one = [&](int64_t i) {
    GemmArgs gi = g;
    gi.A = a.data() + oa[i] * isz;
    gi.B = b.data() + ob[i] * isz;
    gi.C = c.data() + i * M * N * isz;
    run_gemm(gi, c.dtype);
  };
  // Small GEMMs: one per thread (the kernel's own parallel_for then runs inline).
  bool per_batch = work <= (int64_t(1) << 21) || nb >= 4 * get_num_threads();
  if (per_batch) {
    parallel_for(0, nb, std::max<int64_t>(1, (int64_t(1) << 16) / work), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) one(i);
    });
  } else {
    for (int64_t i = 0; i < nb; i++) one(i);
  }
}

static Shape broadcast_batch(const Tensor& a, const Tensor& b, const char* op) {
  Shape ba = batch_of(a), bb = batch_of(b);
  size_t n = std::max(ba.size(), bb.size());
  ba.insert(ba.begin(), n - ba.size(), 1);
  bb.insert(bb.begin(), n - bb.size(), 1);
  for (size_t i = 0; i < n; i++) {
    PYML_CHECK(ba[i] == bb[i] || ba[i] == 1 || bb[i] == 1, ValueError, op,
               ": batch dimensions must be broadcastable, got ", a.shape, " and ", b.shape);
    ba[i] = std::max(ba[i], bb[i]) * (ba[i] != 0 && bb[i] != 0);
  }
  return ba;
}

// a: (..., M, K), b: (..., K, N), shapes validated. Returns beta * input + alpha * a @ b with
// shape (batch..., M, N), batch broadcast from both; input (optional) broadcasts to it.
static Tensor product(const Tensor& a0, const Tensor& b0, const Tensor* input, double beta, double alpha,
                      const char* op) {
  check_same_device(a0, b0, op);
  if (input) check_same_device(a0, *input, op);
  const Device dev = a0.device();
  DType rt = input ? result_type({operand_of(a0), operand_of(b0), operand_of(*input)}) : result_type(a0, b0);
  DType ct = compute_dtype(rt, op, dev.is_cpu());
  Shape batch = broadcast_batch(a0, b0, op);
  int64_t M = a0.shape[a0.dim() - 2], K = a0.shape[a0.dim() - 1], N = b0.shape[b0.dim() - 1];
  Shape sa = batch, sb = batch, sc = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  sc.insert(sc.end(), {M, N});
  Tensor a = expand(to_dtype(a0, ct), sa), b = expand(to_dtype(b0, ct), sb), c = empty(sc, ct, dev);
  if (input && beta != 0) {
    copy_(c, *input, op);
  } else {
    beta = 0;  // BLAS convention: beta == 0 ignores the input (NaN included)
  }
  batched_gemm(c, a, b, alpha, beta);
  return ct == rt ? c : to_dtype(c, rt);
}

static void check_inner(int64_t ka, int64_t kb, const Tensor& a, const Tensor& b, const char* op) {
  PYML_CHECK(ka == kb, ValueError, op, ": shapes cannot be multiplied (inner sizes ", ka, " and ", kb,
             " differ), got ", a.shape, " and ", b.shape);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  PYML_CHECK(a.dim() >= 1 && b.dim() >= 1, ValueError,
             "matmul: both arguments need to be at least 1-D, got ", a.shape, " and ", b.shape);
  check_inner(a.shape.back(), b.dim() == 1 ? b.shape[0] : b.shape[b.dim() - 2], a, b, "matmul");
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;   // (1, K)
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;   // (K, 1)
  Tensor c = product(a2, b2, nullptr, 0, 1, "matmul");
  Shape shape = c.shape;  // drop the dims that 1-D operands gained
  if (b.dim() == 1) shape.erase(shape.end() - 1);
  if (a.dim() == 1) shape.erase(shape.end() - (b.dim() == 1 ? 1 : 2));
  return view_contiguous(c, shape);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  PYML_CHECK(a.dim() == 2 && b.dim() == 2, ValueError, "mm: expected 2-D tensors, got ", a.shape, " and ", b.shape);
  check_inner(a.shape[1], b.shape[0], a, b, "mm");
  return product(a, b, nullptr, 0, 1, "mm");
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  PYML_CHECK(a.dim() == 3 && b.dim() == 3, ValueError, "bmm: expected 3-D tensors, got ", a.shape, " and ", b.shape);
  PYML_CHECK(a.shape[0] == b.shape[0], ValueError, "bmm: batch sizes must be equal, got ", a.shape, " and ", b.shape);
  check_inner(a.shape[2], b.shape[1], a, b, "bmm");
  return product(a, b, nullptr, 0, 1, "bmm");
}

Tensor mv(const Tensor& a, const Tensor& v) {
  PYML_CHECK(a.dim() == 2 && v.dim() == 1, ValueError, "mv: expected a 2-D matrix and a 1-D vector, got ",
             a.shape, " and ", v.shape);
  check_inner(a.shape[1], v.shape[0], a, v, "mv");
  return view_contiguous(product(a, unsqueeze(v, 1), nullptr, 0, 1, "mv"), {a.shape[0]});
}

Tensor dot(const Tensor& a, const Tensor& b) {
  PYML_CHECK(a.dim() == 1 && b.dim() == 1, ValueError, "dot: expected two 1-D tensors, got ", a.shape, " and ",
             b.shape);
  check_inner(a.shape[0], b.shape[0], a, b, "dot");
  return view_contiguous(product(unsqueeze(a, 0), unsqueeze(b, 1), nullptr, 0, 1, "dot"), {});
}

static void check_input(const Tensor& input, const Shape& out, const char* op) {
  bool ok = input.dim() <= (int64_t)out.size();
  for (int64_t i = 1; ok && i <= input.dim(); i++) {
    int64_t s = input.shape[input.dim() - i];
    ok = s == 1 || s == out[out.size() - i];
  }
  PYML_CHECK(ok, ValueError, op, ": input of shape ", input.shape,
             " must broadcast to the product's shape ", out);
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  PYML_CHECK(a.dim() == 2 && b.dim() == 2, ValueError, "addmm: expected 2-D mat1 and mat2, got ", a.shape,
             " and ", b.shape);
  check_inner(a.shape[1], b.shape[0], a, b, "addmm");
  check_input(input, {a.shape[0], b.shape[1]}, "addmm");
  return product(a, b, &input, beta, alpha, "addmm");
}

Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  PYML_CHECK(a.dim() == 3 && b.dim() == 3, ValueError, "baddbmm: expected 3-D batch1 and batch2, got ",
             a.shape, " and ", b.shape);
  PYML_CHECK(a.shape[0] == b.shape[0], ValueError, "baddbmm: batch sizes must be equal, got ", a.shape, " and ",
             b.shape);
  check_inner(a.shape[2], b.shape[1], a, b, "baddbmm");
  check_input(input, {a.shape[0], a.shape[1], b.shape[2]}, "baddbmm");
  return product(a, b, &input, beta, alpha, "baddbmm");
}

void gemm_(const Tensor& c, const Tensor& a, const Tensor& b, double alpha, double beta) {
  PYML_CHECK(a.dim() == 2 && b.dim() == 2 && c.dim() == 2, ValueError, "gemm_: expected 2-D tensors, got c ",
             c.shape, ", a ", a.shape, ", b ", b.shape);
  PYML_CHECK(a.shape[1] == b.shape[0] && c.shape[0] == a.shape[0] && c.shape[1] == b.shape[1], ValueError,
             "gemm_: shapes must be c (M, N), a (M, K), b (K, N), got c ", c.shape, ", a ", a.shape, ", b ", b.shape);
  PYML_CHECK(a.dtype == c.dtype && b.dtype == c.dtype && (c.dtype == DType::Float32 || c.dtype == DType::Float64),
             TypeError, "gemm_: expected float32 or float64 tensors of one dtype, got ", dtype_name(c.dtype), ", ",
             dtype_name(a.dtype), ", ", dtype_name(b.dtype));
  check_same_device(c, a, "gemm_");
  check_same_device(c, b, "gemm_");
  check_writable(c, "gemm_");
  PYML_CHECK(!overlaps(c, a) && !overlaps(c, b), ValueError, "gemm_: c must not overlap a or b");
  if (c.numel() == 0) return;
  GemmArgs g{c.shape[0], c.shape[1], a.shape[1], a.data(), a.strides[0], a.strides[1], b.data(), b.strides[0],
             b.strides[1], c.data(), c.strides[0], c.strides[1], alpha, beta};
  if (c.device().is_cpu()) run_gemm(g, c.dtype);
  else gemm_cuda(g, BatchIndex<3>{}, c.dtype, c.device().index);
  c.bump_version();
}

}  // namespace pyml
