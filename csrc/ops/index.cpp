// Host entries of the indexing family: check index dtypes, shapes, devices and every index value,
// then dispatch to cpu/index.cpp or to cuda/index.cu and cuda/scatter.cu. Advanced indexing (index,
// index_put_, and index_select/index_add_/index_copy_/index_fill_/take built on them) turns the
// index tensors into one int64 tensor of byte offsets over their broadcast shape B; the result
// (pre dims, B, post dims) is then a three-operand elementwise iteration {out, x with zero strides
// over B, offsets}. gather/scatter iterate the dims other than `dim` and walk `dim` inside the CPU
// kernel; the CUDA kernel takes one thread per index element instead.
// On CUDA the index values are checked by a kernel that records the first bad position of each
// index tensor; one device-to-host copy reads them before any kernel uses the indices, and the
// CPU path's IndexError is raised. Like torch, index/index_put_ also take CPU index tensors (and
// CPU values) for a CUDA tensor; every other op wants all its tensors on one device.
#include <climits>
#include "core/memory_format.h"
#include "ops/complex.h"
#include "ops/index.h"
#include "cuda/index.h"

namespace pyml {

static bool is_mask(const Tensor& t) { return t.dtype == DType::Bool || t.dtype == DType::UInt8; }

[[noreturn]] static void throw_bad_index(int64_t v, int64_t size, int64_t dim, bool allow_negative, const char* op) {
  throw IndexError(cat_str(op, ": index ", v, " is out of bounds for dimension ", dim, " with size ", size,
                           (allow_negative || v >= 0 ? "" : " (negative indices are not allowed here)")));
}

// Raise unless every value of the contiguous int64 `idx` lies in [-size, size) ([0, size) when
// negatives are not allowed). Min/max first: the common all-valid case is one vectorised pass.
static void check_range(const Tensor& idx, int64_t size, int64_t dim, bool allow_negative, const char* op) {
  const int64_t* p = idx.ptr<int64_t>();
  int64_t n = idx.numel(), lo = allow_negative ? -size : 0, mn = LLONG_MAX, mx = LLONG_MIN;
  for (int64_t i = 0; i < n; i++) { mn = std::min(mn, p[i]); mx = std::max(mx, p[i]); }
  if (n == 0 || (mn >= lo && mx < size)) return;
  for (int64_t i = 0; i < n; i++)
    if (p[i] < lo || p[i] >= size) throw_bad_index(p[i], size, dim, allow_negative, op);
}

// check_range for CUDA index tensors: each add() launches a check kernel that records the tensor's
// first bad position in its own device slot (INT64_MAX: none); raise_if_bad() reads every slot in
// one copy (which waits for the kernels) and raises for the first tensor with a bad index.
class DeviceRangeCheck {
 public:
  DeviceRangeCheck(int64_t k, Device dev) : bad_(full({k}, Scalar::from_int(INT64_MAX), DType::Int64, dev)) {}
  // idx: contiguous int64 on the device
  void add(const Tensor& idx, int64_t size, int64_t dim, bool allow_negative) {
    int64_t* slot = bad_.ptr<int64_t>() + entries_.size();
    index_check_cuda(idx.ptr<int64_t>(), idx.numel(), size, allow_negative, slot, idx.device().index);
    entries_.push_back({idx, size, dim, allow_negative});
  }
  void raise_if_bad(const char* op) const {
    Tensor h = empty(bad_.shape, DType::Int64);
    copy_(h, bad_);
    for (size_t j = 0; j < entries_.size(); j++) {
      int64_t pos = h.ptr<int64_t>()[j];
      if (pos == INT64_MAX) continue;
      const Entry& e = entries_[j];
      Tensor v = empty({}, DType::Int64);
      copy_(v, select(reshape(e.idx, {-1}), 0, pos));
      throw_bad_index(*v.ptr<int64_t>(), e.size, e.dim, e.allow_negative, op);
    }
  }

