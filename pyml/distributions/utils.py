"""Helpers shared by the distributions: broadcasting parameters, probs <-> logits, lazily computed
attributes, dtype limits (pyml has no finfo), the sum over an event's rightmost dims, and erfinv.

erfinv (Normal.icdf) is a composite: Winitzki's closed-form guess (relative error ~2e-3) refined by
three Halley steps on erf, which triples the correct digits each step (float64 accuracy), under
no_grad; its gradient sqrt(pi)/2 * exp(x^2) comes from a small autograd.Function.
"""
import math
import numbers

from .. import _dtype as D
from .._tensor import Tensor, Size
from ..autograd import Function, enable_grad

# (eps, tiny, max) of each floating dtype: what torch.finfo gives
_FINFO = {D.float16: (2.0 ** -10, 2.0 ** -14, 65504.0), D.bfloat16: (2.0 ** -7, 2.0 ** -126, 3.3895e38),
          D.float32: (2.0 ** -23, 2.0 ** -126, 3.4028234663852886e38),
          D.float64: (2.0 ** -52, 2.0 ** -1022, 1.7976931348623157e308)}


def eps(dtype):
    return _FINFO[dtype][0]


def tiny(dtype):
    return _FINFO[dtype][1]


def max_value(dtype):
    return _FINFO[dtype][2]


def broadcast_all(*values):
    """Tensors and numbers -> tensors broadcast to one shape. Numbers take the first tensor's dtype and
    device, or the default dtype when every value is a number."""
    from .. import tensor, get_default_dtype
    like = next((v for v in values if isinstance(v, Tensor)), None)
    for v in values:
        if not isinstance(v, (Tensor, numbers.Number)) or isinstance(v, bool):
            raise TypeError(f"broadcast_all: input arguments must be Tensors or numbers, got {type(v).__name__}")
    if like is None:
        return tuple(tensor(float(v), dtype=get_default_dtype()) for v in values)
    dtype = like.dtype if like.dtype.is_floating_point else get_default_dtype()
    values = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype, device=like.device) for v in values]
    return broadcast_tensors(*values)


def broadcast_tensors(*tensors):
    """Tensors expanded to their common shape (expand keeps the autograd history of each one)."""
    from .. import broadcast_shapes
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if tuple(t.shape) == tuple(shape) else t.expand(shape) for t in tensors)


def as_float_tensor(v, name, op):
    """A parameter given as a number or a tensor, as a floating tensor (ints become the default dtype)."""
    from .. import tensor, get_default_dtype
    if isinstance(v, Tensor):
        return v if v.dtype.is_floating_point else v.to(get_default_dtype())
    if isinstance(v, numbers.Number) and not isinstance(v, bool):
        return tensor(float(v), dtype=get_default_dtype())
    raise TypeError(f"{op}: {name} must be a Tensor or a number, got {type(v).__name__}")


class lazy_property:
    """Computed on first access, then stored on the instance (it shadows this descriptor afterwards).
    Computed with grad on: a first access inside sample()'s no_grad must not cache a value without history."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def clamp_probs(probs):
    """Probabilities pulled into [eps, 1 - eps] so that their logs stay finite."""
    e = eps(probs.dtype)
    return probs.clamp(min=e, max=1 - e)


def logits_to_probs(logits, is_binary=False):
    from .. import sigmoid, softmax
    return sigmoid(logits) if is_binary else softmax(logits, -1)


def probs_to_logits(probs, is_binary=False):
    """Log-odds (binary) or log-probabilities (categorical) of clamped probabilities."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def sum_rightmost(value, dim):
    """Sum over the `dim` rightmost dims (an event's log-density is the sum of its independent parts)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def extended_shape(sample_shape, batch_shape, event_shape):
    return Size(tuple(sample_shape) + tuple(batch_shape) + tuple(event_shape))


# ---------------------------------------------------------------------------------------- erfinv
_WINITZKI_A = 0.147


def _erfinv_guess(a):
    """Winitzki's approximation of erfinv(a) for 0 <= a < 1."""
    ln = (1 - a * a).log()
    b = 2 / (math.pi * _WINITZKI_A) + ln / 2
    return ((b * b - ln / _WINITZKI_A).sqrt() - b).sqrt()


def _erfinv_value(y):
    """Solved on a = |y| (the sign comes back at the end); above 0.5 the residual erf(x) - a is written as
    (1 - a) - erfc(x), which keeps its digits where erf(x) rounds to 1 (1 - a is exact there)."""
    from .. import erf, erfc, where
    work = y if y.dtype in (D.float32, D.float64) else y.float()
    a = work.abs()
    x = _erfinv_guess(a)
    tail = a > 0.5
    for _ in range(3):  # Halley on f(x) = erf(x) - a: x -= d / (1 + x d), d = f / f'
        f = where(tail, (1 - a) - erfc(x), erf(x) - a)
        d = f * (math.sqrt(math.pi) / 2) * (x * x).exp()
        x = x - d / (1 + x * d)
    x = where(a == 1, math.inf, x) * work.sign()
    return x.to(y.dtype)


class _Erfinv(Function):
    @staticmethod
    def forward(ctx, y):
        x = _erfinv_value(y)
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, dout):
        x, = ctx.saved_tensors
        return dout * (math.sqrt(math.pi) / 2) * (x * x).exp()


def erfinv(y):
    """The inverse of erf on (-1, 1); +-inf at +-1 and NaN outside."""
    if not isinstance(y, Tensor) or not y.dtype.is_floating_point:
        raise TypeError(f"erfinv: expected a floating point Tensor, got {getattr(y, 'dtype', type(y).__name__)}")
    return _Erfinv.apply(y)
