// Host entries of conv1d/2d/3d, conv_transpose1d/2d/3d and unfold/fold: validate, view everything
// as 4-D NCHW (1-D: H = 1; unbatched: N = 1) and fill ConvParams, or, with 3 spatial dims, as 5-D
// NCDHW with Conv3dParams for the general 3-D kernels (ops/conv3d.h); dispatch by device.
// A transposed conv is the adjoint of a conv with weight (Cin, Cout/G, R, S) read as a conv
// weight (K = Cin, C/G = Cout/G): its forward is the conv's grad-input kernel, its grad-input
// the conv's forward, its grad-weight the conv's grad-weight with the roles of x and dy swapped.
// CUDA tensors go to the implicit-GEMM kernels of cuda/conv2d.cu (3-D: cuda/conv3d.cu), which write
// every output element themselves (no zero-fill), after the same validation; float16/bfloat16 stay
// in their dtype there (tensor cores) instead of the CPU path's float32 compute copy, except in 3-D.
#include <atomic>
#include <cstring>
#include "core/memory_format.h"
#include "ops/conv.h"
#include "core/parallel.h"
#include "ops/conv3d.h"
#include "cuda/conv2d.h"
#include "cuda/conv3d.h"

namespace pyml {

static std::atomic<bool> g_conv_allow_tf32{false};
void set_conv_allow_tf32(bool on) { g_conv_allow_tf32.store(on); }
bool conv_allow_tf32() { return g_conv_allow_tf32.load(); }

DType conv_compute_dtype(const Tensor& t, const char* op) {
  PYML_CHECK(is_floating(t.dtype), TypeError, op, ": expected a floating-point tensor (float16, bfloat16, "
             "float32 or float64), got dtype ", dtype_name(t.dtype));
  return (t.dtype == DType::Float16 || t.dtype == DType::BFloat16) ? DType::Float32 : t.dtype;
}

std::string ints_str(const IntList& v) {
  return v.size() == 1 ? cat_str("(", v[0], ",)") : shape_str(v);
}

namespace {

Tensor zeros(const Shape& shape, DType t) {
  Tensor z = empty(shape, t);
  if (z.numel()) std::memset(z.data(), 0, z.numel() * z.itemsize());
  return z;
}

// The result buffer of a kernel that writes every element: zero-filled for the CPU kernels that
// accumulate into it, uninitialised on CUDA.
Tensor result_buffer(const Shape& shape, DType t, Device dev) {
  return dev.is_cpu() ? zeros(shape, t) : empty(shape, t, dev);
}

// The user's tensors as NCHW views (1-D: H = 1; unbatched: N = 1) in the compute dtype: 4-D with
// params p for 1-D/2-D convs, 5-D NCDHW with params p3 for 3-D ones.
struct ConvSetup {
  ConvParams p{};
  Conv3dParams p3{};
  Tensor x, w, b;       // x strided, w and b contiguous (b undefined without bias)
  Shape out_shape;      // output shape in the user's rank
  bool batched = true;
  size_t nd = 2;        // spatial dims
  DType dtype, ct;      // user dtype, compute dtype
};

const char* conv_name(size_t nd, bool transposed) {
  if (transposed) return nd == 1 ? "conv_transpose1d" : nd == 3 ? "conv_transpose3d" : "conv_transpose2d";
  return nd == 1 ? "conv1d" : nd == 3 ? "conv3d" : "conv2d";
}

void check_list(const IntList& v, size_t nd, const char* op, const char* name, int64_t min) {
  PYML_CHECK(v.size() == nd, ValueError, op, ": ", name, " must have ", nd, " element(s), got ", ints_str(v));
  for (int64_t e : v)
    PYML_CHECK(e >= min, ValueError, op, ": ", name, " must be ", min == 0 ? "non-negative" : "positive",
               ", got ", ints_str(v));
}

// The last n sizes of t
IntList spatial(const Tensor& t, size_t n) { return IntList(t.shape.end() - n, t.shape.end()); }

// x, w to 4-D (1-D/2-D) or 5-D (3-D); validates ranks, dtypes, devices, groups and channel counts.
ConvSetup setup(const Tensor& x, const Tensor& w, const OptTensor& b, size_t nd, int64_t groups, bool transposed) {
  const char* op = conv_name(nd, transposed);
  PYML_CHECK(nd >= 1 && nd <= 3, ValueError, op, ": only 1-D, 2-D and 3-D convolutions are supported, got ", nd,
             " spatial dims");
  check_same_device(x, w, op);
  int64_t r = (int64_t)nd;
  PYML_CHECK(x.dim() == r + 1 || x.dim() == r + 2, ValueError, op, ": expected ", r + 1, "-D (unbatched) or ",
             r + 2, "-D (batched) input, got input of shape ", x.shape);
  PYML_CHECK(w.dim() == r + 2, ValueError, op, ": expected ", r + 2, "-D weight (", transposed ?
             "in_channels, out_channels/groups" : "out_channels, in_channels/groups",
             nd == 1 ? ", kL" : nd == 2 ? ", kH, kW" : ", kD, kH, kW", "), got weight of shape ", w.shape);
  PYML_CHECK(x.dtype == w.dtype, TypeError, op, ": input and weight must have the same dtype, got ",
             dtype_name(x.dtype), " and ", dtype_name(w.dtype));
  ConvSetup s;
  s.nd = nd;
  s.dtype = x.dtype;
  s.ct = conv_compute_dtype(x, op);
  // CUDA runs float16/bfloat16 natively (tensor cores) in 1-D/2-D; 3-D computes them in float32
  if (!x.device().is_cpu() && nd != 3) s.ct = x.dtype;
  s.batched = x.dim() == r + 2;
  Tensor x4 = s.batched ? x : unsqueeze(x, 0), w4 = w;
  if (nd == 1) { x4 = unsqueeze(x4, 2); w4 = unsqueeze(w4, 2); }
  PYML_CHECK(groups > 0, ValueError, op, ": groups must be positive, got ", groups);
  int64_t wk = w4.shape[0], cin = x4.shape[1];
  if (!transposed) {
    PYML_CHECK(wk % groups == 0, ValueError, op, ": out_channels (weight.shape[0] = ", wk,
               ") must be divisible by groups (", groups, "); weight ", w.shape);
    PYML_CHECK(cin == w4.shape[1] * groups, ValueError, op, ": input channels (", cin,
               ") must equal weight.shape[1]*groups (", w4.shape[1] * groups, "); input ", x.shape, ", weight ",
               w.shape);
  } else {
    PYML_CHECK(wk % groups == 0, ValueError, op, ": in_channels (weight.shape[0] = ", wk,
               ") must be divisible by groups (", groups, "); weight ", w.shape);
    PYML_CHECK(cin == wk, ValueError, op, ": input channels (", cin, ") must equal weight.shape[0] (", wk,
               "); input ", x.shape, ", weight ", w.shape);
  }
  int64_t kout = transposed ? w4.shape[1] * groups : wk;
  if (b) {
    check_same_device(x, *b, op);
    PYML_CHECK(b->dtype == x.dtype, TypeError, op, ": input and bias must have the same dtype, got ",
               dtype_name(x.dtype), " and ", dtype_name(b->dtype));
    PYML_CHECK(b->dim() == 1 && b->shape[0] == kout, ValueError, op, ": bias must be 1-D with out_channels (",
               kout, ") elements, got bias of shape ", b->shape);
    s.b = contiguous(to_dtype(*b, s.ct));
  }
  s.x = to_dtype(x4, s.ct);
  s.w = contiguous(to_dtype(w4, s.ct));
  s.p.G = s.p3.G = groups;
  s.p.N = s.p3.N = x4.shape[0];
  return s;
}

void fill_geometry(ConvParams& p, const IntList& stride, const IntList& pad, const IntList& dil, size_t nd) {
  p.sh = nd == 1 ? 1 : stride[0];
  p.sw = stride[nd - 1];
  p.ph = nd == 1 ? 0 : pad[0];
  p.pw = pad[nd - 1];
  p.dh = nd == 1 ? 1 : dil[0];
  p.dw = dil[nd - 1];
}

void fill_geometry3(Conv3dParams& p, const IntList& stride, const IntList& pad, const IntList& dil) {
  p.sd = stride[0], p.sh = stride[1], p.sw = stride[2];
  p.pd = pad[0], p.ph = pad[1], p.pw = pad[2];
  p.dd = dil[0], p.dh = dil[1], p.dw = dil[2];
}

void fill_strides(ConvParams& p, const Tensor& x4) {
  for (int i = 0; i < 4; i++) p.xs[i] = x4.strides[i];
}

// Output shape in the user's rank: (N, C, *sizes)
Shape user_shape(const ConvSetup& s, int64_t N, int64_t C, const IntList& sizes) {
  Shape out = {N, C};
  out.insert(out.end(), sizes.begin(), sizes.end());
  if (!s.batched) out.erase(out.begin());
  return out;
}

Tensor finish(const Tensor& t4, const Shape& shape, DType dtype) {
  Tensor v = t4.view_as(shape, contiguous_strides(shape), t4.offset);
  return v.dtype == dtype ? v : to_dtype(v, dtype);
}

#define PYML_CONV_DISPATCH(ct, ...)                   \
  if (ct == DType::Float32) { using T = float; __VA_ARGS__; } \
  else { using T = double; __VA_ARGS__; }

// Output sizes of a conv along its nd spatial dims (the last nd of x and w); the dilated kernel
// must fit the padded input.
IntList conv_out_sizes(const Tensor& x, const Tensor& w, const IntList& stride, const IntList& padding,
                       const IntList& pad_hi, const IntList& dilation, const char* op) {
  size_t nd = stride.size();
  IntList k = spatial(w, nd), ek(nd), ip(nd), out(nd), in = spatial(x, nd);
  bool fits = true;
  for (size_t i = 0; i < nd; i++) {
    ek[i] = dilation[i] * (k[i] - 1) + 1;
    ip[i] = in[i] + padding[i] + pad_hi[i];
    fits = fits && ek[i] <= ip[i];
    out[i] = fits ? (ip[i] - ek[i]) / stride[i] + 1 : 0;
  }
  PYML_CHECK(fits, ValueError, op, ": kernel size after dilation ", ints_str(ek),
             " can't be greater than the padded input size ", ints_str(ip), "; input ", x.shape, ", weight ", w.shape);
  return out;
}

// Conv setup: output size from the padded input; the kernel must fit.
ConvSetup conv_setup(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                     const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups) {
  size_t nd = stride.size();
  ConvSetup s = setup(x, w, b, nd, groups, false);
  const char* op = conv_name(nd, false);
  check_list(stride, nd, op, "stride", 1);
  check_list(padding, nd, op, "padding", 0);
  check_list(pad_hi, nd, op, "padding", INT64_MIN);  // negative: crop (adjoint of conv_transpose)
  check_list(dilation, nd, op, "dilation", 1);
  IntList out = conv_out_sizes(x, w, stride, padding, pad_hi, dilation, op);
  if (nd == 3) {
    Conv3dParams& p = s.p3;
    p.C = s.x.shape[1], p.D = s.x.shape[2], p.H = s.x.shape[3], p.W = s.x.shape[4];
    p.K = s.w.shape[0], p.T = s.w.shape[2], p.R = s.w.shape[3], p.S = s.w.shape[4];
    p.O = out[0], p.P = out[1], p.Q = out[2];
    fill_geometry3(p, stride, padding, dilation);
    for (int i = 0; i < 5; i++) p.xs[i] = s.x.strides[i];
    s.out_shape = user_shape(s, p.N, p.K, out);
    return s;
  }
  ConvParams& p = s.p;
  p.C = s.x.shape[1], p.H = s.x.shape[2], p.W = s.x.shape[3];
  p.K = s.w.shape[0], p.R = s.w.shape[2], p.S = s.w.shape[3];
  fill_geometry(p, stride, padding, dilation, nd);
  p.P = nd == 1 ? 1 : out[0];
  p.Q = out[nd - 1];
  fill_strides(p, s.x);
  s.out_shape = user_shape(s, p.N, p.K, out);
  return s;
}

void check_grad_shape(const Tensor& dy, const Tensor& other, const Shape& expect, DType dtype, const char* op) {
  check_same_device(dy, other, op);
  PYML_CHECK(dy.shape == expect, ValueError, op, ": grad_output must have the output's shape ", expect,
             ", got ", dy.shape);
  PYML_CHECK(dy.dtype == dtype, TypeError, op, ": grad_output must have the input's dtype ", dtype_name(dtype),
             ", got ", dtype_name(dy.dtype));
}

// dy in the user's rank -> contiguous NCHW / NCDHW of the given shape in the compute dtype
Tensor grad_view(const Tensor& dy, DType ct, const Shape& shape) {
  Tensor c = contiguous(to_dtype(dy, ct));
  return c.view_as(shape, contiguous_strides(shape), c.offset);
}

Tensor grad4(const Tensor& dy, DType ct, int64_t N, int64_t K, int64_t P, int64_t Q) {
  return grad_view(dy, ct, {N, K, P, Q});
}

// Transposed conv setup: the conv "input" is the transposed output (C = Cout, spatial = the output
// sizes), the conv "output" is x (K = Cin, spatial = x's).
ConvSetup transpose_setup(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                          const IntList& padding, const IntList& output_padding, const IntList& dilation,
                          int64_t groups) {
  size_t nd = stride.size();
  ConvSetup s = setup(x, w, b, nd, groups, true);
  const char* op = conv_name(nd, true);
  check_list(stride, nd, op, "stride", 1);
  check_list(padding, nd, op, "padding", 0);
  check_list(output_padding, nd, op, "output_padding", 0);
  check_list(dilation, nd, op, "dilation", 1);
  for (size_t i = 0; i < nd; i++)
    PYML_CHECK(output_padding[i] < stride[i] || output_padding[i] < dilation[i], ValueError, op,
               ": output_padding must be smaller than either stride or dilation, got output_padding ",
               ints_str(output_padding), ", stride ", ints_str(stride), ", dilation ", ints_str(dilation));
  IntList in = spatial(x, nd), k = spatial(w, nd), os(nd);
  bool positive = true;
  for (size_t i = 0; i < nd; i++) {
    os[i] = (in[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k[i] - 1) + output_padding[i] + 1;
    positive = positive && os[i] > 0;
  }
  PYML_CHECK(positive, ValueError, op, ": the output size ", ints_str(os),
             " must be positive (input too small for the padding); input ", x.shape, ", weight ", w.shape,
             ", padding ", ints_str(padding));
  if (nd == 3) {
    Conv3dParams& p = s.p3;
    p.K = s.x.shape[1], p.O = in[0], p.P = in[1], p.Q = in[2];
    p.C = s.w.shape[1] * groups, p.T = k[0], p.R = k[1], p.S = k[2];
    p.D = os[0], p.H = os[1], p.W = os[2];
    fill_geometry3(p, stride, padding, dilation);
    s.out_shape = user_shape(s, p.N, p.C, os);
    return s;
  }
  ConvParams& p = s.p;
  p.K = s.x.shape[1], p.P = s.x.shape[2], p.Q = s.x.shape[3];
  p.C = s.w.shape[1] * groups, p.R = s.w.shape[2], p.S = s.w.shape[3];
  fill_geometry(p, stride, padding, dilation, nd);
  p.H = nd == 1 ? 1 : os[0];
  p.W = os[nd - 1];
  s.out_shape = user_shape(s, p.N, p.C, os);
  return s;
}

// unfold/fold geometry: C channels, H x W image, P x Q blocks; checks the 2-element lists.
ConvParams block_params(const char* op, int64_t N, int64_t C, int64_t H, int64_t W, const IntList& kernel,
                        const IntList& dilation, const IntList& padding, const IntList& stride) {
  check_list(kernel, 2, op, "kernel_size", 1);
  check_list(dilation, 2, op, "dilation", 1);
  check_list(padding, 2, op, "padding", 0);
  check_list(stride, 2, op, "stride", 1);
  ConvParams p{};
  p.N = N, p.C = C, p.H = H, p.W = W, p.G = 1, p.K = C;
  p.R = kernel[0], p.S = kernel[1];
  fill_geometry(p, stride, padding, dilation, 2);
  int64_t eh = p.dh * (p.R - 1) + 1, ew = p.dw * (p.S - 1) + 1;
  p.P = (H + 2 * p.ph - eh) / p.sh + 1;
  p.Q = (W + 2 * p.pw - ew) / p.sw + 1;
  PYML_CHECK(H + 2 * p.ph >= eh && W + 2 * p.pw >= ew, ValueError, op, ": image size (", H, ", ", W,
             ") with padding ", ints_str(padding), " is smaller than the dilated kernel (", eh, ", ", ew,
             "); kernel_size ", ints_str(kernel), ", dilation ", ints_str(dilation));
  return p;
}

}  // namespace

Tensor im2col(const Tensor& x, const IntList& kernel, const IntList& dilation, const IntList& padding,
              const IntList& stride) {
  const char* op = "unfold";
  PYML_CHECK(x.dim() == 3 || x.dim() == 4, ValueError, op, ": expected 3-D (unbatched) or 4-D (batched) input, "
             "got input of shape ", x.shape);
  DType ct = conv_compute_dtype(x, op);
  Tensor x4 = to_dtype(x.dim() == 4 ? x : unsqueeze(x, 0), ct);
  ConvParams p = block_params(op, x4.shape[0], x4.shape[1], x4.shape[2], x4.shape[3], kernel, dilation,
                              padding, stride);
  fill_strides(p, x4);
  Tensor y = empty({p.N, p.C * p.R * p.S, p.P * p.Q}, ct, x.device());
  if (!x.device().is_cpu()) unfold_cuda(p, x4.data(), y.data(), ct, x.device().index);
  else PYML_CONV_DISPATCH(ct, unfold_cpu<T>(p, x4.ptr<T>(), y.ptr<T>()));
  Shape out = y.shape;
  if (x.dim() == 3) out.erase(out.begin());
  return finish(y, out, x.dtype);
}

Tensor col2im(const Tensor& cols, const IntList& output_size, const IntList& kernel, const IntList& dilation,
              const IntList& padding, const IntList& stride) {
  const char* op = "fold";
  PYML_CHECK(cols.dim() == 2 || cols.dim() == 3, ValueError, op, ": expected 2-D (unbatched) or 3-D (batched) "
             "input, got input of shape ", cols.shape);
  check_list(output_size, 2, op, "output_size", 1);
  check_list(kernel, 2, op, "kernel_size", 1);
  DType ct = conv_compute_dtype(cols, op);
  Tensor c3 = cols.dim() == 3 ? cols : unsqueeze(cols, 0);
  int64_t RS = kernel[0] * kernel[1];
  PYML_CHECK(c3.shape[1] % RS == 0, ValueError, op, ": input.shape[-2] (", c3.shape[1],
             ") must be divisible by the product of kernel_size ", ints_str(kernel), " (", RS, "); input ", cols.shape);
  ConvParams p = block_params(op, c3.shape[0], c3.shape[1] / RS, output_size[0], output_size[1], kernel, dilation,
                              padding, stride);
  PYML_CHECK(c3.shape[2] == p.P * p.Q, ValueError, op, ": input.shape[-1] (", c3.shape[2],
             ") must equal the number of sliding blocks ", p.P, " * ", p.Q, " = ", p.P * p.Q, " for output_size ",
             ints_str(output_size), ", kernel_size ", ints_str(kernel), ", dilation ", ints_str(dilation),
             ", padding ", ints_str(padding), ", stride ", ints_str(stride), "; input ", cols.shape);
  Tensor c = contiguous(to_dtype(c3, ct)), y = result_buffer({p.N, p.C, p.H, p.W}, ct, cols.device());
  if (!cols.device().is_cpu()) fold_cuda(p, c.data(), y.data(), ct, cols.device().index);
  else PYML_CONV_DISPATCH(ct, fold_cpu<T>(p, c.ptr<T>(), y.ptr<T>()));
  Shape out = y.shape;
  if (cols.dim() == 2) out.erase(out.begin());
  return finish(y, out, cols.dtype);
}

// y (N, C, inner) += b per channel
template <typename T>
static void add_channel_bias(T* y, const T* b, int64_t N, int64_t C, int64_t inner) {
  parallel_for(0, N * C, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)), [&](int64_t a, int64_t e) {
    for (int64_t i = a; i < e; i++)
      for (int64_t j = 0; j < inner; j++) y[i * inner + j] += b[i % C];
  });
}