 private:
  struct Entry { Tensor idx; int64_t size, dim; bool allow_negative; };
  Tensor bad_;
  std::vector<Entry> entries_;
};

static Tensor on_device(const Tensor& t, Device dev) {
  if (t.device() == dev) return t;
  Tensor r = empty(t.shape, t.dtype, dev);
  copy_(r, t);
  return r;
}

// The device of an op's tensors: one device for all, except that 0-dim CPU tensors (Python numbers
// made tensors) may join CUDA ones, as in torch.
static Device common_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Tensor* ref = nullptr;
  for (const Tensor* t : ts) {
    if (t->dim() == 0 && t->device().is_cpu()) continue;
    if (ref) check_same_device(*ref, *t, op); else ref = t;
  }
  return ref ? ref->device() : Device{};
}

static Tensor index_int64(const Tensor& t, const char* op, bool index_error) {
  bool ok = t.dtype == DType::Int64 || t.dtype == DType::Int32;
  if (!ok && index_error)
    throw IndexError(cat_str(op, ": tensors used as indices must be long, int, byte or bool tensors, got ",
                             dtype_name(t.dtype)));
  PYML_CHECK(ok, TypeError, op, ": expected an int64 (or int32) index tensor, got ", dtype_name(t.dtype));
  return contiguous(to_dtype(t, DType::Int64));
}

// x restrided to the result shape (zero strides over B) and the byte offsets (zero strides elsewhere)
struct Indexed { Tensor base, off; Shape shape; };

// bool/uint8 masks become one int64 index per mask dim (the coordinates of their nonzeros)
static std::vector<OptTensor> expand_masks(const Tensor& x, const std::vector<OptTensor>& indices, const char* op) {
  std::vector<OptTensor> out;
  for (auto& t : indices) {
    if (!t || !is_mask(*t)) { out.push_back(t); continue; }
    const Tensor& m = *t;
    int64_t d0 = (int64_t)out.size();
    PYML_CHECK(m.dim() > 0, IndexError, op, ": 0-dim boolean index tensors are not supported here; "
               "index with True/False or unsqueeze instead");
    PYML_CHECK(d0 + m.dim() <= x.dim(), IndexError, op, ": too many indices for tensor of dimension ", x.dim(),
               " (a mask of shape ", m.shape, " at index ", d0, ")");
    for (int64_t k = 0; k < m.dim(); k++)
      PYML_CHECK(m.shape[k] == x.shape[d0 + k], IndexError, op, ": the shape of the mask ", m.shape, " at index ",
                 d0, " does not match the shape of the indexed tensor ", x.shape, " at index ", d0 + k);
    Tensor nz = nonzero(m.dtype == DType::Bool ? m : to_dtype(m, DType::Bool));
    for (int64_t k = 0; k < m.dim(); k++) out.push_back(select(nz, 1, k));
  }
  PYML_CHECK((int64_t)out.size() <= x.dim(), IndexError, op, ": too many indices for tensor of dimension ", x.dim(),
             " (got ", (int64_t)out.size(), "), shape ", x.shape);
  return out;
}

static Shape index_broadcast(const std::vector<Tensor>& idx, const char* op) {
  Shape b = idx[0].shape;
  for (auto& t : idx) {
    Shape prev = b;
    size_t n = std::max(b.size(), t.shape.size());
    Shape r(n);
    for (size_t i = 0; i < n; i++) {
      int64_t x = i < n - b.size() ? 1 : b[i - (n - b.size())], y = i < n - t.shape.size() ? 1 : t.shape[i - (n - t.shape.size())];
      if (x != y && x != 1 && y != 1) {
        std::string shapes;
        for (auto& u : idx) shapes += (shapes.empty() ? "" : ", ") + shape_str(u.shape);
        throw IndexError(cat_str(op, ": shape mismatch: indexing tensors could not be broadcast together, got shapes ", shapes));
      }
      r[i] = x == 1 ? y : x;
    }
    b = r;
  }
  return b;
}

