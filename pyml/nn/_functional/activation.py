"""nn.functional activations. relu, sigmoid, tanh, gelu, silu and softplus run on the engine's unary
kernels and softmax/log_softmax on its fused kernel; the rest are composites of pyml ops (autograd for
free). Branches that could overflow in the side `where` discards (exp of a large x) are computed on
clamped inputs so that their zero gradient stays zero instead of 0 * inf = nan. gumbel_softmax draws
its noise from pyml's default generator (so its samples differ from torch's for the same seed).
"""
import math
import warnings

import pyml
from ..._tensor import Tensor

__all__ = ["threshold", "threshold_", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu",
           "rrelu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid", "tanh",
           "hardsigmoid", "hardswish", "hardtanh", "hardtanh_", "softplus", "softsign", "tanhshrink", "glu",
           "logsigmoid", "hardshrink", "softshrink", "softmax", "log_softmax", "softmin", "gumbel_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _finish(x, out, inplace):
    """Return out, or write it into x for the inplace=True forms (recorded as a copy for autograd)."""
    if not inplace:
        return out
    return x.copy_(out)


def _src(x, inplace):
    """What an inplace=True composite computes from: a clone when autograd records, so the tensors its
    backward saved are not the ones the final copy overwrites."""
    if inplace and x.requires_grad and pyml.is_grad_enabled():
        return x.clone()
    return x


def _threshold(input, th, value, inplace):
    _check(input, "threshold")
    x = _src(input, inplace)
    out = pyml.where(x > th, x, pyml.full_like(x, value))
    return _finish(input, out, inplace)


def threshold(input, threshold, value, inplace=False):
    return _threshold(input, threshold, value, inplace)


def threshold_(input, threshold, value):
    return _threshold(input, threshold, value, True)


def relu(input, inplace=False):
    _check(input, "relu")
    return input.relu_() if inplace else pyml.relu(input)


def relu_(input):
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    _check(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    if not input.dtype.is_floating_point:  # integer input stays integer, like torch
        min_val, max_val = int(min_val), int(max_val)
    x = _src(input, inplace)
    return _finish(input, pyml.clamp(x, min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(_check(input, "relu6"), 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check(input, "leaky_relu")
    x = _src(input, inplace)
    return _finish(input, pyml.where(x > 0, x, x * negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    _check(input, "prelu")
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: argument 'weight' must be Tensor, not {type(weight).__name__}")
    n = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if n != 1 and n != channels:
        raise ValueError(f"prelu: the number of weights ({n}) must be 1 or equal the number of input channels "
                         f"({channels}); input {tuple(input.shape)}, weight {tuple(weight.shape)}")
    w = weight.reshape(-1)
    if input.ndim >= 2 and n != 1:
        w = w.reshape([n] + [1] * (input.ndim - 2))  # (C, 1, ..., 1) broadcasts along dim 1
    elif n == 1:
        w = w.reshape([1] * max(input.ndim, 1)) if input.ndim else w.reshape(())
    return pyml.where(input > 0, input, input * w)


def _rrelu(input, lower, upper, training, inplace, generator=None):
    """rrelu with the generator the slopes are drawn from (torch.rrelu takes one; F.rrelu does not)."""
    _check(input, "rrelu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = pyml.empty_like(input).uniform_(lower, upper, generator=generator)
    x = _src(input, inplace)
    return _finish(input, pyml.where(x >= 0, x, x * slope), inplace)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    return _rrelu(input, lower, upper, training, inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def _neg_expm1(x, scale=1.0):
    # expm1 on the non-positive part only: the discarded positive side never overflows
    return pyml.expm1(pyml.clamp(x, max=0.0) * scale)


def elu(input, alpha=1.0, inplace=False):
    _check(input, "elu")
    x = _src(input, inplace)
    return _finish(input, pyml.where(x > 0, x, alpha * _neg_expm1(x)), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    _check(input, "selu")
    x = _src(input, inplace)
    out = _SELU_SCALE * pyml.where(x > 0, x, _SELU_ALPHA * _neg_expm1(x))
    return _finish(input, out, inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    _check(input, "celu")
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    x = _src(input, inplace)
    return _finish(input, pyml.where(x > 0, x, alpha * _neg_expm1(x, 1.0 / alpha)), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    _check(input, "gelu")
    return pyml.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    _check(input, "silu")
    x = _src(input, inplace)
    return _finish(input, pyml.silu(x), inplace)


def mish(input, inplace=False):
    _check(input, "mish")
    x = _src(input, inplace)
    return _finish(input, x * pyml.tanh(pyml.softplus(x)), inplace)


def sigmoid(input):
    return pyml.sigmoid(_check(input, "sigmoid"))


def tanh(input):
    return pyml.tanh(_check(input, "tanh"))


def hardsigmoid(input, inplace=False):
    _check(input, "hardsigmoid")
    x = _src(input, inplace)
    return _finish(input, pyml.clamp(x + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    _check(input, "hardswish")
    x = _src(input, inplace)
    return _finish(input, x * (pyml.clamp(x + 3.0, 0.0, 6.0) / 6.0), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    return pyml.softplus(_check(input, "softplus"), beta, threshold)


def softsign(input):
    _check(input, "softsign")
    return input / (pyml.abs(input) + 1)


def tanhshrink(input):
    _check(input, "tanhshrink")
    return input - pyml.tanh(input)


def glu(input, dim=-1):
    _check(input, "glu")
    if input.ndim == 0:
        raise ValueError("glu: does not support scalars because halving size must be even")
    d = dim % input.ndim if -input.ndim <= dim < input.ndim else None
    if d is None:
        raise IndexError(f"glu: dim must be in the range [{-input.ndim}, {input.ndim - 1}], got {dim}")
    if input.shape[d] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {d} is size {input.shape[d]}; "
                         f"input {tuple(input.shape)}")
    h = input.shape[d] // 2
    return input.narrow(d, 0, h) * pyml.sigmoid(input.narrow(d, h, h))


def logsigmoid(input):
    _check(input, "logsigmoid")
    return -pyml.softplus(-input)


def hardshrink(input, lambd=0.5):
    _check(input, "hardshrink")
    return pyml.where(pyml.abs(input) > lambd, input, pyml.zeros_like(input))


def softshrink(input, lambd=0.5):
    _check(input, "softshrink")
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}.")
    zero = pyml.zeros_like(input)
    return pyml.where(input > lambd, input - lambd, pyml.where(input < -lambd, input + lambd, zero))


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    _check(input, "softmax")
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return pyml.softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    _check(input, "softmin")
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return pyml.softmax(-input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    _check(input, "log_softmax")
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return pyml.log_softmax(input, dim, dtype=dtype)



def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1); hard=True returns the one-hot argmax of that
    sample with the soft sample's gradient (straight-through)."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"gumbel_softmax: argument 'logits' must be Tensor, not {type(logits).__name__}")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -pyml.log(pyml.empty_like(logits).exponential_())  # -log(Exp(1)) ~ Gumbel(0, 1)
    y_soft = pyml.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = pyml.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ------------------------------------------------------------------------------------------ dropout
def _check_p(p, op):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p, shape):
    """A {0, 1/(1-p)} mask of `shape` (broadcastable to input), drawn from pyml's default generator."""
    if p == 1.0:
        return pyml.zeros(shape, dtype=input.dtype, device=input.device)
    m = pyml.empty(shape, dtype=input.dtype, device=input.device).bernoulli_(1.0 - p)
    return m / (1.0 - p)


def dropout(input, p=0.5, training=True, inplace=False):
    _check(input, "dropout")
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    x = _src(input, inplace)
    return _finish(input, x * _keep_mask(x, p, tuple(x.shape)), inplace)


def _feature_shape(input, op, batched_ndim):
    """Mask shape for channel-wise dropout: (N, C, 1, ...) or (C, 1, ...) for unbatched input."""
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(f"{op}: expected {batched_ndim - 1}D or {batched_ndim}D input, but received a "
                         f"{input.ndim}D input of shape {tuple(input.shape)}")
    lead = 2 if input.ndim == batched_ndim else 1
    return tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)


def _feature_dropout(input, p, training, inplace, op, batched_ndim):
    _check(input, op)
    _check_p(p, op)
    shape = _feature_shape(input, op, batched_ndim)
    if not training or p == 0.0:
        return input
    x = _src(input, inplace)
    return _finish(input, x * _keep_mask(x, p, shape), inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, "dropout1d", 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    if isinstance(input, Tensor) and input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
        return _feature_dropout(input, p, training, inplace, "dropout2d", 3)
    return _feature_dropout(input, p, training, inplace, "dropout2d", 4)


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, "dropout3d", 5)


_SELU_NEG = 1.7580993408473766  # -SELU's negative saturation value: alpha * scale


def _alpha(input, p, training, inplace, shape, op):
    _check(input, op)
    _check_p(p, op)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        x = _src(input, inplace)
        return _finish(input, x * 0.0, inplace)
    keep = pyml.empty(shape, dtype=input.dtype, device=input.device).bernoulli_(1.0 - p)
    a = 1.0 / math.sqrt((_SELU_NEG ** 2 * p + 1) * (1 - p))
    b = (keep - 1.0) * (_SELU_NEG * a) + _SELU_NEG * a * p   # dropped units go to a*(-alpha') + b
    x = _src(input, inplace)
    return _finish(input, x * (keep * a) + b, inplace)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    return _alpha(input, p, training, inplace, tuple(input.shape) if isinstance(input, Tensor) else (),
                  "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check(input, "feature_alpha_dropout")
    if input.ndim < 2:
        raise ValueError(f"feature_alpha_dropout: expected an input with at least 2 dims (N, C, ...), got "
                         f"shape {tuple(input.shape)}")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha(input, p, training, inplace, shape, "feature_alpha_dropout")


__all__ += ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]
