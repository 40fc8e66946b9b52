// Host entries of max/avg/adaptive pooling (1-D, 2-D and 3-D) and max_unpool: validate, view the
// input as (N, C, H, W) planes (1-D: H = 1; unbatched: N = 1; 3-D: (N, C, D, H, W) volumes with
// Pool3dParams, or D*H x W planes for the index ops) read through its strides, compute
// output sizes like torch (ceil_mode drops a window that would start in the right padding),
// dispatch. Max pooling returns int64 indices into each input plane; every max-pool backward
// scatters by them, so one kernel serves max_pool1d/2d/3d and adaptive_max_pool. For autograd alone
// (no indices asked for) the CPU float32 kernel may keep uint8 window codes instead (1-D/2-D),
// which only max_pool_backward_windows reads.
// CUDA tensors run the kernels of cuda/pool.cu (3-D: cuda/pool3d.cu) after the same validation;
// indices are checked by those kernels on the device (the host never reads device memory) and
// raise the same error.
#include <cstring>
#include "core/memory_format.h"
#include "ops/conv.h"
#include "core/device.h"
#include "cpu/pool_fast.h"
#include "ops/conv3d.h"
#include "cuda/pool.h"
#include "cuda/pool3d.h"

namespace pyml {
namespace {

struct PoolSetup {
  PoolParams p{};
  Tensor x;          // 4-D view in the compute dtype
  bool batched = true;
  size_t nd = 2;
  DType dtype, ct;
};

// allow_int: max/avg pooling forward also run on integer tensors (in their own dtype), as in torch.
// cuda_half: a CUDA op whose kernels read float16/bfloat16 themselves (no float32 copies).
PoolSetup pool_setup(const Tensor& x, size_t nd, const char* op, bool allow_int = false, bool cuda_half = false) {
  int64_t r = (int64_t)nd;
  PYML_CHECK(x.dim() == r + 1 || x.dim() == r + 2, ValueError, op, ": expected ", r + 1, "-D (unbatched) or ",
             r + 2, "-D (batched) input, got input of shape ", x.shape);
  for (int64_t d = x.dim() == r + 2 ? 1 : 0; d < x.dim(); d++)
    PYML_CHECK(x.shape[d] > 0, ValueError, op, ": expected input with non-zero sizes in the non-batch dims, "
               "got input of shape ", x.shape);
  PoolSetup s;
  s.nd = nd;
  s.dtype = x.dtype;
  s.ct = allow_int && is_integral(x.dtype, false) ? x.dtype : conv_compute_dtype(x, op);
  if (cuda_half && !x.device().is_cpu() && (x.dtype == DType::Float16 || x.dtype == DType::BFloat16)) s.ct = x.dtype;
  s.batched = x.dim() == r + 2;
  Tensor x4 = s.batched ? x : unsqueeze(x, 0);
  if (nd == 1) x4 = unsqueeze(x4, 2);
  // 3-D reaches here only for the index ops, which see a plane as one run of D*H*W elements
  if (nd == 3) x4 = reshape(x4, {x4.shape[0], x4.shape[1], x4.shape[2] * x4.shape[3], x4.shape[4]});
  s.x = to_dtype(x4, s.ct);
  PoolParams& p = s.p;
  p.C = x4.shape[1], p.H = x4.shape[2], p.W = x4.shape[3], p.planes = x4.shape[0] * p.C;
  p.xs_n = s.x.strides[0], p.xs_c = s.x.strides[1], p.xs_h = s.x.strides[2], p.xs_w = s.x.strides[3];
  p.R = p.S = p.sh = p.sw = p.dh = p.dw = 1;
  return s;
}

void check_list(const IntList& v, size_t nd, const char* op, const char* name, int64_t min) {
  PYML_CHECK(v.size() == nd, ValueError, op, ": ", name, " must have ", nd, " element(s), got ", ints_str(v));
  for (int64_t e : v)
    PYML_CHECK(e >= min, ValueError, op, ": ", name, " must be ", min == 0 ? "non-negative" : "positive",
               ", got ", ints_str(v));
}

// torch's pooling_output_shape
int64_t out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode) {
  int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t o = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && (o - 1) * stride >= in + pad) o--;
  return o;
}