// ---- 3-D: the general kernels of cpu/conv3d.cpp and cuda/conv3d.cu. Buffers are contiguous
// NCDHW except x (strided); float16/bfloat16 compute in float32 on both devices.

// dy in the user's rank -> contiguous (N, K, O, P, Q) in the compute dtype
static Tensor grad5(const ConvSetup& s, const Tensor& dy) {
  const Conv3dParams& p = s.p3;
  return grad_view(dy, s.ct, {p.N, p.K, p.O, p.P, p.Q});
}

// y (N, K, O, P, Q) = x (*) w + b
static Tensor forward3(const ConvSetup& s, Device dev) {
  const Conv3dParams& p = s.p3;
  Tensor y = empty({p.N, p.K, p.O, p.P, p.Q}, s.ct, dev);  // the kernels write all of it
  const void* bias = s.b.defined() ? s.b.data() : nullptr;
  if (!dev.is_cpu()) conv3d_forward_cuda(p, s.x.data(), s.w.data(), bias, y.data(), s.ct, dev.index);
  else PYML_CONV_DISPATCH(s.ct, conv3d_forward_cpu<T>(p, s.x.ptr<T>(), s.w.ptr<T>(), static_cast<const T*>(bias),
                                                      y.ptr<T>()));
  return y;
}

