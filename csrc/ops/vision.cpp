// Host entries of resampling (interpolate: nearest, nearest-exact, (bi/tri)linear, bicubic, and the
// antialiased bilinear/bicubic/lanczos) and grid_sample: validate, make operands contiguous in the
// compute dtype (float16/bfloat16 -> float32), dispatch. resample_* sends 1-D/2-D nearest and
// linear to the upsample kernels, everything else to the separable resampler.
// interpolate's argument logic (size vs scale_factor, recompute_scale_factor) is in Python
// (pyml/nn/_functional/vision.py); here output sizes arrive resolved, with the user's scale
// factors passed along because torch's index formulas use them instead of in/out.
// CUDA tensors take the same path with cuda/vision.cu kernels in place of the CPU ones.
#include <cstring>
#include "core/memory_format.h"
#include "ops/conv.h"
#include "ops/resample.h"
#include "cuda/vision.h"

namespace pyml {

namespace {
// scale factors: one per output dim or none; every input and output size positive
void check_sizes(const Shape& in, const IntList& out, const std::vector<double>& scales, const char* op) {
  const size_t nd = out.size();
  PYML_CHECK(scales.empty() || scales.size() == nd, ValueError, op, ": scale_factor needs ", nd,
             " values or none, got ", scales.size());
  bool ok = true;
  for (size_t i = 0; i < nd; i++) ok = ok && in[2 + i] > 0 && out[i] > 0;
  PYML_CHECK(ok, ValueError, op, ": input and output sizes must be greater than 0, got input ", in,
             " and output size ", ints_str(out));
}
}  // namespace
namespace {

Tensor zeros(const Shape& shape, DType t, Device dev) {
  if (!dev.is_cpu()) return full(shape, Scalar::from_int(0), t, dev);
  Tensor z = empty(shape, t);
  if (z.numel()) std::memset(z.data(), 0, z.numel() * z.itemsize());
  return z;
}

Tensor finish(const Tensor& t, const Shape& shape, DType dtype) {
  Tensor v = t.view_as(shape, contiguous_strides(shape), t.offset);
  return v.dtype == dtype ? v : to_dtype(v, dtype);
}

#define PYML_VISION_DISPATCH(ct, ...)                         \
  if (ct == DType::Float32) { using T = float; __VA_ARGS__; } \
  else { using T = double; __VA_ARGS__; }

const char* upsample_name(int64_t mode, size_t nd) {
  if (mode == 2) return nd == 1 ? "upsample_linear1d" : "upsample_bilinear2d";
  return nd == 1 ? "upsample_nearest1d" : "upsample_nearest2d";
}

// Resample geometry from the input shape (N, C, *in) and the spatial output size.
ResampleParams resample_params(const Shape& in, const IntList& out, const std::vector<double>& scales,
                               int64_t mode, bool align_corners, const char* op) {
  size_t nd = out.size();
  PYML_CHECK(mode >= 0 && mode <= 2, ValueError, op, ": mode must be 0 (nearest), 1 (nearest-exact) or 2 "
             "(linear), got ", mode);
  PYML_CHECK(in.size() == nd + 2, ValueError, op, ": expected a ", nd + 2, "-D input (N, C, ",
             nd == 1 ? "W" : "H, W", ") for a ", nd, "-D output size, got input of shape ", in);
  check_sizes(in, out, scales, op);
  ResampleParams p{};
  p.planes = in[0] * in[1];
  p.H = nd == 1 ? 1 : in[2], p.W = in.back();
  p.P = nd == 1 ? 1 : out[0], p.Q = out.back();
  p.user_sh = nd == 2 && !scales.empty() ? scales[0] : 0;
  p.user_sw = scales.empty() ? 0 : scales.back();
  p.align_corners = align_corners;
  p.mode = (int)mode;
  return p;
}

// CUDA keeps a channels_last 2-D image so (p.C > 0: the kernels walk (N, H, W, C)); the CPU
// kernels take (planes, H, W)
MemoryFormat upsample_format(const Tensor& t, ResampleParams& p) {
  const bool cl = !t.device().is_cpu() && t.dim() == 4 && suggest_format(t) == MemoryFormat::ChannelsLast;
  p.C = cl ? t.shape[1] : 0;
  return cl ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
}

}  // namespace

Tensor upsample_forward(const Tensor& x, const IntList& output_size, const std::vector<double>& scales,
                        int64_t mode, bool align_corners) {
  PYML_CHECK(output_size.size() == 1 || output_size.size() == 2, ValueError, "interpolate: only 1-D and 2-D "
             "resampling is supported, got output size ", ints_str(output_size));
  const char* op = upsample_name(mode, output_size.size());
  DType ct = conv_compute_dtype(x, op);
  ResampleParams p = resample_params(x.shape, output_size, scales, mode, align_corners, op);
  const MemoryFormat f = upsample_format(x, p);
  Tensor xc = to_dtype_format(x, ct, f, op), y = empty({p.planes, p.P * p.Q}, ct, x.device());
  if (!x.device().is_cpu()) upsample_cuda(p, ct, xc.data(), y.data(), x.device().index);
  else { PYML_VISION_DISPATCH(ct, upsample_cpu<T>(p, xc.ptr<T>(), y.ptr<T>())); }
  Shape out = {x.shape[0], x.shape[1]};
  out.insert(out.end(), output_size.begin(), output_size.end());
  return kernel_result(y, out, x.dtype, f, x);  // channels_last in, channels_last out
}

Tensor upsample_backward(const Tensor& dy, const IntList& input_size, const std::vector<double>& scales,
                         int64_t mode, bool align_corners) {
  PYML_CHECK(dy.dim() == 3 || dy.dim() == 4, ValueError, "interpolate: grad_output must be 3-D or 4-D, got ",
             dy.shape);
  size_t nd = dy.dim() - 2;
  const char* op = upsample_name(mode, nd);
  DType ct = conv_compute_dtype(dy, op);
  IntList out(dy.shape.begin() + 2, dy.shape.end());
  ResampleParams p = resample_params(input_size, out, scales, mode, align_corners, op);
  PYML_CHECK(input_size[0] == dy.shape[0] && input_size[1] == dy.shape[1], ValueError, op,
             ": grad_output ", dy.shape, " and input size ", input_size, " differ in the batch or channel dim");
  const MemoryFormat f = upsample_format(dy, p);
  Tensor g = to_dtype_format(dy, ct, f, op), dx = zeros({p.planes, p.H * p.W}, ct, dy.device());
  if (!dy.device().is_cpu()) upsample_backward_cuda(p, ct, g.data(), dx.data(), dy.device().index);
  else { PYML_VISION_DISPATCH(ct, upsample_backward_cpu<T>(p, g.ptr<T>(), dx.ptr<T>())); }
  return kernel_result(dx, input_size, dy.dtype, f, dy);
}

// ---------------------------------------------------------------- separable resampler
namespace {

// The upsample kernels do 2-D nearest (with torch's 2-D shortcuts for kept and doubled sizes) and 1-D/2-D
// linear; 1-D nearest follows torch's generic kernel, which has no shortcuts: the separable resampler.
bool upsample_covers(size_t nd, int64_t mode, bool antialias) {
  if (antialias || mode < 0 || mode > 2) return false;
  return nd == 2 || (nd == 1 && mode == 2);
}

// torch's kernel names, for messages
const char* resample_name(int64_t mode, size_t nd, bool antialias) {
  if (antialias && mode == 3) return "_upsample_bicubic2d_aa";
  if (antialias) return mode == 4 ? "_upsample_lanczos2d_aa" : "_upsample_bilinear2d_aa";
  if (mode == 3) return "upsample_bicubic2d";
  if (nd != 3) return "interpolate";
  return mode == 2 ? "upsample_trilinear3d" : (mode == 1 ? "_upsample_nearest_exact3d" : "upsample_nearest3d");
}

void check_resample_mode(size_t nd, int64_t mode, bool antialias, const Shape& in, const char* op) {
  PYML_CHECK(nd >= 1 && nd <= 3, ValueError, op, ": only 1-D, 2-D and 3-D resampling is supported, got ", nd,
             " output dims");
  PYML_CHECK(mode >= 0 && mode <= 4, ValueError, op, ": mode must be 0 (nearest), 1 (nearest-exact), 2 (linear), "
             "3 (cubic) or 4 (lanczos), got ", mode);
  PYML_CHECK(mode != 3 || nd == 2, ValueError, op, ": bicubic needs a 4-D input (N, C, H, W), got ", nd,
             "-D output size for input of shape ", in);
  PYML_CHECK(!antialias || (nd == 2 && mode >= 2), ValueError, op, ": antialias needs a 4-D input (N, C, H, W) and "
             "a linear, cubic or lanczos mode, got mode ", mode, " and input of shape ", in);
  PYML_CHECK(mode != 4 || antialias, ValueError, op, ": lanczos needs antialias");
  PYML_CHECK(in.size() == nd + 2, ValueError, op, ": expected a ", nd + 2, "-D input for a ", nd,
             "-D output size, got input of shape ", in);
}

// Geometry from the input shape (N, C, *in) and the spatial output size; dims right-aligned into (D, H, W)
ResampleNdParams resample_nd_params(const Shape& in, const IntList& out, const std::vector<double>& scales,
                                    int64_t mode, bool align_corners, bool antialias, const char* op) {
  const size_t nd = out.size();
  check_resample_mode(nd, mode, antialias, in, op);
  check_sizes(in, out, scales, op);
  ResampleNdParams p{};
  p.planes = in[0] * in[1];
  for (int d = 0; d < 3; d++) p.in[d] = p.out[d] = 1, p.user[d] = 0;
  for (size_t i = 0; i < nd; i++) {
    size_t d = 3 - nd + i;
    p.in[d] = in[2 + i], p.out[d] = out[i], p.user[d] = scales.empty() ? 0 : scales[i];
  }
  p.nd = (int)nd, p.mode = (int)mode, p.align_corners = align_corners, p.antialias = antialias;
  return p;
}

}  // namespace

Tensor resample_forward(const Tensor& x, const IntList& output_size, const std::vector<double>& scales,
                        int64_t mode, bool align_corners, bool antialias) {
  if (upsample_covers(output_size.size(), mode, antialias))
    return upsample_forward(x, output_size, scales, mode, align_corners);
  const char* op = resample_name(mode, output_size.size(), antialias);
  DType ct = conv_compute_dtype(x, op);
  ResampleNdParams p = resample_nd_params(x.shape, output_size, scales, mode, align_corners, antialias, op);
  Tensor xc = contiguous(to_dtype(x, ct)), y = empty({p.planes, p.out[0] * p.out[1] * p.out[2]}, ct, x.device());
  if (!x.device().is_cpu()) resample_cuda(p, ct, xc.data(), y.data(), x.device().index);
  else { PYML_VISION_DISPATCH(ct, resample_cpu<T>(p, xc.ptr<T>(), y.ptr<T>())); }
  Shape out = {x.shape[0], x.shape[1]};
  out.insert(out.end(), output_size.begin(), output_size.end());
  return to_format_of(finish(y, out, x.dtype), x);  // channels_last in, channels_last out
}

Tensor resample_backward(const Tensor& dy, const IntList& input_size, const std::vector<double>& scales,
                         int64_t mode, bool align_corners, bool antialias) {
  PYML_CHECK(dy.dim() >= 3 && dy.dim() <= 5, ValueError, "interpolate: grad_output must be 3-D, 4-D or 5-D, got ",
             dy.shape);
  IntList out(dy.shape.begin() + 2, dy.shape.end());
  if (upsample_covers(out.size(), mode, antialias))
    return upsample_backward(dy, input_size, scales, mode, align_corners);
  const char* op = resample_name(mode, out.size(), antialias);
  DType ct = conv_compute_dtype(dy, op);
  ResampleNdParams p = resample_nd_params(input_size, out, scales, mode, align_corners, antialias, op);
  PYML_CHECK(input_size[0] == dy.shape[0] && input_size[1] == dy.shape[1], ValueError, op,
             ": grad_output ", dy.shape, " and input size ", input_size, " differ in the batch or channel dim");
  Tensor g = contiguous(to_dtype(dy, ct)), dx = zeros({p.planes, p.in[0] * p.in[1] * p.in[2]}, ct, dy.device());
  if (!dy.device().is_cpu()) resample_backward_cuda(p, ct, g.data(), dx.data(), dy.device().index);
  else { PYML_VISION_DISPATCH(ct, resample_backward_cpu<T>(p, g.ptr<T>(), dx.ptr<T>())); }
  return to_format_of(finish(dx, input_size, dy.dtype), dy);
}

// ---------------------------------------------------------------- grid_sample
namespace {

GridSampleParams grid_params(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding_mode,
                             bool align_corners) {
  const char* op = "grid_sample";
  check_same_device(x, grid, op);
  PYML_CHECK(x.dim() == 4, ValueError, op, ": expected a 4-D input (N, C, H, W), got input of shape ", x.shape);
  PYML_CHECK(grid.dim() == 4 && grid.shape[3] == 2, ValueError, op,
             ": expected a 4-D grid (N, H_out, W_out, 2), got grid of shape ", grid.shape);
  PYML_CHECK(grid.shape[0] == x.shape[0], ValueError, op, ": grid and input must have the same batch size, got "
             "input ", x.shape, " and grid ", grid.shape);
  PYML_CHECK(x.shape[2] > 0 && x.shape[3] > 0, ValueError, op, ": expected input with non-empty spatial dims, "
             "got input of shape ", x.shape);
  PYML_CHECK(x.dtype == grid.dtype, TypeError, op, ": input and grid must have the same dtype, got ",
             dtype_name(x.dtype), " and ", dtype_name(grid.dtype));
  conv_compute_dtype(x, op);
  PYML_CHECK(mode >= 0 && mode <= 2, ValueError, op, ": mode must be 0 (bilinear), 1 (nearest) or 2 (bicubic), got ",
             mode);
  PYML_CHECK(padding_mode >= 0 && padding_mode <= 2, ValueError, op, ": padding_mode must be 0 (zeros), "
             "1 (border) or 2 (reflection), got ", padding_mode);
  GridSampleParams p{};
  p.N = x.shape[0], p.C = x.shape[1], p.H = x.shape[2], p.W = x.shape[3];
  p.P = grid.shape[1], p.Q = grid.shape[2];
  p.mode = (int)mode, p.padding = (int)padding_mode, p.align_corners = align_corners;
  return p;
}

}  // namespace

Tensor grid_sample_forward(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding_mode,
                           bool align_corners) {
  GridSampleParams p = grid_params(x, grid, mode, padding_mode, align_corners);
  DType ct = conv_compute_dtype(x, "grid_sample");
  Tensor xc = contiguous(to_dtype(x, ct)), gc = contiguous(to_dtype(grid, ct));
  Tensor y = empty({p.N, p.C, p.P, p.Q}, ct, x.device());
  if (!x.device().is_cpu()) grid_sample_cuda(p, ct, xc.data(), gc.data(), y.data(), x.device().index);
  else { PYML_VISION_DISPATCH(ct, grid_sample_cpu<T>(p, xc.ptr<T>(), gc.ptr<T>(), y.ptr<T>())); }
  return finish(y, y.shape, x.dtype);
}

std::tuple<OptTensor, OptTensor> grid_sample_backward(const Tensor& dy, const Tensor& x, const Tensor& grid,
                                                      int64_t mode, int64_t padding_mode, bool align_corners,
                                                      std::array<bool, 2> mask) {
  GridSampleParams p = grid_params(x, grid, mode, padding_mode, align_corners);
  const char* op = "grid_sample";
  check_same_device(x, dy, op);
  Shape expect = {p.N, p.C, p.P, p.Q};
  PYML_CHECK(dy.shape == expect, ValueError, op, ": grad_output must have the output's shape ", expect, ", got ",
             dy.shape);
  PYML_CHECK(dy.dtype == x.dtype, TypeError, op, ": grad_output must have the input's dtype ",
             dtype_name(x.dtype), ", got ", dtype_name(dy.dtype));
  DType ct = conv_compute_dtype(x, op);
  Tensor xc = contiguous(to_dtype(x, ct)), gc = contiguous(to_dtype(grid, ct)), g = contiguous(to_dtype(dy, ct));
  OptTensor dx, dgrid;
  Tensor tx = mask[0] ? zeros(x.shape, ct, x.device()) : Tensor();
  Tensor tg = mask[1] ? empty(grid.shape, ct, x.device()) : Tensor();
  if (!x.device().is_cpu())
    grid_sample_backward_cuda(p, ct, g.data(), xc.data(), gc.data(), mask[0] ? tx.data() : nullptr,
                              mask[1] ? tg.data() : nullptr, x.device().index);
  else {
    PYML_VISION_DISPATCH(ct, grid_sample_backward_cpu<T>(p, g.ptr<T>(), xc.ptr<T>(), gc.ptr<T>(),
                                                         mask[0] ? tx.ptr<T>() : nullptr,
                                                         mask[1] ? tg.ptr<T>() : nullptr));
  }
  if (mask[0]) dx = finish(tx, x.shape, x.dtype);
  if (mask[1]) dgrid = finish(tg, grid.shape, x.dtype);
  return {dx, dgrid};
}

}  // namespace pyml