// Window geometry of max/avg pooling; nd entries per list (dilation may be empty: 1).
void fill_windows(PoolSetup& s, const char* op, const IntList& kernel, const IntList& stride0, const IntList& padding,
                  const IntList& dilation0, bool ceil_mode) {
  size_t nd = s.nd;
  IntList stride = stride0.empty() ? kernel : stride0, dilation = dilation0.empty() ? IntList(nd, 1) : dilation0;
  check_list(kernel, nd, op, "kernel_size", 1);
  check_list(stride, nd, op, "stride", 1);
  check_list(padding, nd, op, "padding", 0);
  check_list(dilation, nd, op, "dilation", 1);
  for (size_t i = 0; i < nd; i++)
    PYML_CHECK(padding[i] <= kernel[i] / 2, ValueError, op, ": padding should be at most half of kernel_size, got ",
               "padding ", ints_str(padding), ", kernel_size ", ints_str(kernel));
  PoolParams& p = s.p;
  if (nd == 2) { p.R = kernel[0]; p.sh = stride[0]; p.ph = padding[0]; p.dh = dilation[0]; }
  p.S = kernel[nd - 1], p.sw = stride[nd - 1], p.pw = padding[nd - 1], p.dw = dilation[nd - 1];
  p.P = out_size(p.H, p.R, p.ph, p.sh, p.dh, ceil_mode);
  p.Q = out_size(p.W, p.S, p.pw, p.sw, p.dw, ceil_mode);
  IntList in = nd == 1 ? IntList{p.W} : IntList{p.H, p.W}, out = nd == 1 ? IntList{p.Q} : IntList{p.P, p.Q};
  PYML_CHECK(p.P >= 1 && p.Q >= 1, ValueError, op, ": output size ", ints_str(out), " is too small for input size ",
             ints_str(in), " (kernel_size ", ints_str(kernel), ", stride ", ints_str(stride), ", padding ",
             ints_str(padding), ", dilation ", ints_str(dilation), "); input ", s.x.shape);
}

Shape out_shape(const PoolSetup& s, int64_t P, int64_t Q) {
  Shape out = {s.p.planes / s.p.C, s.p.C};
  if (s.nd == 2) out.push_back(P);
  out.push_back(Q);
  if (!s.batched) out.erase(out.begin());
  return out;
}

Tensor finish(const Tensor& t, const Shape& shape, DType dtype) {
  Tensor v = t.view_as(shape, contiguous_strides(shape), t.offset);
  return v.dtype == dtype ? v : to_dtype(v, dtype);
}

// A CUDA 2-D pooling of a batched channels_last input keeps that layout end to end (PoolParams::cl):
// its kernels write channels_last outputs and gradients themselves, as torch returns them.
void keep_channels_last(PoolSetup& s, const Tensor& x) {
  s.p.cl = !x.device().is_cpu() && s.nd == 2 && s.batched && suggest_format(x) == MemoryFormat::ChannelsLast;
}

// A kernel's output buffer as a `shape` tensor of dtype: with s.p.cl the kernel wrote it channels_last
Tensor result(const PoolSetup& s, const Tensor& buf, const Shape& shape, DType dtype, const Tensor& like) {
  return kernel_result(buf, shape, dtype, s.p.cl ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous, like);
}

// dy (or indices) in dtype dt and the layout the kernels read: channels_last with s.p.cl, else
// contiguous; one copy at most, converting both at once
Tensor kernel_layout(const PoolSetup& s, const Tensor& t, DType dt) {
  return to_dtype_format(t, dt, s.p.cl ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous, "pooling");
}

Tensor zeros(const Shape& shape, DType t) {
  Tensor z = empty(shape, t);
  if (z.numel()) std::memset(z.data(), 0, z.numel() * z.itemsize());
  return z;
}

#define PYML_POOL_DISPATCH(ct, ...)                           \
  if (ct == DType::Float32) { using T = float; __VA_ARGS__; } \
  else { using T = double; __VA_ARGS__; }

// float32/float64 or an integer type (uint8, int8, int16, int32, int64)
#define PYML_POOL_DISPATCH_INT(ct, ...)                                      \
  switch (ct) {                                                               \
    case DType::Float32: { using T = float; __VA_ARGS__; break; }             \
    case DType::Float64: { using T = double; __VA_ARGS__; break; }            \
    case DType::UInt8: { using T = uint8_t; __VA_ARGS__; break; }             \
    case DType::Int8: { using T = int8_t; __VA_ARGS__; break; }               \
    case DType::Int16: { using T = int16_t; __VA_ARGS__; break; }             \
    case DType::Int32: { using T = int32_t; __VA_ARGS__; break; }             \
    default: { using T = int64_t; __VA_ARGS__; break; }                       \
  }

void check_grad(const Tensor& dy, const Tensor& x, const Shape& expect, DType dtype, const char* op) {
  check_same_device(dy, x, op);
  PYML_CHECK(dy.shape == expect, ValueError, op, ": grad_output must have the output's shape ", expect, ", got ",
             dy.shape);
  PYML_CHECK(dy.dtype == dtype, TypeError, op, ": grad_output must have the input's dtype ", dtype_name(dtype),
             ", got ", dtype_name(dy.dtype));
}

const char* pick(size_t nd, const char* one, const char* two, const char* three = "") {
  return nd == 1 ? one : nd == 3 ? three : two;
}

// Spatial dims of an index op from its ndim argument (1, 2 or 3; anything else reads as 2)
size_t index_nd(int64_t ndim) { return ndim == 1 ? 1 : ndim == 3 ? 3 : 2; }

void check_index_meta(const Tensor& idx, const Tensor& other, const Shape& expect, const char* op) {
  check_same_device(idx, other, op);
  PYML_CHECK(idx.dtype == DType::Int64, TypeError, op, ": indices must be int64, got ", dtype_name(idx.dtype));
  PYML_CHECK(idx.shape == expect, ValueError, op, ": indices must have shape ", expect, ", got ", idx.shape);
}