// dx (N, C, D, H, W) from g (N, K, O, P, Q), plus bias (C values) per channel when it is defined:
// conv3d's grad input, and conv_transpose3d's forward
static Tensor backward_input3(const ConvSetup& s, const Tensor& g, const Tensor& bias, Device dev) {
  const Conv3dParams& p = s.p3;
  Tensor dx = empty({p.N, p.C, p.D, p.H, p.W}, s.ct, dev);  // the kernels write all of it
  if (!dev.is_cpu()) {
    conv3d_backward_input_cuda(p, g.data(), s.w.data(), bias.defined() ? bias.data() : nullptr, dx.data(), s.ct,
                               dev.index);
    return dx;
  }
  PYML_CONV_DISPATCH(s.ct, {
    conv3d_backward_input_cpu<T>(p, g.ptr<T>(), s.w.ptr<T>(), dx.ptr<T>());
    if (bias.defined()) add_channel_bias<T>(dx.ptr<T>(), bias.ptr<T>(), p.N, p.C, p.D * p.H * p.W);
  });
  return dx;
}

// dw (K, C/G, T, R, S) from g (N, K, O, P, Q) and x
static Tensor backward_weight3(const ConvSetup& s, const Tensor& g, Device dev) {
  Tensor dw = empty(s.w.shape, s.ct, dev);  // the kernels write all of it
  if (!dev.is_cpu()) conv3d_backward_weight_cuda(s.p3, g.data(), s.x.data(), dw.data(), s.ct, dev.index);
  else PYML_CONV_DISPATCH(s.ct, conv3d_backward_weight_cpu<T>(s.p3, g.ptr<T>(), s.x.ptr<T>(), dw.ptr<T>()));
  return dw;
}