// host_indices: CPU index tensors are accepted for a CUDA x (moved to it), as torch's index does
static Indexed prepare_index(const Tensor& x, const std::vector<OptTensor>& indices, const char* op, bool allow_negative,
                             bool host_indices) {
  std::vector<OptTensor> idx = expand_masks(x, indices, op);
  idx.resize(x.dim());
  std::vector<int64_t> dims;
  std::vector<Tensor> ids;
  for (int64_t d = 0; d < x.dim(); d++) {
    if (!idx[d]) continue;
    if (!(host_indices && idx[d]->device().is_cpu())) check_same_device(x, *idx[d], op);
    dims.push_back(d);
    ids.push_back(on_device(index_int64(*idx[d], op, true), x.device()));
  }
  Shape B = index_broadcast(ids, op);
  int64_t k = (int64_t)dims.size(), p = dims[0];
  Tensor xs = x;
  if (dims.back() - dims.front() + 1 != k) {  // separated by a slice: the index dims go first
    Shape order = dims;
    for (int64_t d = 0; d < x.dim(); d++) if (!idx[d]) order.push_back(d);
    xs = permute(x, order);
    p = 0;
  }
  Tensor off = empty(B, DType::Int64, x.device());
  if (x.device().is_cpu()) {
    for (int64_t j = 0; j < k; j++) {
      int64_t size = xs.shape[p + j];
      check_range(ids[j], size, dims[j], allow_negative, op);
      Tensor e = ids[j].shape == B ? ids[j] : contiguous(expand(ids[j], B));
      index_offsets_cpu(off.ptr<int64_t>(), e.ptr<int64_t>(), off.numel(), size, xs.strides[p + j] * x.itemsize(), j == 0);
    }
  } else {  // all checks and offsets are queued, then one read-back of the checks
    DeviceRangeCheck rc(k, x.device());
    for (int64_t j = 0; j < k; j++) {
      int64_t size = xs.shape[p + j];
      rc.add(ids[j], size, dims[j], allow_negative);
      Tensor e = ids[j].shape == B ? ids[j] : contiguous(expand(ids[j], B));
      index_offsets_cuda(off.ptr<int64_t>(), e.ptr<int64_t>(), off.numel(), size, xs.strides[p + j] * x.itemsize(),
                         j == 0, x.device().index);
    }
    rc.raise_if_bad(op);
  }
  Indexed r;
  Shape bst = contiguous_strides(B), xst, ost;
  for (int64_t d = 0; d < p; d++) { r.shape.push_back(xs.shape[d]); xst.push_back(xs.strides[d]); ost.push_back(0); }
  for (size_t d = 0; d < B.size(); d++) { r.shape.push_back(B[d]); xst.push_back(0); ost.push_back(bst[d]); }
  for (int64_t d = p + k; d < xs.dim(); d++) { r.shape.push_back(xs.shape[d]); xst.push_back(xs.strides[d]); ost.push_back(0); }
  r.base = xs.view_as(r.shape, xst, xs.offset);
  r.off = off.view_as(r.shape, ost, 0);
  return r;
}

static bool any_index(const std::vector<OptTensor>& idx) {
  for (auto& t : idx) if (t) return true;
  return false;
}

static Tensor index_impl(const Tensor& x, const std::vector<OptTensor>& indices, const char* op, bool allow_negative,
                         bool host_indices = false) {
  if (!any_index(indices)) {
    PYML_CHECK((int64_t)indices.size() <= x.dim(), IndexError, op, ": too many indices for tensor of dimension ", x.dim());
    return clone(x);
  }
  Indexed ix = prepare_index(x, indices, op, allow_negative, host_indices);
  Tensor out = empty(ix.shape, x.dtype, x.device());
  ElemIter it = ElemIter::make({&out, &ix.base, &ix.off});
  if (x.device().is_cpu()) index_gather_cpu(it, x.itemsize());
  else index_gather_cuda(it, x.itemsize(), x.device().index);
  return out;
}

Tensor index(const Tensor& x, const std::vector<OptTensor>& indices, const char* op) {
  return index_impl(x, indices, op, true, true);
}

static bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0, off = to.size() - from.size(); i < from.size(); i++)
    if (from[i] != 1 && from[i] != to[i + off]) return false;
  return true;
}