// Adaptive windows: output size per dim, the input sizes each split into P x Q windows.
void fill_adaptive(PoolSetup& s, const char* op, const IntList& output_size) {
  check_list(output_size, s.nd, op, "output_size", 0);
  s.p.P = s.nd == 1 ? 1 : output_size[0];
  s.p.Q = output_size[s.nd - 1];
}

// ---- 3-D pooling (ops/conv3d.h): the checks above on 5-D NCDHW views (unbatched: N = 1), with
// Pool3dParams and the kernels of cpu/pool3d.cpp and cuda/pool3d.cu; float16/bfloat16 compute in
// float32 on both devices. The N-d entries below route three spatial dims here.
struct Pool3dSetup {
  Pool3dParams p{};
  Tensor x;     // 5-D view in the compute dtype
  Shape shape;  // the user's input shape
  bool batched = true;
  DType dtype, ct;
};

Pool3dSetup pool3d_setup(const Tensor& x, const char* op, bool allow_int = false) {
  PYML_CHECK(x.dim() == 4 || x.dim() == 5, ValueError, op, ": expected 4-D (unbatched) or 5-D (batched) input, "
             "got input of shape ", x.shape);
  for (int64_t d = x.dim() == 5 ? 1 : 0; d < x.dim(); d++)
    PYML_CHECK(x.shape[d] > 0, ValueError, op, ": expected input with non-zero sizes in the non-batch dims, "
               "got input of shape ", x.shape);
  Pool3dSetup s;
  s.shape = x.shape;
  s.dtype = x.dtype;
  s.ct = allow_int && is_integral(x.dtype, false) ? x.dtype : conv_compute_dtype(x, op);
  s.batched = x.dim() == 5;
  s.x = to_dtype(s.batched ? x : unsqueeze(x, 0), s.ct);
  Pool3dParams& p = s.p;
  p.C = s.x.shape[1], p.D = s.x.shape[2], p.H = s.x.shape[3], p.W = s.x.shape[4], p.planes = s.x.shape[0] * p.C;
  p.xs_n = s.x.strides[0], p.xs_c = s.x.strides[1], p.xs_d = s.x.strides[2], p.xs_h = s.x.strides[3];
  p.xs_w = s.x.strides[4];
  p.T = p.R = p.S = p.sd = p.sh = p.sw = p.dd = p.dh = p.dw = 1;
  return s;
}

// Window geometry of max/avg pooling (stride empty: the kernel; dilation empty: 1).
void fill_windows3(Pool3dSetup& s, const char* op, const IntList& kernel, const IntList& stride0,
                   const IntList& padding, const IntList& dilation0, bool ceil_mode) {
  IntList stride = stride0.empty() ? kernel : stride0, dilation = dilation0.empty() ? IntList(3, 1) : dilation0;
  check_list(kernel, 3, op, "kernel_size", 1);
  check_list(stride, 3, op, "stride", 1);
  check_list(padding, 3, op, "padding", 0);
  check_list(dilation, 3, op, "dilation", 1);
  for (size_t i = 0; i < 3; i++)
    PYML_CHECK(padding[i] <= kernel[i] / 2, ValueError, op, ": padding should be at most half of kernel_size, got ",
               "padding ", ints_str(padding), ", kernel_size ", ints_str(kernel));
  Pool3dParams& p = s.p;
  p.T = kernel[0], p.R = kernel[1], p.S = kernel[2], p.sd = stride[0], p.sh = stride[1], p.sw = stride[2];
  p.pd = padding[0], p.ph = padding[1], p.pw = padding[2], p.dd = dilation[0], p.dh = dilation[1], p.dw = dilation[2];
  IntList in = {p.D, p.H, p.W}, out(3);
  for (size_t i = 0; i < 3; i++) out[i] = out_size(in[i], kernel[i], padding[i], stride[i], dilation[i], ceil_mode);
  p.O = out[0], p.P = out[1], p.Q = out[2];
  PYML_CHECK(p.O >= 1 && p.P >= 1 && p.Q >= 1, ValueError, op, ": output size ", ints_str(out),
             " is too small for input size ", ints_str(in), " (kernel_size ", ints_str(kernel), ", stride ",
             ints_str(stride), ", padding ", ints_str(padding), ", dilation ", ints_str(dilation), "); input ",
             s.shape);
}

// Adaptive windows: the output sizes (each dim of the input split into that many windows)
void fill_adaptive3(Pool3dSetup& s, const char* op, const IntList& output_size) {
  check_list(output_size, 3, op, "output_size", 0);
  s.p.O = output_size[0], s.p.P = output_size[1], s.p.Q = output_size[2];
}

Shape out_shape3(const Pool3dSetup& s) {
  Shape out = {s.p.planes / s.p.C, s.p.C, s.p.O, s.p.P, s.p.Q};
  if (!s.batched) out.erase(out.begin());
  return out;
}

int64_t outputs3(const Pool3dParams& p) { return p.planes * p.O * p.P * p.Q; }

