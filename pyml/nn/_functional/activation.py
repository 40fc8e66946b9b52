"""nn.functional activations. relu, sigmoid, tanh, gelu, silu and softplus run on the engine's unary
kernels and softmax/log_softmax on its fused kernel; the rest are composites of pyml ops (autograd for
free). Branches that could overflow in the side `where` discards (exp of a large x) are computed on
clamped inputs so that their zero gradient stays zero instead of 0 * inf = nan.
"""
import warnings

import pyml
from ..._tensor import Tensor

__all__ = ["threshold", "threshold_", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu",
           "rrelu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid", "tanh",
           "hardsigmoid", "hardswish", "hardtanh", "hardtanh_", "softplus", "softsign", "tanhshrink", "glu",
           "logsigmoid", "hardshrink", "softshrink", "softmax", "log_softmax", "softmin"]

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


def _threshold(input, th, value, inplace):
    _check(input, "threshold")
    out = pyml.where(input > th, input, pyml.full_like(input, value))
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
    return _finish(input, pyml.clamp(input, min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    return hardtanh(_check(input, "relu6"), 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _check(input, "leaky_relu")
    return _finish(input, pyml.where(input > 0, input, input * negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    _check(input, "prelu")
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


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    _check(input, "rrelu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = pyml.empty_like(input).uniform_(lower, upper)
    return _finish(input, pyml.where(input >= 0, input, input * slope), inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def _neg_expm1(x, scale=1.0):
    # expm1 on the non-positive part only: the discarded positive side never overflows
    return pyml.expm1(pyml.clamp(x, max=0.0) * scale)


def elu(input, alpha=1.0, inplace=False):
    _check(input, "elu")
    return _finish(input, pyml.where(input > 0, input, alpha * _neg_expm1(input)), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    _check(input, "selu")
    out = _SELU_SCALE * pyml.where(input > 0, input, _SELU_ALPHA * _neg_expm1(input))
    return _finish(input, out, inplace)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    _check(input, "celu")
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    return _finish(input, pyml.where(input > 0, input, alpha * _neg_expm1(input, 1.0 / alpha)), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    _check(input, "gelu")
    return pyml.gelu(input, approximate=approximate)


def silu(input, inplace=False):
    _check(input, "silu")
    return _finish(input, pyml.silu(input), inplace)


def mish(input, inplace=False):
    _check(input, "mish")
    return _finish(input, input * pyml.tanh(pyml.softplus(input)), inplace)


def sigmoid(input):
    return pyml.sigmoid(_check(input, "sigmoid"))


def tanh(input):
    return pyml.tanh(_check(input, "tanh"))


def hardsigmoid(input, inplace=False):
    _check(input, "hardsigmoid")
    return _finish(input, pyml.clamp(input + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input, inplace=False):
    _check(input, "hardswish")
    return _finish(input, input * (pyml.clamp(input + 3.0, 0.0, 6.0) / 6.0), inplace)


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
    a, b = pyml.chunk(input, 2, d)
    return a * pyml.sigmoid(b)


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

