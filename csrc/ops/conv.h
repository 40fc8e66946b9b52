// Convolution, pooling and vision ops (conv1d/2d/3d, conv_transpose1d/2d/3d, max/avg/adaptive
// pooling, max_unpool, unfold/fold, interpolate, grid_sample): host entries and their CPU kernels.
// Layouts are NCHW. 1-D ops run as 2-D ones with H = 1 (a free unsqueeze), so every kernel is
// written once; the N-d entries below route 3 spatial dims to the 3-D kernels of ops/conv3d.h.
// Host entries (csrc/ops/{conv,pool,vision}.cpp) validate ranks, channels, sizes and dtypes, accept
// unbatched inputs like torch, cast float16/bfloat16 to float32 and back, and fill the POD params
// below; kernels (csrc/cpu/{conv,pool,vision}.cpp) trust them.
#pragma once
#include <array>
#include <optional>
#include <tuple>
#include "ops/ops.h"

namespace pyml {

using IntList = std::vector<int64_t>;
using OptTensor = std::optional<Tensor>;

// ------------------------------------------------------------------------------ convolution
// One grouped 2-D convolution y = x (*) w: x (N, C, H, W) with strides xs (elements),
// w (K, C/G, R, S) contiguous, y (N, K, P, Q) contiguous. ph/pw are the top/left paddings
// (bottom/right ones only shape P and Q, which the host computes).
struct ConvParams {
  int64_t N, C, H, W, K, R, S, P, Q, G;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t xs[4];  // strides of x (elements); dx/dy are always contiguous
};

// stride/padding/dilation have one entry per spatial dim (1, 2 or 3); pad_hi holds the
// bottom/right paddings (equal to padding unless 'same' needs an asymmetric pair; negative
// values crop, which the adjoint of conv_transpose with output_padding uses).
Tensor conv_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                    const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups);
// The conv's adjoints: dx of shape input_shape from dy and w; dw of shape weight_shape from dy and x.
// With conv_forward they close under differentiation (each one's derivatives are the other two).
Tensor conv_backward_input(const Tensor& dy, const Tensor& w, const IntList& input_shape, const IntList& stride,
                           const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups);
Tensor conv_backward_weight(const Tensor& dy, const Tensor& x, const IntList& weight_shape, const IntList& stride,
                            const IntList& padding, const IntList& pad_hi, const IntList& dilation, int64_t groups);
// weight (Cin, Cout/groups, kH, kW); equals conv_backward_input of x with pad_hi = padding - output_padding
Tensor conv_transpose_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const IntList& stride,
                              const IntList& padding, const IntList& output_padding, const IntList& dilation,
                              int64_t groups);
// unfold: x (N, C, H, W) -> (N, C*R*S, L); fold: cols (N, C*R*S, L) -> (N, C, H, W), summing overlaps.
Tensor im2col(const Tensor& x, const IntList& kernel, const IntList& dilation, const IntList& padding,
              const IntList& stride);
Tensor col2im(const Tensor& cols, const IntList& output_size, const IntList& kernel, const IntList& dilation,
              const IntList& padding, const IntList& stride);

// Kernels. T is float or double. y/dx/dw contiguous. b may be null.
template <typename T> void conv_forward_cpu(const ConvParams& p, const T* x, const T* w, const T* b, T* y);
// dx (N, C, H, W) overwritten (need not be initialised); dy contiguous (N, K, P, Q)
template <typename T> void conv_backward_input_cpu(const ConvParams& p, const T* dy, const T* w, T* dx);
// dw (K, C/G, R, S) overwritten; x through p.xs
template <typename T> void conv_backward_weight_cpu(const ConvParams& p, const T* dy, const T* x, T* dw);

// unfold: cols (N, C*R*S, P*Q) contiguous; fold: dx (N, C, H, W) contiguous and zeroed, += cols
template <typename T> void unfold_cpu(const ConvParams& p, const T* x, T* cols);
template <typename T> void fold_cpu(const ConvParams& p, const T* cols, T* dx);

// ------------------------------------------------------------------------------ pooling
// Window geometry of a pooling op on a plane: out rows P = (H + 2*ph - dh*(R-1) - 1) / sh + 1 (ceil
// mode may add one). planes = N*C; x through strides xs (plane stride, h, w).
struct PoolParams {
  int64_t planes, C, H, W, P, Q, R, S, sh, sw, ph, pw, dh, dw;
  int64_t xs_n, xs_c, xs_h, xs_w;
  bool count_include_pad;
  int64_t divisor;  // 0: none
  // CUDA 2-D pooling of a channels_last input: y, idx, dy and dx are (N, P, Q, C) / (N, H, W, C)
  // in memory instead of (planes, P*Q) / (planes, H*W), so no layout copy follows the kernel
  bool cl = false;
};

// (y, indices): indices (int64) are flat h*W + w positions in each input plane, like torch. Without
// with_indices (an input that needs no gradient) none are computed and the second tensor is empty.
// window_codes (for autograd, which only hands them back to max_pool_backward_windows): uint8
// window codes (r*S + s in the unclipped window) where the CPU float32 kernel applies, else indices.
std::tuple<Tensor, Tensor> max_pool_forward(const Tensor& x, const IntList& kernel, const IntList& stride,
                                            const IntList& padding, const IntList& dilation, bool ceil_mode,
                                            bool with_indices = true, bool window_codes = false);
Tensor avg_pool_forward(const Tensor& x, const IntList& kernel, const IntList& stride, const IntList& padding,
                        bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override);
Tensor avg_pool_backward(const Tensor& dy, const Tensor& x, const IntList& kernel, const IntList& stride,
                         const IntList& padding, bool ceil_mode, bool count_include_pad,
                         std::optional<int64_t> divisor_override);