std::tuple<Tensor, Tensor> max_pool3d(const Tensor& x, const IntList& kernel, const IntList& stride,
                                      const IntList& padding, const IntList& dilation, bool ceil_mode,
                                      bool with_indices) {
  const char* op = "max_pool3d";
  Pool3dSetup s = pool3d_setup(x, op, true);
  fill_windows3(s, op, kernel, stride, padding, dilation, ceil_mode);
  const Pool3dParams& p = s.p;
  const Device dev = x.device();
  Tensor y = empty({outputs3(p)}, s.ct, dev), idx = empty({with_indices ? outputs3(p) : 0}, DType::Int64, dev);
  int64_t* ip = with_indices ? idx.ptr<int64_t>() : nullptr;  // null: the kernels skip the argmax
  if (!dev.is_cpu()) max_pool3d_forward_cuda(p, s.x.data(), y.data(), ip, s.ct, dev.index);
  else PYML_POOL_DISPATCH_INT(s.ct, max_pool3d_cpu<T>(p, s.x.ptr<T>(), y.ptr<T>(), ip));
  Shape out = out_shape3(s);
  return {finish(y, out, s.dtype), with_indices ? finish(idx, out, DType::Int64) : idx};
}

// The CPU scatters by the indices (and checks them); CUDA gathers through the windows.
Tensor max_pool3d_backward_windows(const Tensor& dy, const Tensor& x, const Tensor& indices, const IntList& kernel,
                                   const IntList& stride, const IntList& padding, const IntList& dilation,
                                   bool ceil_mode) {
  const char* op = "max_pool3d";
  if (x.device().is_cpu() && dy.device().is_cpu()) return max_pool_backward(dy, x, indices, 3, op);
  check_same_device(dy, x, op);
  Pool3dSetup s = pool3d_setup(x, op);
  fill_windows3(s, op, kernel, stride, padding, dilation, ceil_mode);
  check_grad(dy, x, out_shape3(s), s.dtype, op);
  check_index_meta(indices, x, dy.shape, op);
  const Pool3dParams& p = s.p;
  Tensor g = contiguous(to_dtype(dy, s.ct)), id = contiguous(indices);
  Tensor dx = empty({p.planes * p.D * p.H * p.W}, s.ct, x.device());  // the gather writes every element
  max_pool3d_backward_gather_cuda(p, g.data(), id.ptr<int64_t>(), dx.data(), s.ct, x.device().index);
  return to_format_of(finish(dx, x.shape, s.dtype), x);
}

Pool3dSetup avg3d_setup(const Tensor& x, const IntList& kernel, const IntList& stride, const IntList& padding,
                        bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override,
                        bool allow_int) {
  const char* op = "avg_pool3d";
  Pool3dSetup s = pool3d_setup(x, op, allow_int);
  fill_windows3(s, op, kernel, stride, padding, {}, ceil_mode);
  PYML_CHECK(!divisor_override || *divisor_override != 0, ValueError, op, ": divisor_override must be non-zero, got 0");
  s.p.count_include_pad = count_include_pad;
  s.p.divisor = divisor_override.value_or(0);
  return s;
}

