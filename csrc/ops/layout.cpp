// Host entries of the layout family: cat, flip, roll, pad, tril/triu, on CPU and CUDA. cat and
// constant pad are strided copies into views of a fresh output (copy_ casts; threaded on CPU, the
// copy kernel on CUDA); flip, roll and the reflect/replicate/circular pads describe each changed dim
// by a RemapRule: the CPU expands the rules into index maps for remap_cpu, the CUDA kernel evaluates
// them per element (no maps to upload).
#include "core/memory_format.h"
#include "ops/index.h"
#include "cuda/index.h"

namespace pyml {

using Rules = std::vector<RemapRule>;  // per dim

static Tensor remap(const Tensor& x, const Shape& shape, const Rules& rules) {
  Tensor out = empty(shape, x.dtype, x.device());
  Shape src_strides;
  for (int64_t d = 0; d < x.dim(); d++) src_strides.push_back(x.strides[d] * x.itemsize());
  if (!x.device().is_cpu()) {
    remap_cuda(shape, src_strides, rules, x.data(), out.data(), x.itemsize(), x.device().index);
    return out;
  }
  std::vector<std::vector<int64_t>> maps(x.dim());  // per dim; empty: identity
  RemapParams p;
  p.shape = shape;
  p.src_strides = src_strides;
  for (int64_t d = 0; d < x.dim(); d++) {
    if (rules[d].kind != RemapRule::Identity)
      for (int64_t o = 0; o < shape[d]; o++) maps[d].push_back(rules[d].source(o));
    p.maps.push_back(maps[d].empty() ? nullptr : maps[d].data());
  }
  p.src = x.data();
  p.out = out.data();
  p.itemsize = x.itemsize();
  remap_cpu(p);
  return out;
}

Tensor cat(const std::vector<Tensor>& ts, int64_t dim) {
  PYML_CHECK(!ts.empty(), ValueError, "cat: expected a non-empty list of Tensors");
  DType dt = ts[0].dtype;
  std::vector<size_t> parts;  // 1-D empty tensors are skipped (legacy behaviour kept by torch)
  for (size_t i = 0; i < ts.size(); i++) {
    PYML_CHECK(ts[i].device() == ts[0].device(), RuntimeError, "cat: expected all tensors to be on the same device, "
               "got ", ts[0].device().str(), " and ", ts[i].device().str(), " (tensor number ", (int64_t)i, ")");
    PYML_CHECK(ts[i].dim() > 0, ValueError, "cat: zero-dimensional tensor (at position ", (int64_t)i,
               ") cannot be concatenated");
    dt = promote_types(dt, ts[i].dtype);
    if (!(ts[i].dim() == 1 && ts[i].numel() == 0)) parts.push_back(i);
  }
  if (parts.empty()) return empty({0}, dt, ts[0].device());
  const Tensor& ref = ts[parts[0]];
  dim = wrap_dim(dim, ref.dim(), "cat");
  Shape shape = ref.shape;
  shape[dim] = 0;
  for (size_t i : parts) {
    const Tensor& t = ts[i];
    PYML_CHECK(t.dim() == ref.dim(), ValueError, "cat: tensors must have the same number of dimensions, got ",
               ref.shape, " and ", t.shape, " for tensor number ", (int64_t)i, " in the list");
    for (int64_t d = 0; d < t.dim(); d++)
      PYML_CHECK(d == dim || t.shape[d] == ref.shape[d], ValueError, "cat: sizes of tensors must match except in "
                 "dimension ", dim, ", expected size ", ref.shape[d], " but got size ", t.shape[d], " for tensor number ",
                 (int64_t)i, " in the list; shapes ", ref.shape, " and ", t.shape);
    shape[dim] += t.shape[dim];
  }
  MemoryFormat f = suggest_format(ref);  // as torch: the inputs' common layout, else contiguous
  for (size_t i : parts)
    if (suggest_format(ts[i]) != f) f = MemoryFormat::Contiguous;
  Tensor out = empty_strided(shape, format_strides(shape, f, "cat"), dt, ts[0].device());
  int64_t pos = 0;
  for (size_t i : parts) {
    int64_t n = ts[i].shape[dim];
    if (n && ts[i].numel()) copy_(slice(out, dim, pos, pos + n, 1), ts[i], "cat");
    pos += n;
  }
  return out;
}

Tensor flip(const Tensor& x, const Shape& dims) {
  Rules rules(x.dim());
  std::vector<bool> seen(std::max<int64_t>(x.dim(), 1), false);
  for (int64_t d0 : dims) {
    int64_t d = wrap_dim(d0, x.dim(), "flip");
    PYML_CHECK(!seen[d], ValueError, "flip: dim ", d, " appears multiple times in the list of dims, got ", dims);
    seen[d] = true;
    if (x.dim() == 0) continue;
    rules[d].kind = RemapRule::Flip;
    rules[d].n = x.shape[d];
  }
  return remap(x, x.shape, rules);
}

Tensor roll(const Tensor& x, const Shape& shifts, const Shape& dims) {
  if (dims.empty()) {
    PYML_CHECK(shifts.size() == 1, ValueError, "roll: without dims the flattened tensor is rolled by one shift, got ",
               (int64_t)shifts.size(), " shifts ", shifts);
    return view(roll(reshape(x, {-1}), shifts, {0}), x.shape);
  }
  PYML_CHECK(shifts.size() == dims.size(), ValueError, "roll: shifts and dims must have the same length, got ",
             (int64_t)shifts.size(), " shifts ", shifts, " and ", (int64_t)dims.size(), " dims ", dims);
  Shape total(std::max<int64_t>(x.dim(), 1), 0);
  for (size_t i = 0; i < dims.size(); i++) total[wrap_dim(dims[i], x.dim(), "roll")] += shifts[i];
  Rules rules(x.dim());
  for (int64_t d = 0; d < x.dim(); d++) {
    int64_t n = x.shape[d];
    if (n == 0 || total[d] % n == 0) continue;
    rules[d].kind = RemapRule::Roll;
    rules[d].n = n;
    rules[d].l = ((total[d] % n) + n) % n;
  }
  return remap(x, x.shape, rules);
}

static const char* pad_mode_name(PadMode m) {
  return m == PadMode::Constant ? "constant" : m == PadMode::Reflect ? "reflect" : m == PadMode::Replicate ? "replicate" : "circular";
}

static void check_pad_dim(PadMode mode, int64_t l, int64_t r, int64_t n, int64_t d, const Tensor& x) {
  const char* m = pad_mode_name(mode);
  PYML_CHECK(n > 0, ValueError, "pad: ", m, " padding needs a non-empty dim ", d, ", got input shape ", x.shape);
  if (mode == PadMode::Reflect)
    PYML_CHECK(l < n && r < n, ValueError, "pad: reflect padding (", l, ", ", r, ") must be less than the size ", n,
               " of dim ", d, " of input ", x.shape);
  int64_t kept = n - std::max<int64_t>(0, -l) - std::max<int64_t>(0, -r);
  if (mode == PadMode::Circular)
    PYML_CHECK(kept > 0 && l <= kept && r <= kept, ValueError, "pad: circular padding (", l, ", ", r,
               ") must not exceed the size ", kept, " of dim ", d, " (after cropping) of input ", x.shape,
               " (it would wrap around more than once)");
}

Tensor pad(const Tensor& x, const Shape& pads, PadMode mode, const Scalar& value) {
  int64_t np = (int64_t)pads.size() / 2;
  PYML_CHECK(pads.size() % 2 == 0, ValueError, "pad: padding length must be divisible by 2, got ", pads);
  PYML_CHECK(np <= x.dim(), ValueError, "pad: padding length (", (int64_t)pads.size(),
             ") must be at most twice the number of dims of the input, got input shape ", x.shape);
  Shape shape = x.shape;
  for (int64_t i = 0; i < np; i++) {
    int64_t d = x.dim() - 1 - i;
    shape[d] += pads[2 * i] + pads[2 * i + 1];
    PYML_CHECK(shape[d] >= 0, ValueError, "pad: padding (", pads[2 * i], ", ", pads[2 * i + 1], ") of dim ", d,
               " gives a negative size ", shape[d], " for input ", x.shape);
  }
  if (mode == PadMode::Constant) {
    Tensor out = empty_strided(shape, format_strides(shape, suggest_format(x), "pad"), x.dtype, x.device());
    fill_(out, value);  // channels_last in, channels_last out, as torch
    Tensor src = x, dst = out;
    for (int64_t i = 0; i < np; i++) {
      int64_t d = x.dim() - 1 - i, l = pads[2 * i], r = pads[2 * i + 1];
      int64_t s0 = std::max<int64_t>(0, -l), len = std::max<int64_t>(0, x.shape[d] - s0 - std::max<int64_t>(0, -r));
      src = slice(src, d, s0, s0 + len, 1);
      dst = slice(dst, d, std::max<int64_t>(0, l), std::max<int64_t>(0, l) + len, 1);
    }
    if (src.numel()) copy_(dst, src, "pad");
    return out;
  }
  Rules rules(x.dim());
  int kind = mode == PadMode::Reflect ? RemapRule::Reflect : mode == PadMode::Replicate ? RemapRule::Replicate
                                                                                        : RemapRule::Circular;
  for (int64_t i = 0; i < np; i++) {
    int64_t d = x.dim() - 1 - i, l = pads[2 * i], r = pads[2 * i + 1], n = x.shape[d];
    if (l == 0 && r == 0) continue;
    check_pad_dim(mode, l, r, n, d, x);
    rules[d].kind = kind;
    rules[d].n = n, rules[d].l = l, rules[d].r = r;
  }
  return to_format_of(remap(x, shape, rules), x);
}

Tensor tril(const Tensor& x, int64_t diagonal, bool upper) {
  const char* op = upper ? "triu" : "tril";
  PYML_CHECK(x.dim() >= 2, ValueError, op, ": input tensor must have at least 2 dimensions, got shape ", x.shape);
  Tensor out = clone(x);
  int64_t R = x.shape[x.dim() - 2], C = x.shape[x.dim() - 1];
  if (out.numel() == 0) return out;
  if (!out.device().is_cpu()) {
    tri_zero_cuda(out.data(), out.numel() / (R * C), R, C, out.itemsize(), diagonal, upper, out.device().index);
    return out;
  }
  tri_zero_cpu(out.data(), out.numel() / (R * C), R, C, out.itemsize(), diagonal, upper);
  return out;
}

}  // namespace pyml