// The layout of a conv's output, as torch picks it: channels_last(_3d) when the batched input or
// the weight is in that format, else contiguous.
static MemoryFormat conv_format(const Tensor& x, const Tensor& w) {
  if (x.dim() != w.dim()) return MemoryFormat::Contiguous;  // unbatched
  MemoryFormat fx = suggest_format(x);
  return fx != MemoryFormat::Contiguous ? fx : suggest_format(w);
}

// y (N, K, P, Q) in format f: CUDA's kernels write channels_last directly (and the backward then
// gets a channels_last dy); the CPU kernels write NCHW, converted by the caller.
static Tensor conv_output(const ConvSetup& s, const Device& dev, MemoryFormat f) {
  const ConvParams& p = s.p;
  if (dev.is_cpu() || f != MemoryFormat::ChannelsLast) return empty({p.N, p.K, p.P, p.Q}, s.ct, dev);
  Tensor t = empty({p.N, p.P, p.Q, p.K}, s.ct, dev);
  return t.view_as({p.N, p.K, p.P, p.Q}, {p.P * p.Q * p.K, 1, p.Q * p.K, p.K}, t.offset);
}

Tensor conv_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                    const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups) {
  ConvSetup s = conv_setup(x, w, b, stride, padding, pad_hi, dilation, groups);
  const MemoryFormat f = conv_format(x, w);
  if (s.nd == 3) return to_format(finish(forward3(s, x.device()), s.out_shape, s.dtype), f);
  Tensor y = conv_output(s, x.device(), f);
  const void* bias = s.b.defined() ? s.b.data() : nullptr;
  if (!x.device().is_cpu()) {
    conv2d_forward_cuda(s.p, s.x.data(), s.w.data(), bias, y.data(), y.strides.data(), s.ct, x.device().index);
    return y.shape == s.out_shape ? y : finish(y, s.out_shape, s.dtype);  // 4-D y keeps its strides
  }
  PYML_CONV_DISPATCH(s.ct, conv_forward_cpu<T>(s.p, s.x.ptr<T>(), s.w.ptr<T>(), static_cast<const T*>(bias),
                                               y.ptr<T>()));
  return to_format(finish(y, s.out_shape, s.dtype), f);
}