Tensor avg_pool3d(const Tensor& x, const IntList& kernel, const IntList& stride, const IntList& padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  Pool3dSetup s = avg3d_setup(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, true);
  Tensor y = empty({outputs3(s.p)}, s.ct, x.device());
  if (!x.device().is_cpu()) avg_pool3d_forward_cuda(s.p, s.x.data(), y.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH_INT(s.ct, avg_pool3d_cpu<T>(s.p, s.x.ptr<T>(), y.ptr<T>()));
  return finish(y, out_shape3(s), s.dtype);
}

Tensor avg_pool3d_backward(const Tensor& dy, const Tensor& x, const IntList& kernel, const IntList& stride,
                           const IntList& padding, bool ceil_mode, bool count_include_pad,
                           std::optional<int64_t> divisor_override) {
  Pool3dSetup s = avg3d_setup(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, false);
  check_grad(dy, x, out_shape3(s), s.dtype, "avg_pool3d");
  const Pool3dParams& p = s.p;
  Tensor g = contiguous(to_dtype(dy, s.ct)), dx = empty({p.planes * p.D * p.H * p.W}, s.ct, x.device());
  if (!x.device().is_cpu()) avg_pool3d_backward_cuda(p, g.data(), dx.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, avg_pool3d_backward_cpu<T>(p, g.ptr<T>(), dx.ptr<T>()));
  return to_format_of(finish(dx, x.shape, s.dtype), x);
}

Tensor adaptive_avg_pool3d(const Tensor& x, const IntList& output_size) {
  const char* op = "adaptive_avg_pool3d";
  Pool3dSetup s = pool3d_setup(x, op);
  fill_adaptive3(s, op, output_size);
  Tensor y = empty({outputs3(s.p)}, s.ct, x.device());
  if (!x.device().is_cpu()) adaptive_avg_pool3d_forward_cuda(s.p, s.x.data(), y.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_avg_pool3d_cpu<T>(s.p, s.x.ptr<T>(), y.ptr<T>()));
  return finish(y, out_shape3(s), s.dtype);
}

Tensor adaptive_avg_pool3d_backward(const Tensor& dy, const Tensor& x) {
  const char* op = "adaptive_avg_pool3d";
  PYML_CHECK(dy.dim() == x.dim(), ValueError, op, ": grad_output must have the input's rank, got ", dy.shape,
             " and input ", x.shape);
  Pool3dSetup s = pool3d_setup(x, op);
  fill_adaptive3(s, op, IntList(dy.shape.end() - 3, dy.shape.end()));
  check_grad(dy, x, out_shape3(s), s.dtype, op);
  const Pool3dParams& p = s.p;
  Tensor g = contiguous(to_dtype(dy, s.ct)), dx = empty({p.planes * p.D * p.H * p.W}, s.ct, x.device());
  if (!x.device().is_cpu()) adaptive_avg_pool3d_backward_cuda(p, g.data(), dx.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_avg_pool3d_backward_cpu<T>(p, g.ptr<T>(), dx.ptr<T>()));
  return to_format_of(finish(dx, x.shape, s.dtype), x);
}

std::tuple<Tensor, Tensor> adaptive_max_pool3d(const Tensor& x, const IntList& output_size) {
  const char* op = "adaptive_max_pool3d";
  Pool3dSetup s = pool3d_setup(x, op);
  fill_adaptive3(s, op, output_size);
  const Pool3dParams& p = s.p;
  const Device dev = x.device();
  Tensor y = empty({outputs3(p)}, s.ct, dev), idx = empty({outputs3(p)}, DType::Int64, dev);
  if (!dev.is_cpu()) adaptive_max_pool3d_forward_cuda(p, s.x.data(), y.data(), idx.ptr<int64_t>(), s.ct, dev.index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_max_pool3d_cpu<T>(p, s.x.ptr<T>(), y.ptr<T>(), idx.ptr<int64_t>()));
  Shape out = out_shape3(s);
  return {finish(y, out, s.dtype), finish(idx, out, DType::Int64)};
}


}  // namespace

std::tuple<Tensor, Tensor> max_pool_forward(const Tensor& x, const IntList& kernel, const IntList& stride,
                                            const IntList& padding, const IntList& dilation, bool ceil_mode,
                                            bool with_indices, bool window_codes) {
  if (kernel.size() == 3) return max_pool3d(x, kernel, stride, padding, dilation, ceil_mode, with_indices);
  size_t nd = kernel.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "max_pool1d", "max_pool2d");
  PoolSetup s = pool_setup(x, nd, op, true, true);
  fill_windows(s, op, kernel, stride, padding, dilation, ceil_mode);
  keep_channels_last(s, x);
  const PoolParams& p = s.p;
  const Device dev = x.device();
  Tensor y = empty({p.planes, p.P * p.Q}, s.ct, dev);
  Shape out = out_shape(s, p.P, p.Q);
  if (window_codes && dev.is_cpu() && s.ct == DType::Float32) {
    Tensor codes = empty({p.planes * p.P * p.Q}, DType::UInt8);
    if (max_pool_codes_cpu(p, s.x.ptr<float>(), y.ptr<float>(), codes.ptr<uint8_t>()))
      return {to_format_of(finish(y, out, s.dtype), x), finish(codes, out, DType::UInt8)};
  }
  Tensor idx = empty({with_indices ? p.planes * p.P * p.Q : 0}, DType::Int64, dev);
  int64_t* ip = with_indices ? idx.ptr<int64_t>() : nullptr;  // null: the kernels skip the argmax
  if (!dev.is_cpu()) max_pool_forward_cuda(p, s.x.data(), y.data(), ip, s.ct, dev.index);
  else PYML_POOL_DISPATCH_INT(s.ct, max_pool_cpu<T>(p, s.x.ptr<T>(), y.ptr<T>(), ip));
  return {result(s, y, out, s.dtype, x), with_indices ? result(s, idx, out, DType::Int64, x) : idx};
}

Tensor avg_pool_forward(const Tensor& x, const IntList& kernel, const IntList& stride, const IntList& padding,
                        bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  if (kernel.size() == 3) return avg_pool3d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override);
  size_t nd = kernel.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "avg_pool1d", "avg_pool2d");
  PoolSetup s = pool_setup(x, nd, op, true, true);
  fill_windows(s, op, kernel, stride, padding, {}, ceil_mode);
  PYML_CHECK(!divisor_override || *divisor_override != 0, ValueError, op, ": divisor_override must be non-zero, got 0");
  s.p.count_include_pad = count_include_pad;
  s.p.divisor = divisor_override.value_or(0);
  keep_channels_last(s, x);
  Tensor y = empty({s.p.planes, s.p.P * s.p.Q}, s.ct, x.device());
  if (!x.device().is_cpu()) avg_pool_forward_cuda(s.p, s.x.data(), y.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH_INT(s.ct, avg_pool_cpu<T>(s.p, s.x.ptr<T>(), y.ptr<T>()));
  return result(s, y, out_shape(s, s.p.P, s.p.Q), s.dtype, x);
}