// host_indices: CPU index tensors and values are accepted for a CUDA x (index_put_ / setitem);
// a 0-dim CPU value (a Python number) always is.
static void index_put_impl(const Tensor& x, const std::vector<OptTensor>& indices, const Tensor& values0,
                           bool accumulate, const char* op, bool allow_negative, bool host_indices = false) {
  bool move = values0.device().is_cpu() && (host_indices || values0.dim() == 0);
  Tensor values = move ? on_device(values0, x.device()) : values0;
  check_same_device(x, values, op);
  check_writable(x, op);
  if (accumulate && is_complex(x.dtype)) {  // adds part by part: the real kernels on the (..., 2) views
    index_put_impl(view_as_real(x), indices, view_as_real(to_dtype(values, x.dtype)), true, op, allow_negative,
                   host_indices);
    x.bump_version();
    return;
  }
  if (!any_index(indices)) {
    if (accumulate) binary_(BinaryOp::Add, x, to_dtype(values, x.dtype));
    else copy_(x, values, op);
    return;
  }
  Indexed ix = prepare_index(x, indices, op, allow_negative, host_indices);
  PYML_CHECK(broadcasts_to(values.shape, ix.shape), ValueError, op, ": shape mismatch: value tensor of shape ",
             values.shape, " cannot be broadcast to indexing result of shape ", ix.shape);
  Tensor v = to_dtype(values, x.dtype);
  if (overlaps(x, v)) v = clone(v);
  ElemIter it = ElemIter::make({&ix.base, &v, &ix.off});
  if (x.device().is_cpu()) index_put_cpu(it, x.dtype, accumulate);
  else index_put_cuda(it, x.dtype, accumulate, x.device().index);
  x.bump_version();
}

void index_put_(const Tensor& x, const std::vector<OptTensor>& indices, const Tensor& values, bool accumulate,
                const char* op) {
  index_put_impl(x, indices, values, accumulate, op, true, true);
}

// --- ops along one dim with a vector of indices
static Tensor as_1d(const Tensor& t) { return t.dim() == 0 ? t.view_as({1}, {1}, t.offset) : t; }

static Tensor index_vector(const Tensor& x, const Tensor& index, const char* op) {
  PYML_CHECK(index.dim() <= 1, IndexError, op, ": index must be a vector (1-D) or a scalar, got shape ", index.shape);
  check_same_device(x, index, op);
  PYML_CHECK(index.dtype == DType::Int64 || index.dtype == DType::Int32, TypeError, op,
             ": expected an int64 (or int32) index tensor, got ", dtype_name(index.dtype));
  return as_1d(index);
}

static std::vector<OptTensor> at_dim(int64_t dim, const Tensor& index) {
  std::vector<OptTensor> v(dim);
  v.push_back(index);
  return v;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor idx = index_vector(x, index, "index_select");
  dim = wrap_dim(dim, x.dim(), "index_select");
  Tensor r = index_impl(as_1d(x), at_dim(dim, idx), "index_select", false);
  return x.dim() == 0 && r.numel() == 1 ? r.view_as({}, {}, r.offset) : r;
}

static Tensor along_dim_source(const Tensor& x, int64_t dim, const Tensor& idx, const Tensor& source, const char* op) {
  Shape expect = as_1d(x).shape;
  expect[dim] = idx.numel();
  Tensor s = as_1d(source);
  PYML_CHECK(s.shape == expect, ValueError, op, ": source shape must equal input shape with dim ", dim,
             " replaced by the number of indices (", idx.numel(), "), expected ", expect, ", got ", source.shape);
  return s;
}

void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) {
  Tensor idx = index_vector(x, index, "index_add_");
  check_same_device(x, source, "index_add_");
  dim = wrap_dim(dim, x.dim(), "index_add_");
  Tensor s = to_dtype(along_dim_source(x, dim, idx, source, "index_add_"), x.dtype);
  if (alpha.d != 1.0 && is_complex(x.dtype)) {  // a real alpha scales both parts
    s = view_as_complex(binary_scalar(BinaryOp::Mul, view_as_real(s), alpha, 1.0, false));
  } else if (alpha.d != 1.0) {
    Scalar a = is_floating(x.dtype) ? alpha : Scalar::from_int(alpha.i);  // alpha is cast to x's dtype first
    s = to_dtype(binary_scalar(BinaryOp::Mul, s, a, 1.0, false), x.dtype);
  }
  index_put_impl(as_1d(x), at_dim(dim, idx), s, true, "index_add_", false);
}

void index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  Tensor idx = index_vector(x, index, "index_copy_");
  check_same_device(x, source, "index_copy_");
  dim = wrap_dim(dim, x.dim(), "index_copy_");
  Tensor s = along_dim_source(x, dim, idx, source, "index_copy_");
  index_put_impl(as_1d(x), at_dim(dim, idx), s, false, "index_copy_", false);
}