// A stride-0 tensor of the given shape: stands in for an operand the kernel doesn't read (its
// shape still goes through the same validation as a real one).
static Tensor shape_only(const IntList& shape, DType dtype, Device dev, const char* op, const char* name) {
  for (int64_t v : shape)
    PYML_CHECK(v >= 0, ValueError, op, ": ", name, " must have non-negative sizes, got ", shape);
  Tensor one = full({1}, Scalar::from_double(0), dtype, dev);
  return one.view_as(shape, Shape(shape.size(), 0), one.offset);
}

Tensor conv_backward_input(const Tensor& dy, const Tensor& w, const IntList& input_shape, const IntList& stride,
                           const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups) {
  const char* op = conv_name(stride.size(), false);
  Tensor fake = shape_only(input_shape, w.dtype, w.device(), op, "input_shape");
  ConvSetup s = conv_setup(fake, w, std::nullopt, stride, padding, pad_hi, dilation, groups);
  check_grad_shape(dy, w, s.out_shape, s.dtype, op);
  if (s.nd == 3)
    return to_format_of(finish(backward_input3(s, grad5(s, dy), Tensor(), w.device()), fake.shape, s.dtype), dy);
  const ConvParams& p = s.p;
  const Device dev = w.device();
  // CUDA reads a 4-D dy through its strides (channels_last, expanded); else a contiguous copy
  Tensor g = !dev.is_cpu() && dy.dim() == 4 ? dy : grad4(dy, s.ct, p.N, p.K, p.P, p.Q);
  Tensor t = empty({p.N, p.C, p.H, p.W}, s.ct, dev);  // every kernel writes all of dx
  if (!dev.is_cpu())
    conv2d_backward_input_cuda(p, g.data(), g.strides.data(), s.w.data(), nullptr, t.data(), s.ct, dev.index);
  else
    PYML_CONV_DISPATCH(s.ct, conv_backward_input_cpu<T>(p, g.ptr<T>(), s.w.ptr<T>(), t.ptr<T>()));
  return to_format_of(finish(t, fake.shape, s.dtype), dy);  // a channels_last conv's grads are too
}