Tensor avg_pool_backward(const Tensor& dy, const Tensor& x, const IntList& kernel, const IntList& stride,
                         const IntList& padding, bool ceil_mode, bool count_include_pad,
                         std::optional<int64_t> divisor_override) {
  if (kernel.size() == 3)
    return avg_pool3d_backward(dy, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override);
  size_t nd = kernel.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "avg_pool1d", "avg_pool2d");
  PoolSetup s = pool_setup(x, nd, op, false, true);
  fill_windows(s, op, kernel, stride, padding, {}, ceil_mode);
  PYML_CHECK(!divisor_override || *divisor_override != 0, ValueError, op, ": divisor_override must be non-zero, got 0");
  s.p.count_include_pad = count_include_pad;
  s.p.divisor = divisor_override.value_or(0);
  check_grad(dy, x, out_shape(s, s.p.P, s.p.Q), s.dtype, op);
  keep_channels_last(s, x);
  Tensor g = kernel_layout(s, dy, s.ct), dx = empty({s.p.planes, s.p.H * s.p.W}, s.ct, x.device());  // all written
  if (!x.device().is_cpu()) avg_pool_backward_cuda(s.p, g.data(), dx.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, avg_pool_backward_cpu<T>(s.p, g.ptr<T>(), dx.ptr<T>()));
  return result(s, dx, x.shape, s.dtype, x);
}

Tensor adaptive_avg_pool_forward(const Tensor& x, const IntList& output_size) {
  if (output_size.size() == 3) return adaptive_avg_pool3d(x, output_size);
  size_t nd = output_size.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "adaptive_avg_pool1d", "adaptive_avg_pool2d");
  PoolSetup s = pool_setup(x, nd, op, false, true);
  fill_adaptive(s, op, output_size);
  keep_channels_last(s, x);
  Tensor y = empty({s.p.planes, s.p.P * s.p.Q}, s.ct, x.device());
  if (!x.device().is_cpu()) adaptive_avg_pool_forward_cuda(s.p, s.x.data(), y.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_avg_pool_cpu<T>(s.p, s.x.ptr<T>(), y.ptr<T>()));
  return result(s, y, out_shape(s, s.p.P, s.p.Q), s.dtype, x);
}

Tensor adaptive_avg_pool_backward(const Tensor& dy, const Tensor& x, int64_t ndim) {
  if (ndim == 3) return adaptive_avg_pool3d_backward(dy, x);
  size_t nd = ndim == 1 ? 1 : 2;
  const char* op = pick(nd, "adaptive_avg_pool1d", "adaptive_avg_pool2d");
  PYML_CHECK(dy.dim() == x.dim(), ValueError, op, ": grad_output must have the input's rank, got ", dy.shape,
             " and input ", x.shape);
  PoolSetup s = pool_setup(x, nd, op, false, true);
  IntList os(dy.shape.end() - nd, dy.shape.end());
  fill_adaptive(s, op, os);
  check_grad(dy, x, out_shape(s, s.p.P, s.p.Q), s.dtype, op);
  keep_channels_last(s, x);
  Tensor g = kernel_layout(s, dy, s.ct), dx = empty({s.p.planes, s.p.H * s.p.W}, s.ct, x.device());  // all written
  if (!x.device().is_cpu()) adaptive_avg_pool_backward_cuda(s.p, g.data(), dx.data(), s.ct, x.device().index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_avg_pool_backward_cpu<T>(s.p, g.ptr<T>(), dx.ptr<T>()));
  return result(s, dx, x.shape, s.dtype, x);
}

std::tuple<Tensor, Tensor> adaptive_max_pool_forward(const Tensor& x, const IntList& output_size) {
  if (output_size.size() == 3) return adaptive_max_pool3d(x, output_size);
  size_t nd = output_size.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "adaptive_max_pool1d", "adaptive_max_pool2d");
  PoolSetup s = pool_setup(x, nd, op, false, true);
  fill_adaptive(s, op, output_size);
  keep_channels_last(s, x);
  const PoolParams& p = s.p;
  const Device dev = x.device();
  Tensor y = empty({p.planes, p.P * p.Q}, s.ct, dev), idx = empty({p.planes, p.P * p.Q}, DType::Int64, dev);
  if (!dev.is_cpu()) adaptive_max_pool_forward_cuda(p, s.x.data(), y.data(), idx.ptr<int64_t>(), s.ct, dev.index);
  else PYML_POOL_DISPATCH(s.ct, adaptive_max_pool_cpu<T>(p, s.x.ptr<T>(), y.ptr<T>(), idx.ptr<int64_t>()));
  Shape out = out_shape(s, p.P, p.Q);
  return {result(s, y, out, s.dtype, x), result(s, idx, out, DType::Int64, x)};
}

[[noreturn]] static void bad_index(int64_t v, int64_t plane, const Tensor& idx, const char* op) {
  throw ValueError(cat_str(op, ": found an invalid index ", v, " (each plane has ", plane, " elements); indices ",
                           idx.shape));
}

