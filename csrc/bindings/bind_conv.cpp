// Convolution, pooling, unfold/fold, upsampling and grid_sample (csrc/ops/{conv,pool,vision}.cpp).
// Python-side argument handling (ints to tuples, 'same', interpolate's size logic) and autograd
// live in pyml/nn/_functional/{conv,pooling,vision}.py.
#include "bindings/bind.h"
#include "ops/conv.h"
#include "ops/resample.h"
#include "cuda/conv2d.h"

namespace pyml {
void bind_conv(py::module_& m) {
  using py::arg;
  m.def("_set_conv_allow_tf32", &set_conv_allow_tf32);  // pyml.backends.cudnn.allow_tf32
  m.def("_get_conv_allow_tf32", &conv_allow_tf32);
  m.def("conv_forward", &conv_forward, arg("x"), arg("w"), arg("b"), arg("stride"), arg("padding"), arg("pad_hi"),
        arg("dilation"), arg("groups"));
  m.def("conv_backward_input", &conv_backward_input, arg("dy"), arg("w"), arg("input_shape"), arg("stride"),
        arg("padding"), arg("pad_hi"), arg("dilation"), arg("groups"));
  m.def("conv_backward_weight", &conv_backward_weight, arg("dy"), arg("x"), arg("weight_shape"), arg("stride"),
        arg("padding"), arg("pad_hi"), arg("dilation"), arg("groups"));
  m.def("conv_transpose_forward", &conv_transpose_forward, arg("x"), arg("w"), arg("b"), arg("stride"),
        arg("padding"), arg("output_padding"), arg("dilation"), arg("groups"));
  m.def("im2col", &im2col, arg("x"), arg("kernel_size"), arg("dilation"), arg("padding"), arg("stride"));
  m.def("col2im", &col2im, arg("cols"), arg("output_size"), arg("kernel_size"), arg("dilation"), arg("padding"),
        arg("stride"));

  m.def("max_pool_forward", &max_pool_forward, arg("x"), arg("kernel_size"), arg("stride"), arg("padding"),
        arg("dilation"), arg("ceil_mode"), arg("with_indices") = true, arg("window_codes") = false);
  m.def("max_pool_backward", [](const Tensor& dy, const Tensor& x, const Tensor& idx, int64_t nd,
                                const std::string& op) { return max_pool_backward(dy, x, idx, nd, op.c_str()); },
        arg("dy"), arg("x"), arg("indices"), arg("ndim"), arg("op"));
  m.def("max_pool_backward_windows", &max_pool_backward_windows, arg("dy"), arg("x"), arg("indices"),
        arg("kernel_size"), arg("stride"), arg("padding"), arg("dilation"), arg("ceil_mode"));
  m.def("avg_pool_forward", &avg_pool_forward, arg("x"), arg("kernel_size"), arg("stride"), arg("padding"),
        arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"));
  m.def("avg_pool_backward", &avg_pool_backward, arg("dy"), arg("x"), arg("kernel_size"), arg("stride"),
        arg("padding"), arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"));
  m.def("adaptive_avg_pool_forward", &adaptive_avg_pool_forward, arg("x"), arg("output_size"));
  m.def("adaptive_avg_pool_backward", &adaptive_avg_pool_backward, arg("dy"), arg("x"), arg("ndim"));
  m.def("adaptive_max_pool_forward", &adaptive_max_pool_forward, arg("x"), arg("output_size"));
  m.def("max_unpool_forward", &max_unpool_forward, arg("x"), arg("indices"), arg("output_size"));
  m.def("max_unpool_backward", &max_unpool_backward, arg("dy"), arg("indices"), arg("ndim"));

  m.def("resample_forward", &resample_forward, arg("x"), arg("output_size"), arg("scales"), arg("mode"),
        arg("align_corners"), arg("antialias"));
  m.def("resample_backward", &resample_backward, arg("dy"), arg("input_size"), arg("scales"), arg("mode"),
        arg("align_corners"), arg("antialias"));
  m.def("grid_sample_forward", &grid_sample_forward, arg("x"), arg("grid"), arg("mode"), arg("padding_mode"),
        arg("align_corners"));
  m.def("grid_sample_backward", &grid_sample_backward, arg("dy"), arg("x"), arg("grid"), arg("mode"),
        arg("padding_mode"), arg("align_corners"), arg("mask"));
}
}  // namespace pyml