Tensor conv_backward_weight(const Tensor& dy, const Tensor& x, const IntList& weight_shape, const IntList& stride,
                            const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups) {
  const char* op = conv_name(stride.size(), false);
  Tensor fake = shape_only(weight_shape, x.dtype, x.device(), op, "weight_shape");
  ConvSetup s = conv_setup(x, fake, std::nullopt, stride, padding, pad_hi, dilation, groups);
  check_grad_shape(dy, x, s.out_shape, s.dtype, op);
  if (s.nd == 3) return to_format_of(finish(backward_weight3(s, grad5(s, dy), x.device()), fake.shape, s.dtype), dy);
  const ConvParams& p = s.p;
  Tensor g = !x.device().is_cpu() && dy.dim() == 4 ? dy : grad4(dy, s.ct, p.N, p.K, p.P, p.Q);
  Tensor t = empty(s.w.shape, s.ct, x.device());
  if (!x.device().is_cpu())
    conv2d_backward_weight_cuda(p, g.data(), g.strides.data(), s.x.data(), t.data(), s.ct, x.device().index);
  else
    PYML_CONV_DISPATCH(s.ct, conv_backward_weight_cpu<T>(p, g.ptr<T>(), s.x.ptr<T>(), t.ptr<T>()));
  return to_format_of(finish(t, fake.shape, s.dtype), dy);  // a channels_last conv's grads are too
}