// Value at flat position pos of a contiguous int64 tensor, wherever it lives.
static int64_t index_at(const Tensor& id, int64_t pos) {
  if (id.device().is_cpu()) return id.ptr<int64_t>()[pos];
  int64_t v = 0;
  cuda_memcpy(&v, id.ptr<int64_t>() + pos, sizeof(v), CopyKind::DeviceToHost, id.device().index);
  return v;
}

// CPU indices (already through check_index_meta): every value in [0, plane). CUDA kernels check
// their indices themselves.
static void check_indices(const Tensor& idx, int64_t plane, const char* op) {
  Tensor c = contiguous(idx);
  const int64_t* v = c.ptr<int64_t>();
  for (int64_t i = 0, n = c.numel(); i < n; i++)
    if (v[i] < 0 || v[i] >= plane) bad_index(v[i], plane, idx, op);
}

Tensor max_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& indices, int64_t ndim, const char* op) {
  check_same_device(dy, x, op);
  size_t nd = index_nd(ndim);
  PoolSetup s = pool_setup(x, nd, op);
  PYML_CHECK(dy.dim() == x.dim() && std::equal(x.shape.begin(), x.shape.end() - nd, dy.shape.begin()), ValueError,
             op, ": grad_output ", dy.shape, " must match the input ", x.shape, " in all but the pooled dims");
  check_grad(dy, x, dy.shape, s.dtype, op);
  int64_t in_n = s.p.H * s.p.W, out_n = s.p.planes ? dy.numel() / s.p.planes : 0;
  check_index_meta(indices, x, dy.shape, op);
  const Device dev = x.device();
  Tensor g = contiguous(to_dtype(dy, s.ct)), id = contiguous(indices), dx = empty({s.p.planes, in_n}, s.ct, dev);
  int64_t bad = -1;  // the kernel zeroes dx and checks each index as it scatters
  if (!dev.is_cpu())
    bad = max_pool_backward_cuda(s.p.planes, in_n, out_n, g.data(), id.ptr<int64_t>(), dx.data(), s.ct, dev.index);
  else
    PYML_POOL_DISPATCH(s.ct, bad = max_pool_grad_cpu<T>(s.p.planes, in_n, out_n, g.ptr<T>(), id.ptr<int64_t>(),
                                                         dx.ptr<T>()));
  if (bad >= 0) bad_index(index_at(id, bad), in_n, indices, op);
  return to_format_of(finish(dx, x.shape, s.dtype), x);
}

// Window codes from max_pool_forward (CPU float32 only) -> dx through the code kernel.
static Tensor max_pool_backward_codes(const Tensor& dy, const Tensor& x, const Tensor& codes, const IntList& kernel,
                                      const IntList& stride, const IntList& padding, const IntList& dilation,
                                      bool ceil_mode, const char* op) {
  check_same_device(dy, x, op);
  check_same_device(codes, x, op);
  PYML_CHECK(x.device().is_cpu(), RuntimeError, op, ": uint8 window codes exist only for CPU tensors, got ",
             x.device().str());
  PoolSetup s = pool_setup(x, kernel.size() == 1 ? 1 : 2, op);
  fill_windows(s, op, kernel, stride, padding, dilation, ceil_mode);
  const PoolParams& p = s.p;
  check_grad(dy, x, out_shape(s, p.P, p.Q), s.dtype, op);
  PYML_CHECK(codes.shape == dy.shape, ValueError, op, ": window codes must have the output's shape ", dy.shape,
             ", got ", codes.shape);
  PYML_CHECK(s.ct == DType::Float32 && p.R * p.S <= kMaxCodeTaps, TypeError, op,
             ": window codes need a float32 computation and at most ", kMaxCodeTaps, " taps; got ",
             dtype_name(s.dtype), " input, a ", p.R, "x", p.S, " window");
  Tensor g = contiguous(to_dtype(dy, s.ct)), c = contiguous(codes), dx = empty({p.planes, p.H * p.W}, s.ct);
  int64_t bad = max_pool_grad_codes_cpu(p, g.ptr<float>(), c.ptr<uint8_t>(), dx.ptr<float>());
  PYML_CHECK(bad < 0, ValueError, op, ": window code ", bad < 0 ? 0 : (int)c.ptr<uint8_t>()[bad], " at position ",
             bad, " names no input element of its ", p.R, "x", p.S, " window; codes ", codes.shape);
  return to_format_of(finish(dx, x.shape, s.dtype), x);
}