void index_fill_(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value) {
  Tensor idx = index_vector(x, index, "index_fill_");
  dim = wrap_dim(dim, x.dim(), "index_fill_");
  index_put_impl(as_1d(x), at_dim(dim, idx), scalar_tensor(value, x.dtype, x.device()), false, "index_fill_", true);
}

Tensor take(const Tensor& x, const Tensor& index) {
  check_same_device(x, index, "take");
  Tensor flat = reshape(x, {-1});
  if (index.dim() == 0) return view(index_impl(flat, {as_1d(index)}, "take", true), {});
  return index_impl(flat, {index}, "take", true);
}

// --- gather / scatter
struct DimViews { Tensor x, idx, src; int64_t dim; };

// 0-dim operands act as 1-element vectors; index is converted to contiguous int64 and range-checked.
static DimViews dim_views(const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  check_same_device(x, index, op);
  if (src) check_same_device(x, *src, op);
  DimViews v{as_1d(x), as_1d(index_int64(index, op, false)), src ? as_1d(*src) : Tensor(), 0};
  PYML_CHECK(v.idx.dim() == v.x.dim(), ValueError, op, ": index must have the same number of dims as input, got index ",
             index.shape, " and input ", x.shape);
  v.dim = wrap_dim(dim, x.dim(), op);
  for (int64_t d = 0; d < v.x.dim(); d++)
    PYML_CHECK(d == v.dim || v.idx.shape[d] <= v.x.shape[d], ValueError, op, ": index.shape[", d, "] (",
               v.idx.shape[d], ") must not exceed input.shape[", d, "] (", v.x.shape[d], ") apart from dim ", v.dim,
               "; index ", index.shape, ", input ", x.shape);
  if (src) {
    PYML_CHECK(v.src.dim() == v.x.dim(), ValueError, op, ": src must have the same number of dims as input, got src ",
               src->shape, " and input ", x.shape);
    for (int64_t d = 0; d < v.x.dim(); d++)
      PYML_CHECK(v.idx.shape[d] <= v.src.shape[d], ValueError, op, ": index.shape[", d, "] (", v.idx.shape[d],
                 ") must not exceed src.shape[", d, "] (", v.src.shape[d], "); index ", index.shape, ", src ", src->shape);
  }
  if (x.device().is_cpu()) {
    check_range(v.idx, v.x.shape[v.dim], v.dim, false, op);
  } else {
    DeviceRangeCheck rc(1, x.device());
    rc.add(v.idx, v.x.shape[v.dim], v.dim, false);
    rc.raise_if_bad(op);
  }
  return v;
}

// CUDA: t viewed with the index's shape and a zero stride along `dim` (the kernel adds idx * stride)
static Tensor zero_dim_view(const Tensor& t, const Shape& idx_shape, int64_t dim) {
  Shape st = t.strides;
  st[dim] = 0;
  return t.view_as(idx_shape, st, t.offset);
}

// t restricted to the index's sizes off `dim`, with `dim` collapsed to 1 (the kernel walks it)
static Tensor outer_view(const Tensor& t, const Shape& idx_shape, int64_t dim) {
  Shape s = idx_shape;
  s[dim] = 1;
  return t.view_as(s, t.strides, t.offset);
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, const char* op) {
  DimViews v = dim_views(x, dim, index, nullptr, op);
  Tensor out = empty(v.idx.shape, x.dtype, x.device());
  if (!x.device().is_cpu()) {
    Tensor xs = zero_dim_view(v.x, v.idx.shape, v.dim);
    ScatterGatherParams p;
    p.len = v.idx.shape[v.dim];
    p.src_stride = v.x.strides[v.dim] * x.itemsize();
    p.dtype = x.dtype;
    scatter_gather_cuda(ElemIter::make({&out, &xs, &v.idx}), p, x.device().index);
    return index.dim() == 0 ? out.view_as({}, {}, 0) : out;
  }
  Tensor o = outer_view(out, v.idx.shape, v.dim), xs = outer_view(v.x, v.idx.shape, v.dim);
  Tensor is = outer_view(v.idx, v.idx.shape, v.dim);
  ScatterGatherParams p;
  p.len = v.idx.shape[v.dim];
  p.dst_stride = out.strides[v.dim] * out.itemsize();
  p.src_stride = v.x.strides[v.dim] * x.itemsize();
  p.idx_stride = v.idx.strides[v.dim] * 8;
  p.dtype = x.dtype;
  scatter_gather_cpu(ElemIter::make({&o, &xs, &is}), p);
  return index.dim() == 0 ? out.view_as({}, {}, 0) : out;
}

void scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, ScatterOp sop, const char* op) {
  check_writable(x, op);
  DimViews v = dim_views(x, dim, index, &src, op);
  Tensor s = to_dtype(v.src, x.dtype);
  if (overlaps(x, s)) s = clone(s);
  if (!x.device().is_cpu()) {
    Tensor xd = zero_dim_view(v.x, v.idx.shape, v.dim), sv = s.view_as(v.idx.shape, s.strides, s.offset);
    ScatterGatherParams p;
    p.len = v.idx.shape[v.dim];
    p.dst_stride = v.x.strides[v.dim] * x.itemsize();
    p.dtype = x.dtype;
    p.scatter = true;
    p.op = sop;
    scatter_gather_cuda(ElemIter::make({&xd, &sv, &v.idx}), p, x.device().index);
    x.bump_version();
    return;
  }
  Tensor xs = outer_view(v.x, v.idx.shape, v.dim), ss = outer_view(s, v.idx.shape, v.dim);
  Tensor is = outer_view(v.idx, v.idx.shape, v.dim);
  ScatterGatherParams p;
  p.len = v.idx.shape[v.dim];
  p.dst_stride = v.x.strides[v.dim] * x.itemsize();
  p.src_stride = s.strides[v.dim] * x.itemsize();
  p.idx_stride = v.idx.strides[v.dim] * 8;
  p.dtype = x.dtype;
  p.scatter = true;
  p.op = sop;
  scatter_gather_cpu(ElemIter::make({&xs, &ss, &is}), p);
  x.bump_version();
}

// --- masks and conditions
// m: contiguous bool on a CUDA device. Chunk counts and their scan, one read-back of the total to
// size the output, then the coordinates.
static Tensor nonzero_on_device(const Tensor& m, const Shape& shape) {
  PYML_CHECK((int64_t)shape.size() <= kMaxIndexDimsCuda, RuntimeError, "nonzero: CUDA tensors may have at most ",
             kMaxIndexDimsCuda, " dims here, got shape ", shape);
  int64_t n = m.numel(), chunks = (n + kNonzeroChunkCuda - 1) / kNonzeroChunkCuda;
  int dev = m.device().index;
  Tensor starts = empty({chunks + 1}, DType::Int64, m.device()), total = empty({}, DType::Int64);
  nonzero_scan_cuda(m.ptr<bool>(), n, starts.ptr<int64_t>(), dev);
  copy_(total, select(starts, 0, chunks));
  int64_t nnz = *total.ptr<int64_t>();
  Tensor out = empty({nnz, (int64_t)shape.size()}, DType::Int64, m.device());
  if (nnz) nonzero_write_cuda(m.ptr<bool>(), shape, starts.ptr<int64_t>(), out.ptr<int64_t>(), dev);
  return out;
}

Tensor nonzero(const Tensor& x) {
  Tensor m = x.dtype == DType::Bool ? contiguous(x) : to_dtype(x, DType::Bool);
  if (!x.device().is_cpu()) return nonzero_on_device(m, x.shape);
  int64_t nnz = count_nonzero_cpu(m.ptr<bool>(), m.numel());
  Tensor out = empty({nnz, x.dim()}, DType::Int64);
  if (nnz) nonzero_cpu(m.ptr<bool>(), x.shape, out.ptr<int64_t>());
  return out;
}

Tensor where(const Tensor& cond0, const Tensor& x, const Tensor& y) {
  Device dev = common_device({&cond0, &x, &y}, "where");
  PYML_CHECK(cond0.dtype == DType::Bool, TypeError, "where: expected condition to be a boolean tensor, got dtype ",
             dtype_name(cond0.dtype));
  DType dt = result_type(x, y);
  Shape s = broadcast_shapes(broadcast_shapes(cond0.shape, x.shape, "where"), y.shape, "where");
  Tensor cond = on_device(cond0, dev), xc = on_device(to_dtype(x, dt), dev), yc = on_device(to_dtype(y, dt), dev);
  Tensor out = empty_for(s, dt, dev, {&cond0, &x, &y});
  ElemIter it = ElemIter::make({&out, &cond, &xc, &yc});
  if (dev.is_cpu()) where_cpu(it, itemsize(dt));
  else where_cuda(it, itemsize(dt), dev.index);
  return out;
}