Tensor conv_transpose_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                              const IntList& padding, const IntList& output_padding, const IntList& dilation,
                              int64_t groups) {
  ConvSetup s = transpose_setup(x, w, b, stride, padding, output_padding, dilation, groups);
  const MemoryFormat f = conv_format(x, w);
  if (s.nd == 3)
    return to_format(finish(backward_input3(s, contiguous(s.x), s.b, x.device()), s.out_shape, s.dtype), f);
  const ConvParams& p = s.p;
  Tensor xin = contiguous(s.x);  // plays dy of the adjoint conv
  Tensor y = empty({p.N, p.C, p.H, p.W}, s.ct, x.device());  // the grad-input kernels write all of it
  if (!x.device().is_cpu()) {  // the bias is added in the kernel's epilogue
    conv2d_backward_input_cuda(p, xin.data(), xin.strides.data(), s.w.data(), s.b.defined() ? s.b.data() : nullptr,
                               y.data(), s.ct, x.device().index);
    return to_format(finish(y, s.out_shape, s.dtype), f);
  }
  PYML_CONV_DISPATCH(s.ct, {
    conv_backward_input_cpu<T>(p, xin.ptr<T>(), s.w.ptr<T>(), y.ptr<T>());
    if (s.b.defined()) add_channel_bias<T>(y.ptr<T>(), s.b.ptr<T>(), p.N, p.C, p.H * p.W);
  });
  return to_format(finish(y, s.out_shape, s.dtype), f);
}

}  // namespace pyml
