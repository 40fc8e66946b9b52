"""Folding an eval-mode BatchNorm into the conv or linear layer before it (torch.nn.utils.fusion).

BN(y) = (y - mean) / sqrt(var + eps) * gamma + beta, per channel c, so with s = gamma / sqrt(var + eps):
W'[c] = W[c] * s[c] (c is dim 0 of a conv weight (K, C/groups, R, S), dim 1 of a transposed conv weight
(C, K/groups, R, S), dim 0 of a linear weight (out, in)) and b' = (b - mean) * s + beta.
The fused tensors keep the layer's dtypes; the *_eval functions return a new module (deep copy).
"""
import copy

import pyml
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _check_eval(op, layer, bn):
    if layer.training or bn.training:
        raise ValueError(f"{op}: both modules must be in eval mode (fusion only for eval), got "
                         f"{type(layer).__name__}.training={layer.training}, "
                         f"{type(bn).__name__}.training={bn.training}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{op}: bn.running_mean and bn.running_var must not be None "
                         "(a BatchNorm with track_running_stats=True), got None")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A new conv module computing bn(conv(x)) of the eval-mode pair."""
    _check_eval("fuse_conv_bn_eval", conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(fused weight, fused bias) as Parameters; transpose=True for ConvTranspose weights."""
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    if conv_b is None:
        conv_b = pyml.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = pyml.ones_like(bn_rm)
    if bn_b is None:
        bn_b = pyml.zeros_like(bn_rm)
    rsqrt = pyml.rsqrt(bn_rv + bn_eps)
    extra = [1] * (conv_w.ndim - 2)
    shape = [1, -1] + extra if transpose else [-1, 1] + extra  # the output-channel dim of the weight
    fused_w = (conv_w * (bn_w * rsqrt).reshape(shape)).to(dtype=w_dtype)
    fused_b = ((conv_b - bn_rm) * rsqrt * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w, conv_w.requires_grad), Parameter(fused_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A new Linear computing bn(linear(x)) of the eval-mode pair (bn over the output features)."""
    _check_eval("fuse_linear_bn_eval", linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise ValueError(f"fuse_linear_bn_eval: linear.out_features must equal bn.num_features, or "
                         f"bn.num_features must be 1, got linear.out_features={linear.out_features} and "
                         f"bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(fused weight, fused bias) as Parameters."""
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    if linear_b is None:
        linear_b = pyml.zeros_like(bn_rm)
    scale = bn_w * pyml.rsqrt(bn_rv + bn_eps)  # (out,)
    fused_w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
    fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