Tensor adaptive_avg_pool_forward(const Tensor& x, const IntList& output_size);
Tensor adaptive_avg_pool_backward(const Tensor& dy, const Tensor& x, int64_t ndim);
std::tuple<Tensor, Tensor> adaptive_max_pool_forward(const Tensor& x, const IntList& output_size);
// dx (shape of x) with dx.flat[plane][indices] += dy: the backward of every max pooling
Tensor max_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& indices, int64_t ndim, const char* op);
// The same for max_pool1d/2d/3d's own indices, with the forward's geometry: on CUDA a gather over the
// windows (deterministic, no atomics); on the CPU max_pool_backward.
Tensor max_pool_backward_windows(const Tensor& dy, const Tensor& x, const Tensor& indices, const IntList& kernel,
                                 const IntList& stride, const IntList& padding, const IntList& dilation,
                                 bool ceil_mode);
// y (N, C, *output_size) zero, y.flat[plane][indices] = x; backward gathers dy at indices
Tensor max_unpool_forward(const Tensor& x, const Tensor& indices, const IntList& output_size);
Tensor max_unpool_backward(const Tensor& dy, const Tensor& indices, int64_t ndim);

template <typename T> void max_pool_cpu(const PoolParams& p, const T* x, T* y, int64_t* idx);
// Window codes (see max_pool_forward): false when the fast kernel does not take p (the caller
// then computes indices); the backward returns the flat position of the first bad code or -1.
bool max_pool_codes_cpu(const PoolParams& p, const float* x, float* y, uint8_t* codes);
int64_t max_pool_grad_codes_cpu(const PoolParams& p, const float* dy, const uint8_t* codes, float* dx);
template <typename T> void avg_pool_cpu(const PoolParams& p, const T* x, T* y);
template <typename T> void avg_pool_backward_cpu(const PoolParams& p, const T* dy, T* dx);
template <typename T> void adaptive_avg_pool_cpu(const PoolParams& p, const T* x, T* y);
template <typename T> void adaptive_avg_pool_backward_cpu(const PoolParams& p, const T* dy, T* dx);
template <typename T> void adaptive_max_pool_cpu(const PoolParams& p, const T* x, T* y, int64_t* idx);
// dx (planes, in_n) += dy (planes, out_n) scattered at idx (planes, out_n); all contiguous
template <typename T> void index_scatter_add_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* dy,
                                                 const int64_t* idx, T* dx);
// dst (planes, in_n) at idx = src (planes, out_n): max_unpool (a later duplicate index wins)
template <typename T> void index_scatter_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* src,
                                             const int64_t* idx, T* dst);
// y (planes, out_n) = x (planes, in_n) gathered at idx (planes, out_n)
template <typename T> void index_gather_cpu(int64_t planes, int64_t in_n, int64_t out_n, const T* x,
                                            const int64_t* idx, T* y);

// ------------------------------------------------------------------------------ vision
// Resampling of planes (N*C, H, W) -> (N*C, P, Q). Source coordinate of output index o along
// a dim: linear modes use scale*(o + 0.5) - 0.5 (or scale*o with align_corners), nearest uses
// floor(o*scale) (nearest-exact: floor((o + 0.5)*scale)).
struct ResampleParams {
  int64_t planes, H, W, P, Q;
  double user_sh, user_sw;  // scale factors the user gave (0: none), as torch passes them on
  bool align_corners;
  int mode;  // 0 nearest, 1 nearest-exact, 2 linear
  // CUDA 2-D upsampling of a channels_last input: C > 0 and x, y, dy, dx are (N, H, W, C) in memory
  // (planes = N*C) instead of (planes, H, W)
  int64_t C = 0;
};
// scales: optional per-dim scale factors given by the user (torch uses 1/scale when given)
Tensor upsample_forward(const Tensor& x, const IntList& output_size, const std::vector<double>& scales,
                        int64_t mode, bool align_corners);
Tensor upsample_backward(const Tensor& dy, const IntList& input_size, const std::vector<double>& scales,
                         int64_t mode, bool align_corners);
template <typename T> void upsample_cpu(const ResampleParams& p, const T* x, T* y);
template <typename T> void upsample_backward_cpu(const ResampleParams& p, const T* dy, T* dx);

// grid_sample: x (N, C, H, W), grid (N, P, Q, 2) holding (x, y) in [-1, 1] -> y (N, C, P, Q).
struct GridSampleParams {
  int64_t N, C, H, W, P, Q;
  int mode;     // 0 bilinear, 1 nearest, 2 bicubic
  int padding;  // 0 zeros, 1 border, 2 reflection
  bool align_corners;
};
Tensor grid_sample_forward(const Tensor& x, const Tensor& grid, int64_t mode, int64_t padding_mode,
                           bool align_corners);
std::tuple<OptTensor, OptTensor> grid_sample_backward(const Tensor& dy, const Tensor& x, const Tensor& grid,
                                                      int64_t mode, int64_t padding_mode, bool align_corners,
                                                      std::array<bool, 2> mask);
template <typename T> void grid_sample_cpu(const GridSampleParams& p, const T* x, const T* grid, T* y);
// dx zero-filled by the caller (may be null), dgrid overwritten (may be null)
template <typename T> void grid_sample_backward_cpu(const GridSampleParams& p, const T* dy, const T* x,
                                                    const T* grid, T* dx, T* dgrid);

// Shared host helpers (ops/conv.cpp)
// float32/float64 stay; float16/bfloat16 compute in float32; anything else raises TypeError
DType conv_compute_dtype(const Tensor& t, const char* op);
std::string ints_str(const IntList& v);  // "(1, 2)"

}  // namespace pyml