static void check_mask(const Tensor& x, const Tensor& mask, const char* op) {
  check_same_device(x, mask, op);
  PYML_CHECK(mask.dtype == DType::Bool, TypeError, op, ": expected a boolean mask, got mask of dtype ",
             dtype_name(mask.dtype));
}

void masked_fill_(const Tensor& x, const Tensor& mask0, const Scalar& value) {
  check_mask(x, mask0, "masked_fill_");
  check_writable(x, "masked_fill_");
  Shape s = broadcast_shapes(x.shape, mask0.shape, "masked_fill_");
  PYML_CHECK(s == x.shape, ValueError, "masked_fill_: mask of shape ", mask0.shape,
             " must be broadcastable to the input's shape ", x.shape, " (the broadcast shape is ", s, ")");
  Tensor mask = overlaps(x, mask0) ? clone(mask0) : mask0;
  Tensor v = scalar_tensor(value, x.dtype);  // on the host: its bytes go to the kernel by value
  if (x.device().is_cpu()) masked_fill_cpu(ElemIter::make({&x, &mask}), x.itemsize(), v.data());
  else masked_fill_cuda(ElemIter::make({&x, &x, &mask}), x.itemsize(), v.data(), x.device().index);
  x.bump_version();
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_mask(x, mask, "masked_select");
  Shape s = broadcast_shapes(x.shape, mask.shape, "masked_select");
  if (s.empty()) s = {1};
  return index_impl(expand(x, s), {expand(mask, s)}, "masked_select", true);
}

[[noreturn]] static void throw_negative_repeat(int64_t v, int64_t i) {
  throw ValueError(cat_str("repeat_interleave: repeats can not be negative, got ", v, " at position ", i));
}

// r: contiguous int64 on a CUDA device. Prefix sums and the first negative position come back in
// one copy; then every output element finds its source by binary search.
static Tensor repeat_interleave_on_device(const Tensor& r) {
  int64_t n = r.numel();
  int dev = r.device().index;
  Tensor starts = empty({n + 2}, DType::Int64, r.device()), h = empty({2}, DType::Int64);
  repeat_interleave_scan_cuda(r.ptr<int64_t>(), n, starts.ptr<int64_t>(), dev);
  copy_(h, slice(starts, 0, n, n + 2, 1));
  int64_t total = h.ptr<int64_t>()[0], bad = h.ptr<int64_t>()[1];
  if (bad != INT64_MAX) {
    Tensor v = empty({}, DType::Int64);
    copy_(v, select(reshape(r, {-1}), 0, bad));
    throw_negative_repeat(*v.ptr<int64_t>(), bad);
  }
  Tensor out = empty({total}, DType::Int64, r.device());
  repeat_interleave_fill_cuda(starts.ptr<int64_t>(), n, out.ptr<int64_t>(), total, dev);
  return out;
}

Tensor repeat_interleave_index(const Tensor& repeats) {
  PYML_CHECK(is_integral(repeats.dtype, false), TypeError, "repeat_interleave: repeats must be an integer tensor, got ",
             dtype_name(repeats.dtype));
  PYML_CHECK(repeats.dim() <= 1, ValueError, "repeat_interleave: repeats must be 0-dim or 1-dim, got shape ", repeats.shape);
  Tensor r = contiguous(to_dtype(repeats, DType::Int64));
  if (!r.device().is_cpu()) return repeat_interleave_on_device(r);
  const int64_t* p = r.ptr<int64_t>();
  int64_t total = 0;
  for (int64_t i = 0; i < r.numel(); i++) {
    if (p[i] < 0) throw_negative_repeat(p[i], i);
    total += p[i];
  }
  Tensor out = empty({total}, DType::Int64);
  repeat_interleave_cpu(p, r.numel(), out.ptr<int64_t>());
  return out;
}

}  // namespace pyml