// Indices from max_pool_forward with this geometry: CUDA gathers through the windows, which also
// means it trusts them (an index outside its window is not summed); the CPU scatters and checks.
Tensor max_pool_backward_windows(const Tensor& dy, const Tensor& x, const Tensor& indices, const IntList& kernel,
                                 const IntList& stride, const IntList& padding, const IntList& dilation,
                                 bool ceil_mode) {
  if (kernel.size() == 3)
    return max_pool3d_backward_windows(dy, x, indices, kernel, stride, padding, dilation, ceil_mode);
  size_t nd = kernel.size() == 1 ? 1 : 2;
  const char* op = pick(nd, "max_pool1d", "max_pool2d");
  if (indices.dtype == DType::UInt8) return max_pool_backward_codes(dy, x, indices, kernel, stride, padding, dilation,
                                                                    ceil_mode, op);
  if (x.device().is_cpu() && dy.device().is_cpu()) return max_pool_backward(dy, x, indices, (int64_t)nd, op);
  check_same_device(dy, x, op);
  PoolSetup s = pool_setup(x, nd, op, false, true);
  fill_windows(s, op, kernel, stride, padding, dilation, ceil_mode);
  check_grad(dy, x, out_shape(s, s.p.P, s.p.Q), s.dtype, op);
  check_index_meta(indices, x, dy.shape, op);
  const Device dev = x.device();
  keep_channels_last(s, x);
  Tensor g = kernel_layout(s, dy, s.ct), id = kernel_layout(s, indices, DType::Int64);
  Tensor dx = empty({s.p.planes, s.p.H * s.p.W}, s.ct, dev);  // the gather writes every element
  max_pool_backward_gather_cuda(s.p, g.data(), id.ptr<int64_t>(), dx.data(), s.ct, dev.index);
  return result(s, dx, x.shape, s.dtype, x);
}

Tensor max_unpool_forward(const Tensor& x, const Tensor& indices, const IntList& output_size) {
  size_t nd = index_nd((int64_t)output_size.size());
  const char* op = pick(nd, "max_unpool1d", "max_unpool2d", "max_unpool3d");
  PoolSetup s = pool_setup(x, nd, op);
  check_list(output_size, nd, op, "output_size", 0);
  int64_t out_n = 1;
  for (int64_t v : output_size) out_n *= v;
  check_index_meta(indices, x, x.shape, op);
  const Device dev = x.device();
  if (dev.is_cpu()) check_indices(indices, out_n, op);
  Shape out(x.shape.begin(), x.shape.end() - nd);
  out.insert(out.end(), output_size.begin(), output_size.end());
  int64_t in_n = s.p.H * s.p.W;
  Tensor xc = contiguous(s.x), id = contiguous(indices);
  if (!dev.is_cpu()) {  // the kernel zero-fills y and checks the indices
    Tensor y = empty({s.p.planes, out_n}, s.ct, dev);
    int64_t bad = max_unpool_forward_cuda(s.p.planes, out_n, in_n, xc.data(), id.ptr<int64_t>(), y.data(), s.ct,
                                          dev.index);
    if (bad >= 0) bad_index(index_at(id, bad), out_n, indices, op);
    return finish(y, out, s.dtype);
  }
  Tensor y = zeros({s.p.planes, out_n}, s.ct);
  PYML_POOL_DISPATCH(s.ct, index_scatter_cpu<T>(s.p.planes, out_n, in_n, xc.ptr<T>(), id.ptr<int64_t>(),
                                                     y.ptr<T>()));
  return finish(y, out, s.dtype);
}

Tensor max_unpool_backward(const Tensor& dy, const Tensor& indices, int64_t ndim) {
  size_t nd = index_nd(ndim);
  const char* op = pick(nd, "max_unpool1d", "max_unpool2d", "max_unpool3d");
  DType ct = conv_compute_dtype(dy, op);
  PYML_CHECK(dy.dim() >= (int64_t)nd + 1 && indices.dim() == dy.dim(), ValueError, op, ": grad_output ", dy.shape,
             " and indices ", indices.shape, " must have the same rank (at least ", nd + 1, ")");
  PYML_CHECK(std::equal(dy.shape.begin(), dy.shape.end() - nd, indices.shape.begin()), ValueError, op,
             ": grad_output ", dy.shape, " and indices ", indices.shape, " must match in the leading dims");
  int64_t out_n = 1, in_n = 1, planes = 1;
  for (size_t i = 0; i < nd; i++) out_n *= dy.shape[dy.dim() - 1 - i], in_n *= indices.shape[dy.dim() - 1 - i];
  for (int64_t i = 0; i < dy.dim() - (int64_t)nd; i++) planes *= dy.shape[i];
  check_index_meta(indices, dy, indices.shape, op);
  const Device dev = dy.device();
  if (dev.is_cpu()) check_indices(indices, out_n, op);
  Tensor g = contiguous(to_dtype(dy, ct)), id = contiguous(indices), dx = empty({planes, in_n}, ct, dev);
  if (!dev.is_cpu()) {
    int64_t bad = max_unpool_backward_cuda(planes, out_n, in_n, g.data(), id.ptr<int64_t>(), dx.data(), ct, dev.index);
    if (bad >= 0) bad_index(index_at(id, bad), out_n, indices, op);
  } else {
    PYML_POOL_DISPATCH(ct, index_gather_cpu<T>(planes, out_n, in_n, g.ptr<T>(), id.ptr<int64_t>(), dx.ptr<T>()));
  }
  return finish(dx, indices.shape, dy.dtype);
}

}  // namespace pyml
